"""How accounts of different apps are joined to one person.

A person (CloudUser) is keyed by `identity_key`: the lower-cased email, or failing that the
UPN / user name when it looks like an address. Accounts without any address (service accounts,
app-only identities) are not joined to a person.
"""

from __future__ import annotations


def identity_key(*candidates: str | None) -> str:
    """The first candidate that looks like user@domain, lower-cased and trimmed; else ""."""
    for value in candidates:
        value = (value or "").strip().lower()
        local, at, domain = value.partition("@")
        if at and local and "." in domain and " " not in value:
            return value
    return ""
