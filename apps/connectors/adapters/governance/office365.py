"""Microsoft 365 governance through Microsoft Graph v1.0.

Accounts (by Graph user id):
- suspend / unsuspend: `PATCH /users/{id}` with `accountEnabled` false / true; the user is read
  first so a repeat says "already" instead of writing again.
- require sign-in again: `POST /users/{id}/revokeSignInSessions` (refresh tokens and session
  cookies; Microsoft applies it within minutes).
- confirm compromised: `POST /identityProtection/riskyUsers/confirmCompromised` (sets the user
  risk to high; needs Entra ID P2, and Microsoft's refusal is shown when it is missing).

Files (OneDrive / SharePoint): addressed by the file's URL, which is what the audit log gives as
its ObjectId (`GET /shares/u!{base64url}/driveItem`), or by `drive_id` in the params plus the
item id. Its sharing permissions are listed and deleted one by one; inherited ones (the site's
own members) and the owner stay, as Graph only deletes permissions set on the item.
- remove external sharing: "Anyone" links, and shares with addresses outside the tenant's
  verified domains (`GET /organization`).
- make private: every share of the item.
- quarantine: make private, then move the file into a "Quarantine" folder at the root of its
  own drive (the spec's *user* quarantine; Graph cannot move an item to another drive, so a
  separate admin quarantine site would need a copy, which is not offered).

OAuth apps (by application / client id): the app's service principal is found by `appId`, and
its delegated permission grants (`oauth2PermissionGrants`) are deleted: all of them, or the
one person's when an account is given. Tokens already issued stay valid until they expire.

Application permissions of the connection: User.EnableDisableAccount.All, User.Read.All,
User.RevokeSessions.All, IdentityRiskyUser.ReadWrite.All, Files.ReadWrite.All,
Organization.Read.All, Application.Read.All, DelegatedPermissionGrant.ReadWrite.All.
"""

from __future__ import annotations

import base64
import re

from ... import errors
from ..base import ActionTarget
from . import common as c

KINDS = frozenset(
    {
        c.SUSPEND_USER,
        c.UNSUSPEND_USER,
        c.REQUIRE_SIGN_IN,
        c.CONFIRM_COMPROMISED,
        c.REMOVE_EXTERNAL_SHARING,
        c.MAKE_PRIVATE,
        c.QUARANTINE_FILE,
        c.REVOKE_OAUTH_APP,
    }
)
QUARANTINE_FOLDER = "Quarantine"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_PAGES = 50


def govern(adapter, target: ActionTarget) -> str:
    handler = HANDLERS.get(target.kind)
    if handler is None:
        raise errors.NotSupported(f"Microsoft 365 has no '{target.kind.replace('_', ' ')}' action")
    adapter._scope = "graph"  # every call below goes to Microsoft Graph
    return handler(_Graph(adapter), target)


class _Graph:
    def __init__(self, adapter):
        self.adapter = adapter
        self.root = f"{adapter.graph_url}/v1.0"
        self._domains: set[str] | None = None

    def call(self, method: str, path: str, *, doing: str, missing: str | None = None, **kw):
        url = self.root + path
        return c.read(c.send(self.adapter, method, url, doing=doing, missing=missing, **kw))

    def pages(self, path: str, *, doing: str, params: dict | None = None) -> list[dict]:
        url: str | None = self.root + path
        items: list[dict] = []
        for _ in range(MAX_PAGES):
            if not url:
                break
            body = c.read(c.send(self.adapter, "GET", url, doing=doing, params=params))
            items.extend(i for i in body.get("value") or [] if isinstance(i, dict))
            url = self.adapter.follow(body.get("@odata.nextLink"), self.adapter.graph_url)
            params = None
        return items

    def domains(self) -> set[str]:
        if self._domains is None:
            orgs = self.pages(
                "/organization",
                doing="list the tenant's verified domains",
                params={"$select": "verifiedDomains"},
            )
            self._domains = {
                str(d.get("name", "")).lower()
                for org in orgs
                for d in org.get("verifiedDomains") or []
                if isinstance(d, dict) and d.get("name")
            }
        return self._domains


# --- Accounts -------------------------------------------------------------------------------


def _user(graph: _Graph, target: ActionTarget) -> tuple[str, dict]:
    if not target.account_id:
        raise errors.TargetNotFound("the account has no Microsoft 365 user id")
    who = target.username or target.account_id
    path = f"/users/{c.segment(target.account_id)}"
    user = graph.call(
        "GET",
        path,
        doing="read the user",
        missing=f"Microsoft 365 has no user {who} (deleted since?)",
        params={"$select": "id,userPrincipalName,accountEnabled"},
    )
    return path, {**user, "label": user.get("userPrincipalName") or who}


