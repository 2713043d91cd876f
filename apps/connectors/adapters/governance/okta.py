"""Okta governance: the Users lifecycle, sessions, user risk and OAuth token APIs.

- suspend / unsuspend: `POST /api/v1/users/{id}/lifecycle/suspend|unsuspend`. Okta allows them
  only from ACTIVE / SUSPENDED, so the user is read first: a repeat says "already", and a user in
  another state (staged, deprovisioned) is refused in plain words.
- require sign-in again: `DELETE /api/v1/users/{id}/sessions?oauthTokens=true` (identity provider
  sessions and the OAuth/OIDC tokens Okta issued to the user).
- confirm compromised: `PUT /api/v1/users/{id}/risk` with `riskLevel` HIGH (Identity Threat
  Protection; an org without it gets Okta's own refusal).
- revoke an OAuth app: for one person, `DELETE /api/v1/users/{id}/clients/{clientId}/tokens` and
  `.../grants`; for everyone, `DELETE /api/v1/apps/{appId}/tokens` (an OIDC app's client id is
  its app id).
The API token needs an administrator allowed to manage users (and apps, for the last one).
"""

from __future__ import annotations

from ... import errors
from ..base import ActionTarget
from . import common as c

KINDS = frozenset(
    {
        c.SUSPEND_USER,
        c.UNSUSPEND_USER,
        c.REQUIRE_SIGN_IN,
        c.CONFIRM_COMPROMISED,
        c.REVOKE_OAUTH_APP,
    }
)


def govern(adapter, target: ActionTarget) -> str:
    handler = HANDLERS.get(target.kind)
    if handler is None:
        raise errors.NotSupported(f"Okta has no '{target.kind.replace('_', ' ')}' action")
    return handler(adapter, target)


def _call(adapter, method: str, path: str, **kwargs) -> dict:
    return c.read(c.send(adapter, method, f"{adapter.base_url}{path}", **kwargs))


def _user(adapter, target: ActionTarget) -> tuple[str, dict]:
    if not target.account_id:
        raise errors.TargetNotFound("the account has no Okta user id")
    path = f"/api/v1/users/{c.segment(target.account_id)}"
    who = target.username or target.account_id
    user = _call(adapter, "GET", path, doing="read the user", missing=f"Okta has no user {who}")
    login = (user.get("profile") or {}).get("login") or who
    return path, {**user, "label": login, "status": str(user.get("status", "")).upper()}


def suspend(adapter, target: ActionTarget) -> str:
    path, user = _user(adapter, target)
    if user["status"] == "SUSPENDED":
        return f"{user['label']} was already suspended"
    if user["status"] != "ACTIVE":
        raise errors.ConnectorError(
            f"Okta suspends only active users; {user['label']} is {user['status'].lower()}"
        )
    gone = f"Okta has no user {user['label']} any more"
    _call(adapter, "POST", f"{path}/lifecycle/suspend", doing="suspend the user", missing=gone)
    return f"{user['label']} is suspended: they cannot sign in until unsuspended"


def unsuspend(adapter, target: ActionTarget) -> str:
    path, user = _user(adapter, target)
    if user["status"] == "ACTIVE":
        return f"{user['label']} was already active"
    if user["status"] != "SUSPENDED":
        raise errors.ConnectorError(
            f"Okta unsuspends only suspended users; {user['label']} is {user['status'].lower()}"
        )
    gone = f"Okta has no user {user['label']} any more"
    _call(adapter, "POST", f"{path}/lifecycle/unsuspend", doing="unsuspend the user", missing=gone)
    return f"{user['label']} is active again"


def require_sign_in(adapter, target: ActionTarget) -> str:
    path, user = _user(adapter, target)
    _call(
        adapter,
        "DELETE",
        f"{path}/sessions",
        doing="end the user's sessions",
        missing=f"Okta has no user {user['label']}",
        params={"oauthTokens": "true"},
    )
    return f"ended every Okta session of {user['label']} and revoked their OAuth tokens"


def confirm_compromised(adapter, target: ActionTarget) -> str:
    path, user = _user(adapter, target)
    _call(
        adapter,
        "PUT",
        f"{path}/risk",
        doing="set the user's risk",
        missing=f"Okta has no user risk for {user['label']} (Identity Threat Protection off?)",
        json={"riskLevel": "HIGH"},
    )
    return f"{user['label']} confirmed compromised: Okta user risk set to HIGH"


def revoke_oauth_app(adapter, target: ActionTarget) -> str:
    client = target.client_id.strip()
    if not client:
        raise errors.TargetNotFound("the action names no OAuth client id")
    quoted = c.segment(client)
    if target.account_id:
        path, user = _user(adapter, target)
        for what in ("tokens", "grants"):
            _call(
                adapter,
                "DELETE",
                f"{path}/clients/{quoted}/{what}",
                doing=f"revoke the app's {what}",
                missing=f"Okta has no app with client id {client}",
            )
        return f"revoked every token and grant {user['label']} had given to {client}"
    _call(
        adapter,
        "DELETE",
        f"/api/v1/apps/{quoted}/tokens",
        doing="revoke the app's tokens",
        missing=f"Okta has no app with client id {client}",
    )
    return f"revoked every refresh token Okta had issued to {client}, for everyone"


HANDLERS = {
    c.SUSPEND_USER: suspend,
    c.UNSUSPEND_USER: unsuspend,
    c.REQUIRE_SIGN_IN: require_sign_in,
    c.CONFIRM_COMPROMISED: confirm_compromised,
    c.REVOKE_OAUTH_APP: revoke_oauth_app,
}
