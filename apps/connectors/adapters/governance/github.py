"""GitHub governance: what GitHub's API honestly offers an organization's connection.

Only GitHub Enterprise Server can suspend an account (`PUT /users/{login}/suspended`, undone by
`DELETE`; a site administrator's token). github.com has no such API: its accounts belong to
their owners, and an organization can only remove a member (which loses their forks and seats
and is not undone by "unsuspend"), so the actions are offered for Enterprise Server only.
GitHub has no API for an organization to end a member's sessions, mark them compromised, or
revoke an OAuth app's grant (that needs the app's own client secret): those are not supported.
"""

from __future__ import annotations

import httpx

from ... import errors
from ..base import ActionTarget
from . import common as c

KINDS = frozenset({c.SUSPEND_USER, c.UNSUSPEND_USER})
DOTCOM_HOSTS = {"api.github.com", "github.com"}


def is_dotcom(base_url: str) -> bool:
    try:
        return (httpx.URL(base_url).host or "").lower() in DOTCOM_HOSTS
    except (httpx.InvalidURL, TypeError):
        return False


def kinds_for(base_url: str) -> frozenset[str]:
    return frozenset() if is_dotcom(base_url) else KINDS


def govern(adapter, target: ActionTarget) -> str:
    if target.kind not in KINDS:
        raise errors.NotSupported(
            f"GitHub has no API for an organization to {target.kind.replace('_', ' ')}"
        )
    if is_dotcom(adapter.base_url):
        raise errors.NotSupported(
            "github.com has no API to suspend an account; only GitHub Enterprise Server does"
        )
    login = target.username
    if not login:
        raise errors.TargetNotFound("the account has no GitHub login")
    path = f"{adapter.base_url}/users/{c.segment(login)}"
    user = c.read(
        c.send(adapter, "GET", path, doing="read the user", missing=f"GitHub has no user {login}")
    )
    suspended = bool(user.get("suspended_at"))
    if target.kind == c.SUSPEND_USER:
        if suspended:
            return f"{login} was already suspended"
        c.send(
            adapter,
            "PUT",
            f"{path}/suspended",
            doing="suspend the user",
            missing=f"GitHub has no user {login}",
            json={"reason": str(target.params.get("reason") or "Suspended by the CASB")[:200]},
        )
        return f"{login} is suspended on GitHub Enterprise Server"
    if not suspended:
        return f"{login} was not suspended"
    c.send(
        adapter,
        "DELETE",
        f"{path}/suspended",
        doing="unsuspend the user",
        missing=f"GitHub has no user {login}",
    )
    return f"{login} is no longer suspended"