def _set_enabled(graph: _Graph, target: ActionTarget, enabled: bool) -> str:
    path, user = _user(graph, target)
    verb = "allowed to sign in again" if enabled else "blocked from signing in"
    if user.get("accountEnabled") is enabled:
        return f"{user['label']} was already {verb}; nothing changed"
    graph.call(
        "PATCH",
        path,
        doing="unblock the user's sign-in" if enabled else "block the user's sign-in",
        missing=f"Microsoft 365 has no user {user['label']} (deleted since?)",
        json={"accountEnabled": enabled},
    )
    return f"{user['label']} {verb} (accountEnabled set to {str(enabled).lower()})"


def suspend(graph: _Graph, target: ActionTarget) -> str:
    return _set_enabled(graph, target, False)


def unsuspend(graph: _Graph, target: ActionTarget) -> str:
    return _set_enabled(graph, target, True)


def require_sign_in(graph: _Graph, target: ActionTarget) -> str:
    path, user = _user(graph, target)
    graph.call(
        "POST",
        f"{path}/revokeSignInSessions",
        doing="revoke the user's sign-in sessions",
        missing=f"Microsoft 365 has no user {user['label']}",
    )
    return (
        f"revoked every refresh token and session of {user['label']}: they must sign in again "
        "(Microsoft applies it within a few minutes)"
    )


def confirm_compromised(graph: _Graph, target: ActionTarget) -> str:
    _, user = _user(graph, target)
    graph.call(
        "POST",
        "/identityProtection/riskyUsers/confirmCompromised",
        doing="confirm the user compromised",
        missing=f"Identity Protection has no user {user['label']}",
        json={"userIds": [user.get("id") or target.account_id]},
    )
    return f"{user['label']} confirmed compromised: Entra ID sets their user risk to high"


# --- Files ----------------------------------------------------------------------------------


def _share_token(url: str) -> str:
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return "u!" + encoded


def _item(graph: _Graph, target: ActionTarget) -> tuple[str, dict]:
    """(drive id, item) of the target file."""
    select = {"$select": "id,name,webUrl,parentReference"}
    missing = f"Microsoft 365 has no file {target.file_id} (deleted or moved since?)"
    drive_id = str(target.params.get("drive_id") or "")
    if drive_id and target.file_id:
        item = graph.call(
            "GET",
            f"/drives/{c.segment(drive_id)}/items/{c.segment(target.file_id)}",
            doing="read the file",
            missing=missing,
            params=select,
        )
    elif target.file_id.startswith(("https://", "http://")):
        item = graph.call(
            "GET",
            f"/shares/{_share_token(target.file_id)}/driveItem",
            doing="read the file",
            missing=missing,
            params=select,
        )
    else:
        raise errors.TargetNotFound(
            "a Microsoft 365 file is named by its URL (or its drive id and item id)"
        )
    drive_id = drive_id or str((item.get("parentReference") or {}).get("driveId") or "")
    if not item.get("id") or not drive_id:
        raise errors.BadResponse("Microsoft Graph answered without the file's id or drive")
    return drive_id, item


def _identities(permission: dict) -> list[str]:
    emails = []
    sets = [permission.get("grantedToV2"), permission.get("grantedTo")]
    sets += list(permission.get("grantedToIdentitiesV2") or [])
    sets += list(permission.get("grantedToIdentities") or [])
    for identity_set in sets:
        if not isinstance(identity_set, dict):
            continue
        for key in ("user", "siteUser", "group", "siteGroup"):
            email = (identity_set.get(key) or {}).get("email")
            if email:
                emails.append(str(email).lower())
    invited = ((permission.get("invitation") or {}).get("email") or "").lower()
    return list(dict.fromkeys([*emails, *([invited] if invited else [])]))


def _describe(permission: dict) -> str:
    scope = (permission.get("link") or {}).get("scope")
    if scope == "anonymous":
        return "an Anyone link"
    if scope == "organization":
        return "a link for the whole organisation"
    people = _identities(permission)
    return c.listing(people, 2) if people else f"share {permission.get('id')}"


def _unshare(graph: _Graph, target: ActionTarget, *, external_only: bool) -> tuple:
    """Delete the item's removable shares; (drive id, item, item path, words of it)."""
    drive_id, item = _item(graph, target)
    base = f"/drives/{c.segment(drive_id)}/items/{c.segment(item['id'])}"
    permissions = graph.pages(f"{base}/permissions", doing="list the file's sharing")
    domains = graph.domains() if external_only else set()
    removed, kept = [], 0
    for permission in permissions:
        if permission.get("inheritedFrom") or "owner" in (permission.get("roles") or []):
            continue
        link_scope = (permission.get("link") or {}).get("scope")
        external = link_scope == "anonymous" or any(
            not c.is_internal(email, domains) for email in _identities(permission)
        )
        if external_only and not external:
            kept += 1
            continue

        pid = str(permission.get("id"))

        def delete(pid=pid):
            graph.call(
                "DELETE",
                f"{base}/permissions/{c.segment(pid)}",
                doing="remove a share of the file",
                missing="",
            )

        if c.gone_ok(delete):
            removed.append(_describe(permission))
    name = item.get("name") or target.file_id
    what = "external share" if external_only else "share"
    if not removed:
        words = f"{name} had no {what} left to remove"
    else:
        words = f"removed {c.plural(len(removed), what)} of {name}: {c.listing(removed)}"
    if kept:
        words += f"; {c.plural(kept, 'internal share')} kept"
    return drive_id, item, base, words


