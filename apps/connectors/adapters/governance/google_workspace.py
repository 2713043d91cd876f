"""Google Workspace governance: Admin SDK Directory API and Drive API v3.

The service account's domain-wide delegation must also grant these scopes (the polls' read-only
scopes are asked for separately, so a connection without them still polls):
`admin.directory.user` (suspend), `admin.directory.user.security` (sign-out, OAuth tokens) and
`drive` (file sharing). Directory calls act as the connection's admin; Drive calls act as the
file's owner when the action names one (an admin cannot change sharing of a file in someone
else's My Drive), else as the admin.

- suspend / unsuspend: `users.update` (`PUT /admin/directory/v1/users/{key}`, `suspended`),
  after reading the user so a repeat says "already".
- require sign-in again: `users.signOut` (web and device sessions, sign-in cookies).
- revoke an OAuth app: `tokens.delete` for the client id, for the account given, or for every
  user of the directory (Google revokes per user). A user without a token is not an error.
- remove external sharing / make private: `permissions.list` then `permissions.delete` on the
  file (`supportsAllDrives`); owners and inherited (shared drive) permissions stay. External
  means "anyone", another domain, or an address outside the admin's domain.
Confirm compromised and quarantine have no Google API: they are refused as not supported.
"""

from __future__ import annotations

import base64
import json
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ... import errors
from ...client import body_json
from ..base import ActionTarget
from . import common as c

KINDS = frozenset(
    {
        c.SUSPEND_USER,
        c.UNSUSPEND_USER,
        c.REQUIRE_SIGN_IN,
        c.REVOKE_OAUTH_APP,
        c.REMOVE_EXTERNAL_SHARING,
        c.MAKE_PRIVATE,
    }
)
_AUTH = "https://www.googleapis.com/auth/"
DIRECTORY_SCOPES = f"{_AUTH}admin.directory.user {_AUTH}admin.directory.user.security"
DRIVE_SCOPES = f"{_AUTH}drive"
MAX_PAGES = 200


