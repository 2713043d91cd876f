"""Template helpers of governance: the actions an account offers, the badge of a status."""

from __future__ import annotations

from django import template

from ..capabilities import account_kinds
from ..models import GovernanceStatus

register = template.Library()

_BADGES = {
    GovernanceStatus.SUCCEEDED: "ok",
    GovernanceStatus.FAILED: "bad",
    GovernanceStatus.RETRYING: "warn",
}


@register.simple_tag
def governance_kinds(account) -> list[tuple[str, str]]:
    """(value, label) of the actions offered on `account`: its app's plus "notify user"."""
    return account_kinds(account)


@register.filter
def status_badge(status: str) -> str:
    return _BADGES.get(status, "")