def remove_external_sharing(graph: _Graph, target: ActionTarget) -> str:
    return _unshare(graph, target, external_only=True)[3]


def make_private(graph: _Graph, target: ActionTarget) -> str:
    words = _unshare(graph, target, external_only=False)[3]
    return words + " (its owner and the site keep access)"


def quarantine_file(graph: _Graph, target: ActionTarget) -> str:
    drive_id, item, base, words = _unshare(graph, target, external_only=False)
    drive = f"/drives/{c.segment(drive_id)}"
    folder = _quarantine_folder(graph, drive)
    if (item.get("parentReference") or {}).get("id") == folder:
        return f"{words}; it was already in the {QUARANTINE_FOLDER} folder of its drive"
    graph.call(
        "PATCH",
        base,
        doing="move the file into the quarantine folder",
        missing=f"Microsoft 365 has no file {target.file_id} any more",
        json={"parentReference": {"id": folder}},
    )
    return f"{words}; moved into the {QUARANTINE_FOLDER} folder at the root of its drive"


def _quarantine_folder(graph: _Graph, drive: str) -> str:
    """Id of the drive's quarantine folder, made on first use (a race makes it only once)."""
    path = f"{drive}/root:/{QUARANTINE_FOLDER}"
    for _ in range(2):
        try:
            found = graph.call("GET", path, doing="look for the quarantine folder", missing="")
            if found.get("id"):
                return str(found["id"])
        except errors.TargetNotFound:
            pass
        try:
            made = graph.call(
                "POST",
                f"{drive}/root/children",
                doing="create the quarantine folder",
                json={
                    "name": QUARANTINE_FOLDER,
                    "folder": {},
                    "@microsoft.graph.conflictBehavior": "fail",
                },
            )
            if made.get("id"):
                return str(made["id"])
        except errors.ConnectorError as exc:
            if exc.http_status != 409:  # 409: made meanwhile by someone else; read it again
                raise
    raise errors.ConnectorError("the quarantine folder could not be created or found")


# --- OAuth apps -----------------------------------------------------------------------------


def revoke_oauth_app(graph: _Graph, target: ActionTarget) -> str:
    client_id = target.client_id.strip()
    if not GUID.match(client_id):
        raise errors.TargetNotFound(f"{client_id!r} is not an application (client) id")
    principals = graph.pages(
        "/servicePrincipals",
        doing="look up the app",
        params={"$filter": f"appId eq '{client_id}'", "$select": "id,appId,displayName"},
    )
    if not principals:
        raise errors.TargetNotFound(f"no app with client id {client_id} is in this directory")
    principal = principals[0]
    name = principal.get("displayName") or client_id
    grants = graph.pages(
        "/oauth2PermissionGrants",
        doing="list the app's permission grants",
        params={"$filter": f"clientId eq '{principal.get('id')}'"},
    )
    everyone = [g for g in grants if g.get("consentType") == "AllPrincipals"]
    if target.account_id:
        grants = [g for g in grants if g.get("principalId") == target.account_id]
    revoked = 0
    for grant in grants:
        gid = str(grant.get("id"))

        def delete(gid=gid):
            graph.call(
                "DELETE",
                f"/oauth2PermissionGrants/{c.segment(gid)}",
                doing="delete a permission grant",
                missing="",
            )

        revoked += c.gone_ok(delete)
    whose = f"for {target.username or target.account_id}" if target.account_id else "for everyone"
    if not revoked:
        words = f"{name} held no delegated permission grant {whose}; nothing to revoke"
    else:
        words = (
            f"revoked {c.plural(revoked, 'delegated permission grant')} of {name} {whose}; "
            "tokens already issued stay valid until they expire (about an hour)"
        )
    if target.account_id and everyone:
        words += "; an organisation-wide consent remains: revoke the app for everyone to end it"
    return words


HANDLERS = {
    c.SUSPEND_USER: suspend,
    c.UNSUSPEND_USER: unsuspend,
    c.REQUIRE_SIGN_IN: require_sign_in,
    c.CONFIRM_COMPROMISED: confirm_compromised,
    c.REMOVE_EXTERNAL_SHARING: remove_external_sharing,
    c.MAKE_PRIVATE: make_private,
    c.QUARANTINE_FILE: quarantine_file,
    c.REVOKE_OAUTH_APP: revoke_oauth_app,
}