def govern(adapter, target: ActionTarget) -> str:
    handler = HANDLERS.get(target.kind)
    if handler is None:
        raise errors.NotSupported(f"Google Workspace has no API to {target.kind.replace('_', ' ')}")
    return handler(_Google(adapter), target)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Google:
    """Tokens per (subject, scopes), minted like the adapter's but with governance scopes."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.admin = adapter.credentials.get("admin_email", "")
        self.api = adapter.api_url
        self.drive = adapter.base_url or "https://www.googleapis.com"
        self._tokens: dict[tuple[str, str], str] = {}

    def _assertion(self, subject: str, scopes: str) -> str:
        key = self.adapter._key(self.adapter.credentials)
        try:
            private_key = serialization.load_pem_private_key(
                str(key.get("private_key", "")).encode(), password=None
            )
        except (ValueError, TypeError) as exc:
            raise errors.CredentialsRejected("the service account key cannot be read") from exc
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise errors.CredentialsRejected("the service account key is not an RSA key")
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": key.get("private_key_id", "")}
        claims = {
            "iss": key.get("client_email", ""),
            "sub": subject,
            "scope": scopes,
            "aud": self.adapter.token_url,
            "iat": now,
            "exp": now + 3600,
        }
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64(signature)

    def token(self, subject: str, scopes: str) -> str:
        cached = self._tokens.get((subject, scopes))
        if cached:
            return cached
        response = self.adapter.send(
            "POST",
            self.adapter.token_url,
            auth=False,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self._assertion(subject, scopes),
            },
        )
        body = body_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise errors.BadResponse("the token answer had no access token")
        self._tokens[(subject, scopes)] = token
        return token

    def call(self, method, url, *, subject="", scopes=DIRECTORY_SCOPES, **kwargs) -> dict:
        subject = subject or self.admin

        def headers():
            return {"Authorization": f"Bearer {self.token(subject, scopes)}"}

        def refresh():
            self._tokens.pop((subject, scopes), None)
            return True

        return c.read(c.send(self.adapter, method, url, headers=headers, refresh=refresh, **kwargs))

    def user_url(self, key: str) -> str:
        return f"{self.api}/admin/directory/v1/users/{c.segment(key, safe='@')}"


# --- Accounts -------------------------------------------------------------------------------


def _key(target: ActionTarget) -> str:
    key = target.account_id or target.username
    if not key:
        raise errors.TargetNotFound("the account has no Google Workspace user id")
    return key


def _user(google: _Google, target: ActionTarget) -> dict:
    key = _key(target)
    user = google.call(
        "GET",
        google.user_url(key),
        doing="read the user",
        missing=f"Google Workspace has no user {target.username or key} (deleted since?)",
        params={"fields": "id,primaryEmail,suspended"},
    )
    return {**user, "label": user.get("primaryEmail") or target.username or key}


def _set_suspended(google: _Google, target: ActionTarget, suspended: bool) -> str:
    user = _user(google, target)
    word = "suspended" if suspended else "active again"
    if bool(user.get("suspended")) is suspended:
        return f"{user['label']} was already {'suspended' if suspended else 'active'}"
    google.call(
        "PUT",
        google.user_url(_key(target)),
        doing="suspend the user" if suspended else "unsuspend the user",
        missing=f"Google Workspace has no user {user['label']}",
        json={"suspended": suspended},
    )
    return f"{user['label']} is {word}"


def suspend(google: _Google, target: ActionTarget) -> str:
    return _set_suspended(google, target, True)


def unsuspend(google: _Google, target: ActionTarget) -> str:
    return _set_suspended(google, target, False)


def require_sign_in(google: _Google, target: ActionTarget) -> str:
    user = _user(google, target)
    google.call(
        "POST",
        google.user_url(_key(target)) + "/signOut",
        doing="sign the user out",
        missing=f"Google Workspace has no user {user['label']}",
    )
    return f"signed {user['label']} out of every web and device session; they must sign in again"


def revoke_oauth_app(google: _Google, target: ActionTarget) -> str:
    client = target.client_id.strip()
    if not client:
        raise errors.TargetNotFound("the action names no OAuth client id")
    if target.account_id or target.username:
        user = _user(google, target)
        revoked = _revoke_for(google, _key(target), client)
        if not revoked:
            return f"{user['label']} had not authorised {client}; nothing to revoke"
        return f"revoked every token {user['label']} had given to {client}"
    users = _all_users(google)
    revoked = sum(_revoke_for(google, key, client) for key in users)
    return (
        f"revoked the tokens of {client} for {c.plural(revoked, 'user')} "
        f"(of {c.plural(len(users), 'user')} in the directory)"
    )


def _revoke_for(google: _Google, key: str, client: str) -> bool:
    url = f"{google.user_url(key)}/tokens/{c.segment(client)}"
    return c.gone_ok(
        lambda: google.call("DELETE", url, doing="revoke the app's tokens", missing="")
    )


def _all_users(google: _Google) -> list[str]:
    customer = google.adapter.credentials.get("customer_id") or "my_customer"
    keys, token = [], None
    for _ in range(MAX_PAGES):
        params = {"customer": customer, "maxResults": 500, "fields": "users(id),nextPageToken"}
        if token:
            params["pageToken"] = token
        body = google.call(
            "GET", f"{google.api}/admin/directory/v1/users", doing="list users", params=params
        )
        users = [u for u in body.get("users") or [] if isinstance(u, dict) and u.get("id")]
        keys += [str(u["id"]) for u in users]
        token = body.get("nextPageToken")
        if not token:
            break
    return keys


# --- Files ----------------------------------------------------------------------------------


def _unshare(google: _Google, target: ActionTarget, *, external_only: bool) -> str:
    if not target.file_id:
        raise errors.TargetNotFound("the action names no Google Drive file")
    owner = target.username if "@" in (target.username or "") else ""
    subject = owner or google.admin
    base = f"{google.drive}/drive/v3/files/{c.segment(target.file_id)}/permissions"
    domains = {c.domain_of(google.admin), c.domain_of(owner)} - {""}
    domains |= {str(d).lower() for d in target.params.get("internal_domains") or []}
    permissions, token = [], None
    for _ in range(MAX_PAGES):
        params = {
            "supportsAllDrives": "true",
            "pageSize": 100,
            "fields": "nextPageToken,permissions(id,type,role,emailAddress,domain,"
            "permissionDetails)",
        }
        if token:
            params["pageToken"] = token
        body = google.call(
            "GET",
            base,
            subject=subject,
            scopes=DRIVE_SCOPES,
            doing="list the file's sharing",
            missing=f"Google Drive has no file {target.file_id}, or {subject} cannot see it",
            params=params,
        )
        permissions += [p for p in body.get("permissions") or [] if isinstance(p, dict)]
        token = body.get("nextPageToken")
        if not token:
            break
    removed, kept = [], 0
    for permission in permissions:
        details = [d for d in permission.get("permissionDetails") or [] if isinstance(d, dict)]
        inherited = bool(details) and all(d.get("inherited") for d in details)
        if permission.get("role") == "owner" or inherited:
            continue
        kind = permission.get("type")
        email = str(permission.get("emailAddress") or "").lower()
        external = (
            kind == "anyone"
            or (kind == "domain" and str(permission.get("domain", "")).lower() not in domains)
            or (kind in ("user", "group") and not c.is_internal(email, domains))
        )
        if external_only and not external:
            kept += 1
            continue
        url = f"{base}/{c.segment(permission.get('id'))}"
        if c.gone_ok(
            lambda url=url: google.call(
                "DELETE",
                url,
                subject=subject,
                scopes=DRIVE_SCOPES,
                doing="remove a share of the file",
                missing="",
                params={"supportsAllDrives": "true"},
            )
        ):
            label = {"anyone": "anyone with the link", "domain": permission.get("domain")}
            removed.append(str(label.get(kind) or email or permission.get("id")))
    what = "external share" if external_only else "share"
    if not removed:
        words = f"the file had no {what} left to remove"
    else:
        words = f"removed {c.plural(len(removed), what)}: {c.listing(removed)}"
    if kept:
        words += f"; {c.plural(kept, 'internal share')} kept"
    return words


def remove_external_sharing(google: _Google, target: ActionTarget) -> str:
    return _unshare(google, target, external_only=True)


def make_private(google: _Google, target: ActionTarget) -> str:
    return _unshare(google, target, external_only=False) + " (its owner keeps access)"


HANDLERS = {
    c.SUSPEND_USER: suspend,
    c.UNSUSPEND_USER: unsuspend,
    c.REQUIRE_SIGN_IN: require_sign_in,
    c.REVOKE_OAUTH_APP: revoke_oauth_app,
    c.REMOVE_EXTERNAL_SHARING: remove_external_sharing,
    c.MAKE_PRIVATE: make_private,
}
