"""Fixtures of the governance tests: the connector tests' fake vendors (a CA the client trusts,
one HTTPS server per vendor, an app instance of tenant A pointed at it)."""

from tests.connectors.conftest import (  # noqa: F401  (fixtures, registered by import)
    github,
    github_app,
    google,
    google_app,
    o365,
    o365_app,
    okta,
    okta_app,
    tls_files,
    trust_fakes,
)
