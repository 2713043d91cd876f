"""Microsoft 365: Office 365 Management Activity API, and users/groups from Microsoft Graph.

Activities: one stream per content type. A poll makes sure the subscriptions are started,
lists the content blobs created in a time window (`subscriptions/content`, at most 24 hours,
no older than 7 days, following the `NextPageUri` header), and hands over each blob's audit
records as one page, oldest blob first. The cursor holds the `contentCreated` time reached and
the ids of blobs already read inside the overlap, so a resumed poll skips them; the overlap
itself catches blobs Microsoft lists late (its listing is eventually consistent).

Directory: Graph `/users`, `/groups` and `/groups/{id}/members`, following `@odata.nextLink`.

Files (Microsoft Graph, for content inspection): every user's OneDrive through
`/users/{id}/drive/root/delta` (with `Prefer: deltashowsharingchanges`, so a sharing change
lists the item again). The cursor keeps each drive's `@odata.deltaLink` and, inside a drive,
the `@odata.nextLink` reached, so a killed scan resumes on the next page; at least every
`FULL_SCAN_HOURS` the delta links are dropped and every file is listed again (a full pass).
Each file's permissions (`/drives/{d}/items/{i}/permissions`) give its sharing level: an
anonymous link is public (Internet), an organisation link internal, a share with an address
outside the tenant's verified domains (`/organization`) external. Downloads use the item's
pre-authenticated `@microsoft.graph.downloadUrl` (SharePoint hosts only, no token sent), read
fresh from the item when the listing had none. Needs Files.Read.All and Organization.Read.All.

Hosts: login.microsoftonline.com (tokens), manage.office.com, graph.microsoft.com. A base URL
set on the instance replaces all three (a gateway, or the test suite's fake Microsoft).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from apps.accounts.directory import AccountIn, GroupIn
from apps.activities.categories import ActivityType as C
from apps.activities.events import EventIn

from .. import errors
from ..client import body_json, iso, parse_time
from ..models import Vendor
from . import files as f
from . import register
from .base import ActionTarget, Adapter, CredentialField, Directory, Page, clean_ip, skip, text
from .governance import office365 as governance_actions

CONTENT_TYPES = (
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
)
MAX_WINDOW = timedelta(hours=24)
MAX_AGE = timedelta(days=7) - timedelta(minutes=10)  # the API refuses older start times
GUID = re.compile(r"^[0-9a-fA-F-]{36}$")

# Error codes of the Management Activity API that mean "this tenant's audit log is not on".
AUDIT_OFF_CODES = {"AF20011", "AF20012", "AF20022", "AF20023"}

OPERATIONS = {
    "UserLoggedIn": C.LOGIN,
    "UserLoginFailed": C.FAILED_LOGIN,
    "UserLoggedOut": C.LOGOUT,
    "FileDownloaded": C.DOWNLOAD,
    "FileSyncDownloadedFull": C.DOWNLOAD,
    "FileSyncDownloadedPartial": C.DOWNLOAD,
    "FileUploaded": C.UPLOAD,
    "FileSyncUploadedFull": C.UPLOAD,
    "FileSyncUploadedPartial": C.UPLOAD,
    "FileAccessed": C.VIEW,
    "FileAccessedExtended": C.VIEW,
    "FilePreviewed": C.VIEW,
    "PageViewed": C.VIEW,
    "MailItemsAccessed": C.VIEW,
    "FileModified": C.EDIT,
    "FileModifiedExtended": C.EDIT,
    "FileRenamed": C.EDIT,
    "FileMoved": C.EDIT,
    "FileCopied": C.EDIT,
    "FolderCreated": C.EDIT,
    "FileDeleted": C.DELETE,
    "FileRecycled": C.DELETE,
    "FolderDeleted": C.DELETE,
    "SoftDelete": C.DELETE,
    "HardDelete": C.DELETE,
    "MoveToDeletedItems": C.DELETE,
    "SharingSet": C.SHARE,
    "SharingInvitationCreated": C.SHARE,
    "AnonymousLinkCreated": C.SHARE,
    "CompanyLinkCreated": C.SHARE,
    "SecureLinkCreated": C.SHARE,
    "AddedToSecureLink": C.SHARE,
    "SharingRevoked": C.UNSHARE,
    "AnonymousLinkRemoved": C.UNSHARE,
    "CompanyLinkRemoved": C.UNSHARE,
    "SecureLinkDeleted": C.UNSHARE,
    "RemovedFromSecureLink": C.UNSHARE,
    "Add member to group.": C.PERMISSION_CHANGE,
    "Remove member from group.": C.PERMISSION_CHANGE,
    "Add member to role.": C.PERMISSION_CHANGE,
    "Remove member from role.": C.PERMISSION_CHANGE,
    "Add-MailboxPermission": C.PERMISSION_CHANGE,
    "Add user.": C.CREATE_USER,
    "Delete user.": C.DELETE_USER,
    "Change user password.": C.PASSWORD_CHANGE,
    "Reset user password.": C.PASSWORD_CHANGE,
    "Set force change user password.": C.PASSWORD_CHANGE,
    "Update user.": C.ADMIN,
}
FORWARDING_PARAMETERS = {"forwardingsmtpaddress", "forwardingaddress", "forwardto", "redirectto"}
FORWARDING_OPERATIONS = {"Set-Mailbox", "New-InboxRule", "Set-InboxRule", "UpdateInboxRules"}
ADMIN_USER_TYPES = {2, 3}  # Admin, DcAdmin (Management Activity API schema, UserType)
ADMIN_RECORD_TYPES = {1, 8}  # ExchangeAdmin, AzureActiveDirectory (directory changes)
# Where Microsoft's pre-authenticated download URLs point (OneDrive and SharePoint).
DOWNLOAD_HOSTS = (".sharepoint.com", ".sharepoint-df.com", ".sharepoint.us", ".1drv.com")


def _properties(record: dict, key: str) -> dict[str, str]:
    """Name/Value lists (ExtendedProperties, Parameters) as a lower-cased dict."""
    result = {}
    for item in record.get(key) or []:
        if isinstance(item, dict) and item.get("Name"):
            result[str(item["Name"]).lower()] = str(item.get("Value") or "")
    return result


@register
class Office365Adapter(Adapter):
    vendor = Vendor.OFFICE365
    base_url_help = (
        "Leave empty for Microsoft's public cloud (login.microsoftonline.com, "
        "manage.office.com, graph.microsoft.com)."
    )
    credential_fields = (
        CredentialField("tenant_id", "Directory (tenant) ID", help="A GUID, from Entra ID."),
        CredentialField("client_id", "Application (client) ID", help="The app registration."),
        CredentialField(
            "client_secret",
            "Client secret",
            secret=True,
            help="Needs ActivityFeed.Read (Office 365 Management APIs) and "
            "User.Read.All, GroupMember.Read.All (Graph) application permissions; "
            "Files.Read.All and Organization.Read.All to scan files.",
        ),
    )
    streams = CONTENT_TYPES
    overlap = timedelta(minutes=15)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        override = self.base_url
        self.login_url = override or "https://login.microsoftonline.com"
        self.manage_url = override or "https://manage.office.com"
        self.graph_url = override or "https://graph.microsoft.com"
        self._tokens: dict[str, str] = {}
        self._scope = "manage"
        self._subscriptions_checked = False

    @classmethod
    def validate_credentials(cls, credentials: dict) -> dict[str, str]:
        problems = {}
        if not GUID.match(credentials.get("tenant_id", "")):
            problems["tenant_id"] = "The directory (tenant) ID is a GUID."
        if not GUID.match(credentials.get("client_id", "")):
            problems["client_id"] = "The application (client) ID is a GUID."
        return problems

    @property
    def tenant(self) -> str:
        return self.credentials.get("tenant_id", "")

    # --- Tokens (client credentials grant) ------------------------------------------------

    def _token(self, scope: str) -> str:
        token = self._tokens.get(scope)
        if token:
            return token
        resource = {"manage": self.manage_url, "graph": self.graph_url}[scope]
        if not self.credentials.get("client_secret"):
            raise errors.CredentialsRejected("no client secret is set")
        response = self.send(
            "POST",
            f"{self.login_url}/{self.tenant}/oauth2/v2.0/token",
            auth=False,
            data={
                "client_id": self.credentials.get("client_id", ""),
                "client_secret": self.credentials.get("client_secret", ""),
                "grant_type": "client_credentials",
                "scope": f"{resource}/.default",
            },
        )
        body = body_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise errors.BadResponse("the token answer had no access token")
        self._tokens[scope] = token
        return token

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token(self._scope)}"}

    def refresh_auth(self) -> bool:
        self._tokens.pop(self._scope, None)
        return True

    def classify(self, response: httpx.Response, body: Any) -> errors.ConnectorError | None:
        code, message = "", ""
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):  # Management API and Graph
                code, message = str(error.get("code", "")), str(error.get("message", ""))
            elif isinstance(error, str):  # the token endpoint (OAuth 2)
                code, message = error, str(body.get("error_description", ""))
        words = errors.clip(f"{code}: {message}" if code else message)
        is_token = "/oauth2/" in response.request.url.path
        status = response.status_code
        lowered = message.lower()
        if is_token and status in (400, 401, 403):
            return errors.CredentialsRejected(f"Microsoft refused the app's credentials ({words})")
        if code in AUDIT_OFF_CODES or ("audit" in lowered and "disabled" in lowered):
            return errors.AuditDisabled(f"Microsoft 365 answered {words}")
        if code == "AF10001" or status == 403:
            return errors.CredentialsRejected(f"a permission is missing ({words})")
        if status == 401:
            return errors.CredentialsRejected(f"Microsoft rejected the access token ({words})")
        if status == 429 or code == "AF429":
            return None  # the generic 429 handling reads Retry-After
        return None

    # --- Activities ----------------------------------------------------------------------

    def _feed(self, path: str) -> str:
        return f"{self.manage_url}/api/v1.0/{self.tenant}/activity/feed/{path}"

    def _ensure_subscriptions(self) -> None:
        """Start the subscriptions this poll reads (idempotent; Microsoft keeps them)."""
        if self._subscriptions_checked:
            return
        self._scope = "manage"
        body, _ = self.get_json(self._feed("subscriptions/list"))
        enabled = {
            s.get("contentType")
            for s in self.require_list(body, "the subscription list")
            if isinstance(s, dict) and str(s.get("status", "")).lower() == "enabled"
        }
        for content_type in self.streams:
            if content_type not in enabled:
                self.send(
                    "POST", self._feed("subscriptions/start"), params={"contentType": content_type}
                )
        self._subscriptions_checked = True

    def activities(self, stream: str, cursor: dict) -> Iterator[Page]:
        self._ensure_subscriptions()
        self._scope = "manage"
        now = self.started_at
        done: dict[str, str] = dict(cursor.get("done") or {})
        since = parse_time(cursor.get("since"))
        start = max(self.window_start(cursor), now - MAX_AGE)
        while start < now:
            end = min(start + MAX_WINDOW, now)
            blobs = sorted(
                self._list_content(stream, start, end),
                key=lambda b: (b["created"], b["id"]),
            )
            for blob in blobs:
                if blob["id"] in done:
                    continue
                events, skipped = self._read_blob(blob["uri"])
                done[blob["id"]] = iso(blob["created"])
                if since is None or blob["created"] > since:
                    since = blob["created"]
                yield Page(events, self._cursor(since, done), skipped)
            # The whole window is read: the stream is complete up to its end.
            since = end if since is None or end > since else since
            yield Page([], self._cursor(since, done))
            start = end

    def _cursor(self, since: datetime, done: dict[str, str]) -> dict:
        # Only blobs that a resumed poll could list again are worth remembering.
        horizon = since - self.overlap - timedelta(minutes=1)
        kept = {k: v for k, v in done.items() if (parse_time(v) or since) >= horizon}
        return {"since": iso(since), "done": kept}

    def _list_content(self, content_type: str, start: datetime, end: datetime) -> list[dict]:
        url: str | None = self._feed("subscriptions/content")
        params: dict | None = {
            "contentType": content_type,
            "startTime": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "endTime": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        }
        blobs, seen = [], set()
        while url:
            body, response = self.get_json(url, params=params)
            for item in self.require_list(body, "a content listing"):
                if not isinstance(item, dict):
                    continue
                blob_id, uri = item.get("contentId"), item.get("contentUri")
                created = parse_time(item.get("contentCreated"))
                if not blob_id or not uri or created is None:
                    skip(self.vendor, item, "content entry without id, URI or creation time")
                    continue
                if blob_id not in seen:
                    seen.add(blob_id)
                    blobs.append({"id": str(blob_id), "uri": uri, "created": created})
            next_url = self.follow(response.headers.get("NextPageUri"), self.manage_url)
            if next_url == url:
                break  # a page that names itself as next would loop forever
            url, params = next_url, None
        return blobs

    def _read_blob(self, uri: str) -> tuple[list[EventIn], int]:
        body, _ = self.get_json(self.follow(uri, self.manage_url))
        events, skipped = [], 0
        for record in self.require_list(body, "a content blob"):
            event = self.event(record)
            if event is None:
                skipped += 1
            else:
                events.append(event)
        return events, skipped

    def event(self, record: Any) -> EventIn | None:
        if not isinstance(record, dict):
            skip(self.vendor, record, "not an object")
            return None
        record_id, created = record.get("Id"), parse_time(record.get("CreationTime"))
        operation = record.get("Operation")
        if not record_id or created is None or not operation:
            skip(self.vendor, record, "no Id, CreationTime or Operation")
            return None
        extended = _properties(record, "ExtendedProperties")
        parameters = _properties(record, "Parameters")
        category = OPERATIONS.get(operation, C.OTHER)
        if operation in FORWARDING_OPERATIONS and FORWARDING_PARAMETERS & {
            k for k, v in parameters.items() if v and v.lower() not in ("$null", "false")
        }:
            category = C.MAIL_FORWARDING
        elif category == C.OTHER and record.get("RecordType") == 1:
            category = C.ADMIN  # an Exchange admin cmdlet
        result = str(record.get("ResultStatus") or extended.get("resultstatusdetail") or "")
        succeeded = {
            "succeeded": True,
            "success": True,
            "true": True,
            "partiallysucceeded": True,
            "failed": False,
            "failure": False,
            "false": False,
        }.get(result.lower())
        if category == C.LOGIN and succeeded is False:
            category = C.FAILED_LOGIN
        user_type = record.get("UserType")
        object_name = record.get("SourceFileName") or record.get("ObjectId") or ""
        return EventIn(
            source_event_id=text(record_id, 200),
            occurred_at=created,
            action_type=text(operation, 120),
            activity_type=category,
            actor=text(record.get("UserId"), 254),
            # UserKey is a PUID or a SID depending on the workload, never the Graph id the
            # directory lists: the actor is matched by UPN instead.
            ip=clean_ip(record.get("ClientIP") or record.get("ActorIpAddress")),
            user_agent=text(record.get("UserAgent") or extended.get("useragent"), 2000),
            succeeded=succeeded,
            is_admin=user_type in ADMIN_USER_TYPES
            or (
                record.get("RecordType") in ADMIN_RECORD_TYPES
                and category not in (C.LOGIN, C.FAILED_LOGIN, C.LOGOUT)
            ),
            object_name=text(object_name),
            object_type=text(record.get("ItemType") or record.get("Workload"), 60),
            object_id=text(record.get("ObjectId"), 300),
            raw=record,
        )

    # --- Directory (Microsoft Graph) ------------------------------------------------------

    def _graph_all(self, path: str, params: dict) -> Iterator[dict]:
        self._scope = "graph"
        url: str | None = f"{self.graph_url}/v1.0/{path}"
        query: dict | None = params
        while url:
            body, _ = self.get_json(url, params=query)
            body = self.require_dict(body, "a Graph page")
            for item in self.require_list(body.get("value"), "a Graph value list"):
                if isinstance(item, dict) and item.get("id"):
                    yield item
            url, query = self.follow(body.get("@odata.nextLink"), self.graph_url), None

    def directory(self) -> Directory:
        groups, memberships = [], {}
        for group in self._graph_all(
            "groups", {"$select": "id,displayName,description", "$top": 999}
        ):
            groups.append(
                GroupIn(
                    external_id=str(group["id"]),
                    name=text(group.get("displayName") or group["id"], 200),
                    description=text(group.get("description")),
                )
            )
            for member in self._graph_all(
                f"groups/{group['id']}/members", {"$select": "id", "$top": 999}
            ):
                memberships.setdefault(str(member["id"]), []).append(str(group["id"]))
        accounts = []
        select = "id,userPrincipalName,mail,displayName,department,accountEnabled"
        for user in self._graph_all("users", {"$select": select, "$top": 999}):
            accounts.append(
                AccountIn(
                    external_id=str(user["id"]),
                    username=text(user.get("userPrincipalName"), 254),
                    email=text(user.get("mail"), 254),
                    display_name=text(user.get("displayName"), 200),
                    department=text(user.get("department"), 200),
                    status="suspended" if user.get("accountEnabled") is False else "active",
                    group_ids=memberships.get(str(user["id"]), []),
                )
            )
        return Directory(accounts=accounts, groups=groups, complete=True)

    # --- Files (Microsoft Graph, OneDrive) --------------------------------------------------

    def _verified_domains(self) -> set[str]:
        found = getattr(self, "_domains", None)
        if found is None:
            found = set()
            for org in self._graph_all("organization", {"$select": "id,verifiedDomains"}):
                for domain in org.get("verifiedDomains") or []:
                    if isinstance(domain, dict) and domain.get("name"):
                        found.add(str(domain["name"]).lower())
            self._domains = found
        return found

    def list_files(self, cursor: dict) -> Iterator[f.FilePage]:
        now = self.started_at
        links: dict[str, str] = dict(cursor.get("links") or {})
        full_at = parse_time(cursor.get("full_at"))
        full_started = parse_time(cursor.get("full_started"))
        current, resume = cursor.get("current") or "", cursor.get("next") or ""
        if full_started is None and (
            full_at is None or now - full_at >= timedelta(hours=f.FULL_SCAN_HOURS)
        ):
            # A full pass: every drive listed again from its start.
            full_started, links, current, resume = now, {}, "", ""

        def position(**extra) -> dict:
            state = {"links": dict(links), **extra}
            if full_at:
                state["full_at"] = iso(full_at)
            if full_started:
                state["full_started"] = iso(full_started)
            return state

        select = "id,userPrincipalName,mail"
        users = sorted(
            (u for u in self._graph_all("users", {"$select": select, "$top": 999})),
            key=lambda u: str(u["id"]),
        )
        for user in users:
            user_id = str(user["id"])
            owner = text(user.get("mail") or user.get("userPrincipalName"), 254)
            if current == user_id and resume:
                url: str | None = self.follow(resume, self.graph_url)
            elif links.get(user_id):
                url = self.follow(links[user_id], self.graph_url)
            else:
                url = f"{self.graph_url}/v1.0/users/{user_id}/drive/root/delta"
            current = ""
            while url:
                self._scope = "graph"
                try:
                    body, _ = self.get_json(url, headers={"Prefer": "deltashowsharingchanges"})
                except errors.ConnectorError as exc:
                    if exc.http_status == 404:  # no OneDrive (no licence, never signed in)
                        break
                    raise
                body = self.require_dict(body, "a drive delta page")
                listed, skipped = [], 0
                for item in self.require_list(body.get("value"), "a drive delta page"):
                    if not isinstance(item, dict) or "file" not in item or "deleted" in item:
                        continue  # folders, the root, deletions
                    remote = self._remote_file(item, owner, user_id)
                    if remote is None:
                        skipped += 1
                    else:
                        listed.append(remote)
                following = self.follow(body.get("@odata.nextLink"), self.graph_url)
                if following:
                    yield f.FilePage(listed, position(current=user_id, next=following), skipped)
                    url = following
                    continue
                delta = body.get("@odata.deltaLink")
                if delta:
                    links[user_id] = str(self.follow(delta, self.graph_url))
                yield f.FilePage(listed, position(), skipped)
                url = None
        if full_started:
            full_at, full_started = full_started, None
        yield f.FilePage([], position())

    def _remote_file(self, item: dict, owner: str, user_id: str) -> f.RemoteFile | None:
        parent = item.get("parentReference") or {}
        drive_id = str(parent.get("driveId") or "") if isinstance(parent, dict) else ""
        if not item.get("id") or not drive_id:
            skip(self.vendor, item, "a drive item without an id or a drive id")
            return None
        internal = self._verified_domains() | ({f.domain_of(owner)} - {""})
        level, external = f.PRIVATE, set()
        permissions_url = f"{self.graph_url}/v1.0/drives/{drive_id}/items/{item['id']}/permissions"
        for permission in self._graph_all_url(permissions_url):
            roles = permission.get("roles") or []
            if "owner" in roles or permission.get("inheritedFrom"):
                continue
            link = permission.get("link") if isinstance(permission.get("link"), dict) else {}
            scope = str(link.get("scope") or "").lower()
            if scope == "anonymous":
                level = max(level, f.PUBLIC_INTERNET)
            elif scope == "organization":
                level = max(level, f.INTERNAL)
            identities = list(permission.get("grantedToIdentitiesV2") or [])
            if permission.get("grantedToV2"):
                identities.append(permission["grantedToV2"])
            for identity in identities:
                if not isinstance(identity, dict):
                    continue
                person = identity.get("siteUser") or identity.get("user") or {}
                address = str(person.get("email") or "") if isinstance(person, dict) else ""
                domain = f.domain_of(address)
                if domain and not f.is_internal_domain(domain, internal):
                    level = max(level, f.EXTERNAL)
                    external.add(domain)
                else:
                    level = max(level, f.INTERNAL)
        try:
            size = int(item["size"]) if item.get("size") is not None else None
        except (TypeError, ValueError):
            size = None
        file_facet = item.get("file") if isinstance(item.get("file"), dict) else {}
        download = item.get("@microsoft.graph.downloadUrl")
        return f.RemoteFile(
            external_id=text(item["id"], 300),
            name=text(item.get("name") or item["id"]),
            mime_type=text(file_facet.get("mimeType"), 200),
            size=size,
            modified_at=parse_time(item.get("lastModifiedDateTime")),
            owner=owner,
            owner_id=user_id,
            location=text(item.get("webUrl"), 1000),
            access_level=level,
            external_domains=sorted(external),
            fetch={"drive_id": drive_id, **({"url": download} if download else {})},
        )

    def _graph_all_url(self, url: str) -> Iterator[dict]:
        self._scope = "graph"
        following: str | None = url
        while following:
            body, _ = self.get_json(following)
            body = self.require_dict(body, "a Graph page")
            for item in self.require_list(body.get("value"), "a Graph value list"):
                if isinstance(item, dict):
                    yield item
            following = self.follow(body.get("@odata.nextLink"), self.graph_url)

    def _download_url(self, url: str) -> str:
        """A download URL we may fetch: Microsoft's SharePoint hosts, or the Graph host."""
        try:
            target, graph = httpx.URL(url), httpx.URL(self.graph_url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise errors.BadResponse("the app sent a download link we could not read") from exc
        same = (target.scheme, target.host, target.port) == (graph.scheme, graph.host, graph.port)
        trusted = target.scheme == "https" and target.host.endswith(DOWNLOAD_HOSTS)
        if not (same or trusted):
            raise errors.BadResponse(
                f"the app sent a download link to another host ({target.host}); not followed"
            )
        return url

    def _fresh_download_url(self, remote: f.RemoteFile) -> str:
        self._scope = "graph"
        drive = remote.fetch.get("drive_id", "")
        body, _ = self.get_json(
            f"{self.graph_url}/v1.0/drives/{drive}/items/{remote.external_id}",
            params={"$select": "id,@microsoft.graph.downloadUrl"},
        )
        url = self.require_dict(body, "a drive item").get("@microsoft.graph.downloadUrl")
        if not url:
            raise errors.BadResponse("the app gave no download link for the file")
        return str(url)

    def download_file(self, remote: f.RemoteFile) -> bytes:
        # Pre-authenticated links: no Authorization header goes to the download host. A
        # listed link lives about an hour; an expired one is read fresh from the item once.
        url = remote.fetch.get("url")
        if url:
            try:
                return self.client.request("GET", self._download_url(str(url))).content
            except errors.ConnectorError as exc:
                if exc.http_status not in (401, 403, 404):
                    raise
        url = self._fresh_download_url(remote)
        return self.client.request("GET", self._download_url(url)).content

    # --- Governance (the actions are in adapters/governance/) ------------------------------

    governance = governance_actions.KINDS

    def govern(self, target: ActionTarget) -> str:
        return governance_actions.govern(self, target)
