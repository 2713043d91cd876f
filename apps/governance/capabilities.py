"""Which governance actions an app can carry out: asked by the buttons, the forms and the task.

The adapter of the app's vendor declares its `governance` kinds; an adapter whose support
depends on the connection (GitHub: Enterprise Server only) narrows them with
`governance_for(base_url)`. "Notify user" is an email and needs no connector at all.
"""

from __future__ import annotations

from apps.connectors.adapters import adapter_class

from .models import FILE_ACTIONS, USER_ACTIONS, GovernanceKind


def supported_kinds(app_instance) -> frozenset[str]:
    """The connector actions of `app_instance` (notify user not included)."""
    if app_instance is None:
        return frozenset()
    cls = adapter_class(app_instance.vendor)
    if cls is None:
        return frozenset()
    narrow = getattr(cls, "governance_for", None)
    kinds = narrow(app_instance.base_url) if callable(narrow) else cls.governance
    return frozenset(kinds) & frozenset(GovernanceKind.values)


def account_kinds(account) -> list[tuple[str, str]]:
    """(value, label) of the actions offered on one account, in the order of the choices."""
    supported = supported_kinds(getattr(account, "app_instance", None))
    return [
        (value, label)
        for value, label in GovernanceKind.choices
        if value in USER_ACTIONS and (value == GovernanceKind.NOTIFY_USER or value in supported)
    ]


def file_kinds(app_instance) -> list[tuple[str, str]]:
    supported = supported_kinds(app_instance)
    return [(v, name) for v, name in GovernanceKind.choices if v in FILE_ACTIONS and v in supported]


def can_run(kind: str, app_instance) -> bool:
    return kind == GovernanceKind.NOTIFY_USER or kind in supported_kinds(app_instance)
