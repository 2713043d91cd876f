"""Governance actions of the vendor adapters: one module per vendor, next to its adapter.

Each module exposes `KINDS` (the `GovernanceKind` values the vendor can carry out) and
`govern(adapter, target) -> str`; the adapter's `governance` and `govern` delegate to them, so
the polling code of an adapter and its write actions stay in files of a readable size.
`common` holds what they share: the kind names, and a `send` that turns a vendor's refusal into
plain words (404: `TargetNotFound`; 400/403/409: a `ConnectorError` that fails the action;
429/5xx keep their retryable errors).
"""
