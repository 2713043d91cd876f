"""Google Workspace: Admin SDK Reports API (activities.list) and Directory API.

Auth: a service account with domain-wide delegation signs a JWT (RS256) naming the admin it
acts for; Google's token endpoint answers with an access token.

Activities: one stream per Reports application (login, admin, drive, token, user_accounts).
activities.list answers newest first, so a time window is only complete after its last page.
A poll reads windows of at most a day, oldest window first; inside a window the cursor keeps
the window and the next `pageToken`, so a crash resumes on the same window's next page, and the
cursor moves to the window's end only once its last page was handed over. Windows start at the
cursor minus an hour of overlap: Google documents lag times of up to hours for some reports.

Directory: users.list, groups.list and members.list (`customer=my_customer`, `nextPageToken`).

Files (Drive API v3, for content inspection): `files.list` as the connection's admin
(`corpora=allDrives`, every file the admin can see; other users' private My Drive files need
per-user delegation, which is not done here), with the `drive.readonly` scope minted separately
(a connection without it still polls). A pass lists files modified since the cursor (minus the
overlap); at least every `FULL_SCAN_HOURS` a pass lists every file, so sharing changes (which do
not move `modifiedTime`) are seen too. The cursor keeps the pass and its next `pageToken`, so a
killed scan resumes on the next page. Downloads: `files.get?alt=media`; Google Docs, Sheets and
Slides are exported as text (`files.export`), other Google-native types are recorded as not
scanned. Sharing: "anyone" is public (Internet when discoverable), another domain or an address
outside the admin's domain is external (its domain is collected), the domain itself internal.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from apps.accounts.directory import AccountIn, GroupIn
from apps.activities.categories import ActivityType as C
from apps.activities.events import EventIn

from .. import errors
from ..client import body_json, iso, parse_time, retry_at_from
from ..models import Vendor
from . import files as f
from . import register
from .base import ActionTarget, Adapter, CredentialField, Directory, Page, clean_ip, skip, text
from .governance import common as governance_common
from .governance import google_workspace as governance_actions

SCOPES = " ".join(
    "https://www.googleapis.com/auth/" + s
    for s in (
        "admin.reports.audit.readonly",
        "admin.directory.user.readonly",
        "admin.directory.group.readonly",
        "admin.directory.group.member.readonly",
    )
)
APPLICATIONS = ("login", "admin", "drive", "token", "user_accounts")
MAX_WINDOW = timedelta(days=1)
PAGE_SIZE = 1000

EVENTS = {
    ("login", "login_success"): C.LOGIN,
    ("login", "login_failure"): C.FAILED_LOGIN,
    ("login", "logout"): C.LOGOUT,
    ("drive", "download"): C.DOWNLOAD,
    ("drive", "upload"): C.UPLOAD,
    ("drive", "view"): C.VIEW,
    ("drive", "preview"): C.VIEW,
    ("drive", "edit"): C.EDIT,
    ("drive", "create"): C.EDIT,
    ("drive", "rename"): C.EDIT,
    ("drive", "move"): C.EDIT,
    ("drive", "delete"): C.DELETE,
    ("drive", "trash"): C.DELETE,
    ("drive", "change_user_access"): C.SHARE,
    ("drive", "change_document_visibility"): C.SHARE,
    ("drive", "change_document_access_scope"): C.SHARE,
    ("drive", "change_acl_editors"): C.PERMISSION_CHANGE,
    ("admin", "CREATE_USER"): C.CREATE_USER,
    ("admin", "DELETE_USER"): C.DELETE_USER,
    ("admin", "CHANGE_PASSWORD"): C.PASSWORD_CHANGE,
    ("admin", "ASSIGN_ROLE"): C.PERMISSION_CHANGE,
    ("admin", "UNASSIGN_ROLE"): C.PERMISSION_CHANGE,
    ("admin", "GRANT_ADMIN_PRIVILEGE"): C.PERMISSION_CHANGE,
    ("admin", "REVOKE_ADMIN_PRIVILEGE"): C.PERMISSION_CHANGE,
    ("admin", "ADD_GROUP_MEMBER"): C.PERMISSION_CHANGE,
    ("admin", "REMOVE_GROUP_MEMBER"): C.PERMISSION_CHANGE,
    ("token", "authorize"): C.PERMISSION_CHANGE,
    ("token", "revoke"): C.PERMISSION_CHANGE,
    ("user_accounts", "password_edit"): C.PASSWORD_CHANGE,
    ("user_accounts", "email_forwarding_change"): C.MAIL_FORWARDING,
    ("user_accounts", "email_forwarding_out_of_domain"): C.MAIL_FORWARDING,
}
# Sharing events whose new visibility is private take sharing away.
PRIVATE_VALUES = {"private", "none", "people_within_domain_with_link_removed"}
AUDIT_OFF_MARKERS = ("accessnotconfigured", "service_disabled", "has not been used in project")
RATE_REASONS = {"ratelimitexceeded", "userratelimitexceeded", "quotaexceeded"}

DRIVE_READ_SCOPES = "https://www.googleapis.com/auth/drive.readonly"
FOLDER = "application/vnd.google-apps.folder"
# Google-native types exported as text for inspection (others have no text to export).
EXPORTS = {
    "application/vnd.google-apps.document": "text/plain",
    "application/vnd.google-apps.spreadsheet": "text/csv",
    "application/vnd.google-apps.presentation": "text/plain",
}
FILE_FIELDS = (
    "nextPageToken,files(id,name,mimeType,size,md5Checksum,modifiedTime,"
    "owners(emailAddress,permissionId),permissions(id,type,role,emailAddress,domain,"
    "allowFileDiscovery),webViewLink,parents,trashed)"
)
FILES_PAGE_SIZE = 100


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parameters(event: dict) -> dict[str, Any]:
    result = {}
    for item in event.get("parameters") or []:
        if isinstance(item, dict) and item.get("name"):
            result[item["name"]] = next(
                (item[k] for k in ("value", "boolValue", "intValue", "multiValue") if k in item),
                None,
            )
    return result


@register
class GoogleWorkspaceAdapter(Adapter):
    vendor = Vendor.GOOGLE_WORKSPACE
    base_url_help = "Leave empty for Google (admin.googleapis.com, oauth2.googleapis.com)."
    credential_fields = (
        CredentialField(
            "admin_email",
            "Admin to act as",
            help="A super administrator's address; the service account acts on their behalf.",
        ),
        CredentialField(
            "customer_id",
            "Customer ID",
            required=False,
            help="Leave empty for the service account's own organisation (my_customer).",
        ),
        CredentialField(
            "service_account_key",
            "Service account key (JSON)",
            secret=True,
            help="The key file of a service account with domain-wide delegation for the "
            "Reports and Directory read-only scopes (and drive.readonly to scan files). "
            "Paste the whole JSON.",
        ),
    )
    streams = APPLICATIONS
    overlap = timedelta(hours=1)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        override = self.base_url
        self.api_url = override or "https://admin.googleapis.com"
        self.token_url = f"{override}/token" if override else "https://oauth2.googleapis.com/token"
        self._access_token = ""

    @classmethod
    def _key(cls, credentials: dict) -> dict:
        try:
            key = json.loads(credentials.get("service_account_key") or "")
        except ValueError:
            key = None
        return key if isinstance(key, dict) else {}

    @classmethod
    def validate_credentials(cls, credentials: dict) -> dict[str, str]:
        problems = {}
        email = credentials.get("admin_email", "")
        if "@" not in email or " " in email.strip():
            problems["admin_email"] = "Give the address of an administrator."
        raw = credentials.get("service_account_key")
        if raw is not None:
            key = cls._key(credentials)
            if key.get("type") != "service_account" or not key.get("client_email"):
                problems["service_account_key"] = (
                    "Paste the service account's JSON key file (type service_account)."
                )
            else:
                try:
                    loaded = serialization.load_pem_private_key(
                        str(key.get("private_key", "")).encode(), password=None
                    )
                except (ValueError, TypeError):
                    loaded = None
                if not isinstance(loaded, rsa.RSAPrivateKey):
                    problems["service_account_key"] = "The key file holds no RSA private key."
        return problems

    # --- Tokens (JWT bearer grant, domain-wide delegation) --------------------------------

    def _assertion(self) -> str:
        key = self._key(self.credentials)
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
            "sub": self.credentials.get("admin_email", ""),
            "scope": SCOPES,
            "aud": self.token_url,
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

    def auth_headers(self) -> dict[str, str]:
        if not self._access_token:
            response = self.send(
                "POST",
                self.token_url,
                auth=False,
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": self._assertion(),
                },
            )
            body = body_json(response)
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                raise errors.BadResponse("the token answer had no access token")
            self._access_token = token
        return {"Authorization": f"Bearer {self._access_token}"}

    def refresh_auth(self) -> bool:
        self._access_token = ""
        return True

    def classify(self, response: httpx.Response, body: Any) -> errors.ConnectorError | None:
        status = response.status_code
        message, reasons = "", set()
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                message = str(error.get("message", ""))
                reasons = {
                    str(e.get("reason", "")).lower()
                    for e in (error.get("errors") or []) + (error.get("details") or [])
                    if isinstance(e, dict)
                }
                reasons.add(str(error.get("status", "")).lower())
            elif isinstance(error, str):  # the token endpoint
                message = f"{error}: {body.get('error_description', '')}"
        words = errors.clip(message or f"HTTP {status}")
        if response.request.url == httpx.URL(self.token_url) and status in (400, 401, 403):
            return errors.CredentialsRejected(f"Google refused the service account ({words})")
        if status in (403, 429) and reasons & RATE_REASONS:
            return errors.RateLimited(f"rate limited ({words})", retry_at=retry_at_from(response))
        blob = (message + " " + " ".join(reasons)).lower()
        if status == 403 and any(marker in blob for marker in AUDIT_OFF_MARKERS):
            return errors.AuditDisabled(f"the Reports API is not enabled ({words})")
        if status == 403 and "audit" in blob and ("disabled" in blob or "not enabled" in blob):
            return errors.AuditDisabled(f"Google answered: {words}")
        if status in (401, 403):
            return errors.CredentialsRejected(f"Google refused access ({words})")
        return None

    # --- Activities ----------------------------------------------------------------------

    def activities(self, stream: str, cursor: dict) -> Iterator[Page]:
        url = f"{self.api_url}/admin/reports/v1/activity/users/all/applications/{stream}"
        now = self.started_at
        since = parse_time(cursor.get("since"))
        window = cursor.get("window") or []
        token = cursor.get("page_token") or None
        start = end = None
        if token and len(window) == 2:
            start, end = parse_time(window[0]), parse_time(window[1])
        if start is None or end is None:
            start, token = self.window_start(cursor), None
            end = min(start + MAX_WINDOW, now)
        while True:
            params = {"startTime": iso(start), "endTime": iso(end), "maxResults": PAGE_SIZE}
            if token:
                params["pageToken"] = token
            body, _ = self.get_json(url, params=params)
            body = self.require_dict(body, "an activities page")
            events, skipped = [], 0
            for item in self.require_list(body.get("items"), "activity items"):
                mapped = self.events(item)
                if mapped is None:
                    skipped += 1
                else:
                    events.extend(mapped)
            token = body.get("nextPageToken") or None
            if token:
                position = {"window": [iso(start), iso(end)], "page_token": token}
                if since is not None:
                    position["since"] = iso(since)
                yield Page(events, position, skipped)
                continue
            since = end
            yield Page(events, {"since": iso(since)}, skipped)
            if end >= now:
                return
            start, end = end, min(end + MAX_WINDOW, now)

    def events(self, item: Any) -> list[EventIn] | None:
        if not isinstance(item, dict):
            skip(self.vendor, item, "not an object")
            return None
        ident = item.get("id") or {}
        occurred = parse_time(ident.get("time"))
        qualifier = ident.get("uniqueQualifier")
        application = str(ident.get("applicationName") or "")
        if occurred is None or qualifier in (None, ""):
            skip(self.vendor, item, "no id.time or id.uniqueQualifier")
            return None
        actor = item.get("actor") or {}
        result = []
        for index, event in enumerate(item.get("events") or [{}]):
            if not isinstance(event, dict):
                continue
            name = str(event.get("name") or event.get("type") or "unknown")
            params = _parameters(event)
            category = EVENTS.get((application, name))
            if category is None:
                category = C.ADMIN if application == "admin" else C.OTHER
            if category == C.SHARE and str(params.get("visibility", "")).lower() in (
                PRIVATE_VALUES
            ):
                category = C.UNSHARE
            result.append(
                EventIn(
                    source_event_id=text(f"{application}:{qualifier}:{index}", 200),
                    occurred_at=occurred,
                    action_type=text(name, 120),
                    activity_type=category,
                    actor=text(actor.get("email"), 254),
                    actor_external_id=text(actor.get("profileId"), 200),
                    ip=clean_ip(item.get("ipAddress")),
                    succeeded=name != "login_failure",
                    is_admin=application == "admin",
                    object_name=text(params.get("doc_title") or params.get("USER_EMAIL") or ""),
                    object_type=text(params.get("doc_type") or "", 60),
                    object_id=text(params.get("doc_id") or "", 300),
                    raw=item if index == 0 else {"id": ident, "event_index": index},
                )
            )
        return result

    # --- Directory -----------------------------------------------------------------------

    def _all(self, path: str, key: str, params: dict) -> Iterator[dict]:
        url = f"{self.api_url}/admin/directory/v1/{path}"
        token = None
        while True:
            query = {**params, **({"pageToken": token} if token else {})}
            body, _ = self.get_json(url, params=query)
            body = self.require_dict(body, f"a {key} page")
            for item in self.require_list(body.get(key), f"a {key} list"):
                if isinstance(item, dict) and item.get("id"):
                    yield item
            token = body.get("nextPageToken")
            if not token:
                return

    def directory(self) -> Directory:
        customer = self.credentials.get("customer_id") or "my_customer"
        groups, memberships = [], {}
        for group in self._all("groups", "groups", {"customer": customer, "maxResults": 200}):
            groups.append(
                GroupIn(
                    external_id=str(group["id"]),
                    name=text(group.get("name") or group.get("email") or group["id"], 200),
                    description=text(group.get("description")),
                )
            )
            for member in self._all(f"groups/{group['id']}/members", "members", {}):
                memberships.setdefault(str(member["id"]), []).append(str(group["id"]))
        accounts = []
        for user in self._all("users", "users", {"customer": customer, "maxResults": 500}):
            organizations = [o for o in user.get("organizations") or [] if isinstance(o, dict)]
            primary = next((o for o in organizations if o.get("primary")), None) or (
                organizations[0] if organizations else {}
            )
            status = "active"
            if user.get("suspended") or user.get("archived"):
                status = "suspended"
            accounts.append(
                AccountIn(
                    external_id=str(user["id"]),
                    username=text(user.get("primaryEmail"), 254),
                    email=text(user.get("primaryEmail"), 254),
                    display_name=text((user.get("name") or {}).get("fullName"), 200),
                    department=text(primary.get("department"), 200),
                    status=status,
                    is_admin=bool(user.get("isAdmin")),
                    group_ids=memberships.get(str(user["id"]), []),
                )
            )
        return Directory(accounts=accounts, groups=groups, complete=True)

    # --- Files (Drive API v3) --------------------------------------------------------------

    def _drive_session(self):
        session = getattr(self, "_drive", None)
        if session is None:
            session = self._drive = governance_actions._Google(self)
        return session

    def _drive_get(self, url: str, *, doing: str, missing: str | None = None, **kwargs):
        session = self._drive_session()
        subject = session.admin

        def headers() -> dict[str, str]:
            return {"Authorization": f"Bearer {session.token(subject, DRIVE_READ_SCOPES)}"}

        def refresh() -> bool:
            session._tokens.pop((subject, DRIVE_READ_SCOPES), None)
            return True

        return governance_common.send(
            self,
            "GET",
            url,
            doing=doing,
            missing=missing,
            headers=headers,
            refresh=refresh,
            **kwargs,
        )

    def list_files(self, cursor: dict) -> Iterator[f.FilePage]:
        now = self.started_at
        url = f"{self._drive_session().drive}/drive/v3/files"
        since = parse_time(cursor.get("since"))
        full_at = parse_time(cursor.get("full_at"))
        current = cursor.get("pass") if isinstance(cursor.get("pass"), dict) else None
        token = cursor.get("page_token") or None
        if token and current and parse_time(current.get("started")):
            started = parse_time(current["started"])
            after = parse_time(current.get("after"))
        else:
            token, started = None, now
            full = (
                since is None
                or full_at is None
                or now - full_at >= timedelta(hours=f.FULL_SCAN_HOURS)
            )
            after = None if full else since - self.overlap
        query = f"trashed = false and mimeType != '{FOLDER}'"
        if after is not None:
            query += f" and modifiedTime > '{iso(after)}'"
        internal = {f.domain_of(self.credentials.get("admin_email", ""))} - {""}
        position = {
            "pass": {"started": iso(started), "after": iso(after) if after else None},
            **({"since": iso(since)} if since else {}),
            **({"full_at": iso(full_at)} if full_at else {}),
        }
        while True:
            params = {
                "q": query,
                "fields": FILE_FIELDS,
                "pageSize": FILES_PAGE_SIZE,
                "corpora": "allDrives",
                "includeItemsFromAllDrives": "true",
                "supportsAllDrives": "true",
            }
            if token:
                params["pageToken"] = token
            response = self._drive_get(url, doing="list Drive files", params=params)
            body = self.require_dict(body_json(response), "a Drive file list")
            listed, skipped = [], 0
            for item in self.require_list(body.get("files"), "a Drive file list"):
                remote = self._remote_file(item, internal)
                if remote is None:
                    skipped += 1
                else:
                    listed.append(remote)
            token = body.get("nextPageToken") or None
            if token:
                yield f.FilePage(listed, {**position, "page_token": token}, skipped)
                continue
            done = {"since": iso(started)}
            done["full_at"] = iso(started) if after is None else position.get("full_at")
            yield f.FilePage(listed, {k: v for k, v in done.items() if v}, skipped)
            return

    def _remote_file(self, item: Any, internal: set[str]) -> f.RemoteFile | None:
        if not isinstance(item, dict) or not item.get("id") or item.get("mimeType") == FOLDER:
            skip(self.vendor, item, "a Drive entry without an id, or a folder")
            return None
        owners = [o for o in item.get("owners") or [] if isinstance(o, dict)]
        owner = text(owners[0].get("emailAddress"), 254) if owners else ""
        domains = set(internal) | ({f.domain_of(owner)} - {""})
        level, external = f.PRIVATE, set()
        for permission in item.get("permissions") or []:
            if not isinstance(permission, dict) or permission.get("role") == "owner":
                continue
            kind = permission.get("type")
            if kind == "anyone":
                discoverable = bool(permission.get("allowFileDiscovery"))
                level = max(level, f.PUBLIC_INTERNET if discoverable else f.PUBLIC)
            elif kind == "domain":
                domain = str(permission.get("domain") or "").lower()
                if f.is_internal_domain(domain, domains):
                    level = max(level, f.INTERNAL)
                elif domain:
                    level = max(level, f.EXTERNAL)
                    external.add(domain)
            elif kind in ("user", "group"):
                domain = f.domain_of(str(permission.get("emailAddress") or ""))
                if not domain or f.is_internal_domain(domain, domains):
                    level = max(level, f.INTERNAL)
                else:
                    level = max(level, f.EXTERNAL)
                    external.add(domain)
        mime = str(item.get("mimeType") or "")
        skip_reason, fetch = "", {}
        if mime.startswith("application/vnd.google-apps."):
            if mime in EXPORTS:
                fetch["export"] = EXPORTS[mime]
            else:
                skip_reason = "a Google " + mime.rsplit(".", 1)[-1] + " has no text to export"
        try:
            size = int(item["size"]) if item.get("size") not in (None, "") else None
        except (TypeError, ValueError):
            size = None
        return f.RemoteFile(
            external_id=text(item["id"], 300),
            name=text(item.get("name") or item["id"]),
            mime_type=text(mime, 200),
            size=size,
            modified_at=parse_time(item.get("modifiedTime")),
            owner=owner,
            location=text(item.get("webViewLink"), 1000),
            access_level=level,
            external_domains=sorted(external),
            skip_reason=skip_reason,
            fetch=fetch,
        )

    def download_file(self, remote: f.RemoteFile) -> bytes:
        file_id = governance_common.segment(remote.external_id)
        base = f"{self._drive_session().drive}/drive/v3/files/{file_id}"
        missing = f"Google Drive has no file {remote.external_id} any more (deleted since?)"
        if remote.fetch.get("export"):
            response = self._drive_get(
                base + "/export",
                doing="export the file as text",
                missing=missing,
                params={"mimeType": remote.fetch["export"]},
            )
        else:
            response = self._drive_get(
                base,
                doing="download the file",
                missing=missing,
                params={"alt": "media", "supportsAllDrives": "true"},
            )
        return response.content

    # --- Governance (the actions are in adapters/governance/) ------------------------------

    governance = governance_actions.KINDS

    def govern(self, target: ActionTarget) -> str:
        return governance_actions.govern(self, target)
