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
from . import register
from .base import ActionTarget, Adapter, CredentialField, Directory, Page, clean_ip, skip, text
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
            "Reports and Directory read-only scopes. Paste the whole JSON.",
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

    # --- Governance (the actions are in adapters/governance/) ------------------------------

    governance = governance_actions.KINDS

    def govern(self, target: ActionTarget) -> str:
        return governance_actions.govern(self, target)
