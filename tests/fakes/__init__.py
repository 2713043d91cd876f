"""Fake SaaS vendors for connector tests: real HTTPS servers on 127.0.0.1, in a thread.

Each fake serves the vendor's documented JSON shapes and pagination, and can be told to answer
429 with Retry-After, 5xx, expired or refused credentials, a disabled audit log, or pages that
overlap. Their certificate is made at test time by a CA the connector client trusts through
the CONNECTOR_CA_BUNDLE setting, so the TLS path under test is the real one.
"""
