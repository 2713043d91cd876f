"""A fake Microsoft 365: Entra ID token endpoint, Office 365 Management Activity API
(subscriptions, content listing with NextPageUri, content blobs) and Microsoft Graph, including
OneDrive files for content inspection (`/users/{id}/drive/root/delta` with delta links, item
permissions, pre-authenticated download URLs)."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
import uuid

from .server import FakeServer, Request, Response

TENANT = "41f0a6b3-8f2a-4c1e-9a0b-3c8d2e1f7a55"
CLIENT = "7c5e1d2a-0b3f-4e6a-9d8c-1a2b3c4d5e6f"
FEED = f"/api/v1.0/{TENANT}/activity/feed"


def stamp(moment: dt.datetime) -> str:
    """The API's own format: UTC without an offset."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


class FakeOffice365(FakeServer):
    def __init__(self, *args, **kwargs):
        self.client_secret = "s3cr3t~Value.from.Entra"
        self.tokens: set[str] = set()
        self._counter = itertools.count(1)
        self.subscriptions: dict[str, str] = {}
        self.blobs: list[dict] = []  # contentType, contentId, contentCreated, records
        self.users: list[dict] = []
        self.groups: list[dict] = []
        self.members: dict[str, list[str]] = {}
        # Governance state (Microsoft Graph) and every change made to it, in order.
        self.verified_domains = ["contoso.test"]
        self.items: dict[str, dict] = {}  # drive item id -> item (with its "permissions")
        self.service_principals: list[dict] = []
        self.grants: list[dict] = []  # oauth2PermissionGrants
        self.risky: dict[str, str] = {}  # user id -> risk level
        self.changes: list[tuple[str, str]] = []
        # OneDrive (content inspection): user id -> drive id, item contents and change numbers.
        self.drives: dict[str, str] = {}
        self.contents: dict[str, bytes] = {}
        self.item_seq: dict[str, int] = {}
        self._seq = itertools.count(1)
        self.downloads: list[str] = []
        super().__init__(*args, **kwargs)

    def credentials(self) -> dict:
        return {"tenant_id": TENANT, "client_id": CLIENT, "client_secret": self.client_secret}

    def routes(self):
        return [
            ("POST", rf"/{TENANT}/oauth2/v2\.0/token", self.token),
            ("GET", rf"{FEED}/subscriptions/list", self.list_subscriptions),
            ("POST", rf"{FEED}/subscriptions/start", self.start_subscription),
            ("GET", rf"{FEED}/subscriptions/content", self.list_content),
            ("GET", rf"{FEED}/audit/(?P<content_id>[^/]+)", self.blob),
            ("GET", r"/v1\.0/users", self.graph_users),
            ("GET", r"/v1\.0/groups", self.graph_groups),
            ("GET", r"/v1\.0/groups/(?P<group_id>[^/]+)/members", self.graph_members),
            # Governance
            ("GET", r"/v1\.0/users/(?P<user_id>[^/]+)", self.get_user),
            ("PATCH", r"/v1\.0/users/(?P<user_id>[^/]+)", self.patch_user),
            ("POST", r"/v1\.0/users/(?P<user_id>[^/]+)/revokeSignInSessions", self.revoke_sessions),
            (
                "POST",
                r"/v1\.0/identityProtection/riskyUsers/confirmCompromised",
                self.confirm_compromised,
            ),
            ("GET", r"/v1\.0/organization", self.organization),
            ("GET", r"/v1\.0/shares/(?P<token>[^/]+)/driveItem", self.shared_item),
            ("GET", r"/v1\.0/drives/(?P<drive>[^/]+)/items/(?P<item>[^/]+)", self.get_item),
            ("PATCH", r"/v1\.0/drives/(?P<drive>[^/]+)/items/(?P<item>[^/]+)", self.move_item),
            (
                "GET",
                r"/v1\.0/drives/(?P<drive>[^/]+)/items/(?P<item>[^/]+)/permissions",
                self.list_permissions,
            ),
            (
                "DELETE",
                r"/v1\.0/drives/(?P<drive>[^/]+)/items/(?P<item>[^/]+)/permissions/(?P<pid>[^/]+)",
                self.delete_permission,
            ),
            ("GET", r"/v1\.0/drives/(?P<drive>[^/]+)/root:/(?P<name>[^/]+)", self.root_child),
            ("POST", r"/v1\.0/drives/(?P<drive>[^/]+)/root/children", self.create_folder),
            # OneDrive files (content inspection)
            ("GET", r"/v1\.0/users/(?P<user_id>[^/]+)/drive/root/delta", self.drive_delta),
            ("GET", r"/download/(?P<item>[^/]+)", self.download),
            ("GET", r"/v1\.0/servicePrincipals", self.list_service_principals),
            ("GET", r"/v1\.0/oauth2PermissionGrants", self.list_grants),
            ("DELETE", r"/v1\.0/oauth2PermissionGrants/(?P<grant_id>[^/]+)", self.delete_grant),
        ]

    # --- Data ----------------------------------------------------------------------------

    def record(
        self,
        created: dt.datetime,
        operation: str = "FileDownloaded",
        *,
        user: str = "ann@contoso.test",
        ip: str = "81.2.69.142:50213",
        workload: str = "SharePoint",
        **extra,
    ) -> dict:
        record = {
            "CreationTime": stamp(created),
            "Id": str(uuid.uuid4()),
            "Operation": operation,
            "OrganizationId": TENANT,
            "RecordType": 6,
            "UserKey": "i:0h.f|membership|10032001a1b2c3d4@live.com",
            "UserType": 0,
            "Version": 1,
            "Workload": workload,
            "ClientIP": ip,
            "ObjectId": "https://contoso.sharepoint.com/sites/hr/Shared Documents/pay.xlsx",
            "UserId": user,
            "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1.15",
            "ItemType": "File",
            "SourceFileName": "pay.xlsx",
            "SiteUrl": "https://contoso.sharepoint.com/sites/hr/",
        }
        record.update(extra)
        return record

    def add_blob(self, content_type: str, created: dt.datetime, records: list[dict]) -> dict:
        blob = {
            "contentType": content_type,
            "contentId": f"{created:%Y%m%d%H%M%S}{uuid.uuid4().hex[:12]}$x",
            "contentCreated": created,
            "records": records,
        }
        self.blobs.append(blob)
        return blob

    def add_user(
        self, user_id: str, upn: str, *, name="Ann Lee", department="", enabled=True, groups=()
    ) -> dict:
        user = {
            "id": user_id,
            "userPrincipalName": upn,
            "mail": upn,
            "displayName": name,
            "department": department or None,
            "accountEnabled": enabled,
        }
        self.users.append(user)
        for group in groups:
            self.members.setdefault(group, []).append(user_id)
        return user

    def add_group(self, group_id: str, name: str, description: str = "") -> None:
        self.groups.append({"id": group_id, "displayName": name, "description": description})

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # --- Handlers ------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = request.form
        if form.get("client_secret") != self.client_secret or form.get("client_id") != CLIENT:
            return Response(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. "
                    "Ensure the secret being sent in the request is the client secret value.",
                    "error_codes": [7000215],
                },
            )
        token = f"eyJ0.fake.{next(self._counter)}"
        self.tokens.add(token)
        return Response(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def _auth(self, request: Request, graph: bool = False) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            if graph:
                return Response(
                    401,
                    {
                        "error": {
                            "code": "InvalidAuthenticationToken",
                            "message": "Access token has expired or is not yet valid.",
                        }
                    },
                )
            return Response(
                401, {"error": {"code": "AF10001", "message": "The access token has expired."}}
            )
        return None

    def list_subscriptions(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        return Response(
            200,
            [
                {"contentType": ct, "status": status, "webhook": None}
                for ct, status in self.subscriptions.items()
            ],
        )

    def start_subscription(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        if self.audit_disabled:
            return Response(
                400,
                {
                    "error": {
                        "code": "AF20012",
                        "message": f"Specified tenant ID ({TENANT}) is incorrectly "
                        "configured in the system: audit logging is "
                        "disabled.",
                    }
                },
            )
        content_type = request.query["contentType"]
        self.subscriptions[content_type] = "enabled"
        return Response(200, {"contentType": content_type, "status": "enabled", "webhook": None})

    def list_content(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        content_type = request.query["contentType"]
        if self.subscriptions.get(content_type) != "enabled":
            return Response(
                400,
                {
                    "error": {
                        "code": "AF20022",
                        "message": "No subscription found for the specified content type",
                    }
                },
            )
        start, end = parse(request.query["startTime"]), parse(request.query["endTime"])
        if end - start > dt.timedelta(hours=24) or end <= start:
            return Response(
                400,
                {
                    "error": {
                        "code": "AF20055",
                        "message": "Start time and end "
                        "time must both be specified (or both omitted) and "
                        "must be less than or equal to 24 hours apart.",
                    }
                },
            )
        listed = [
            b
            for b in sorted(self.blobs, key=lambda b: (b["contentCreated"], b["contentId"]))
            if b["contentType"] == content_type and start <= b["contentCreated"] < end
        ]
        offset = int(request.query.get("nextPage", 0))
        chunk, following = self.page(listed, offset)
        headers = {}
        if following is not None:
            query = {**request.query, "nextPage": str(following)}
            headers["NextPageUri"] = self.url(f"{FEED}/subscriptions/content", query)
        return Response(
            200,
            [
                {
                    "contentType": b["contentType"],
                    "contentId": b["contentId"],
                    "contentUri": self.url(f"{FEED}/audit/{b['contentId']}"),
                    "contentCreated": stamp(b["contentCreated"]) + ".000Z",
                    "contentExpiration": stamp(b["contentCreated"] + dt.timedelta(days=7))
                    + ".000Z",
                }
                for b in chunk
            ],
            headers,
        )

    def blob(self, request: Request, content_id: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        for blob in self.blobs:
            if blob["contentId"] == content_id:
                return Response(200, blob["records"])
        return Response(
            404, {"error": {"code": "AF20050", "message": "The specified content does not exist."}}
        )

    def _graph(self, request: Request, path: str, items: list) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        offset = int(request.query.get("$skiptoken", 0))
        chunk, following = self.page(items, offset)
        body = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{path}",
            "value": chunk,
        }
        if following is not None:
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = self.url(path, {**query, "$skiptoken": str(following)})
        return Response(200, body)

    def graph_users(self, request: Request) -> Response:
        return self._graph(request, "/v1.0/users", self.users)

    def graph_groups(self, request: Request) -> Response:
        return self._graph(request, "/v1.0/groups", self.groups)

    def graph_members(self, request: Request, group_id: str) -> Response:
        members = [
            {"@odata.type": "#microsoft.graph.user", "id": uid}
            for uid in self.members.get(group_id, [])
        ]
        return self._graph(request, f"/v1.0/groups/{group_id}/members", members)

    # --- Governance data -------------------------------------------------------------------

    def add_file(self, url: str, name: str, permissions: list[dict], drive: str = "b!drive1"):
        item = {
            "id": f"01{uuid.uuid4().hex[:14].upper()}",
            "name": name,
            "webUrl": url,
            "parentReference": {"driveId": drive, "id": f"{drive}-root"},
            "permissions": permissions,
        }
        self.items[item["id"]] = item
        return item

    @staticmethod
    def share(email: str = "", *, link: str = "", role: str = "read", inherited=False) -> dict:
        """A permission: a link ("anonymous", "organization", "users") or a user share."""
        permission: dict = {"id": uuid.uuid4().hex[:12], "roles": [role]}
        if link:
            permission["link"] = {"scope": link, "type": "view", "webUrl": "https://x.test/l"}
        if email:
            identity = {"siteUser": {"email": email, "displayName": email.split("@")[0]}}
            if link:
                permission["grantedToIdentitiesV2"] = [identity]
            else:
                permission["grantedToV2"] = identity
        if inherited:
            permission["inheritedFrom"] = {"driveId": "b!drive1", "id": "root"}
        return permission

    def add_app(self, app_id: str, name: str) -> dict:
        principal = {"id": str(uuid.uuid4()), "appId": app_id, "displayName": name}
        self.service_principals.append(principal)
        return principal

    def add_grant(self, principal: dict, user_id: str | None) -> dict:
        grant = {
            "id": uuid.uuid4().hex,
            "clientId": principal["id"],
            "consentType": "Principal" if user_id else "AllPrincipals",
            "principalId": user_id,
            "resourceId": "00000003-graph",
            "scope": "Mail.Read offline_access",
        }
        self.grants.append(grant)
        return grant

    # --- Governance handlers ---------------------------------------------------------------

    @staticmethod
    def _graph_error(status: int, code: str, message: str) -> Response:
        return Response(status, {"error": {"code": code, "message": message}})

    def _user(self, user_id: str) -> dict | None:
        return next((u for u in self.users if user_id in (u["id"], u["userPrincipalName"])), None)

    def _missing_user(self, user_id: str) -> Response:
        return self._graph_error(
            404,
            "Request_ResourceNotFound",
            f"Resource '{user_id}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )

    def get_user(self, request: Request, user_id: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        user = self._user(user_id)
        return Response(200, user) if user else self._missing_user(user_id)

    def patch_user(self, request: Request, user_id: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        user = self._user(user_id)
        if user is None:
            return self._missing_user(user_id)
        changes = json.loads(request.body or b"{}")
        if "accountEnabled" in changes:
            user["accountEnabled"] = bool(changes["accountEnabled"])
            self.changes.append(("enabled" if user["accountEnabled"] else "disabled", user["id"]))
        return Response(204, b"")

    def revoke_sessions(self, request: Request, user_id: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        user = self._user(user_id)
        if user is None:
            return self._missing_user(user_id)
        self.changes.append(("sessions revoked", user["id"]))
        return Response(200, {"@odata.context": "x", "value": True})

    def confirm_compromised(self, request: Request) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        for user_id in json.loads(request.body or b"{}").get("userIds") or []:
            self.risky[user_id] = "high"
            self.changes.append(("compromised", user_id))
        return Response(204, b"")

    def organization(self, request: Request) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        domains = [{"name": d, "isDefault": i == 0} for i, d in enumerate(self.verified_domains)]
        return Response(200, {"value": [{"id": TENANT, "verifiedDomains": domains}]})

    def _item(self, item_id: str) -> dict | None:
        return self.items.get(item_id)

    def _missing_item(self) -> Response:
        return self._graph_error(404, "itemNotFound", "The resource could not be found.")

    @staticmethod
    def _public(item: dict) -> dict:
        return {k: v for k, v in item.items() if k not in ("permissions", "children")}

    def shared_item(self, request: Request, token: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        if not token.startswith("u!"):
            return self._graph_error(400, "invalidRequest", "Invalid shares token")
        raw = token[2:] + "=" * (-len(token[2:]) % 4)
        url = base64.urlsafe_b64decode(raw).decode()
        item = next((i for i in self.items.values() if i.get("webUrl") == url), None)
        return Response(200, self._public(item)) if item else self._missing_item()

    def get_item(self, request: Request, drive: str, item: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        found = self._item(item)
        return Response(200, self._public(found)) if found else self._missing_item()

    def move_item(self, request: Request, drive: str, item: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        found = self._item(item)
        if found is None:
            return self._missing_item()
        parent = (json.loads(request.body or b"{}").get("parentReference") or {}).get("id")
        if parent:
            found["parentReference"] = {**found["parentReference"], "id": parent}
            self.changes.append(("moved", f"{item}->{parent}"))
        return Response(200, self._public(found))

    def list_permissions(self, request: Request, drive: str, item: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        found = self._item(item)
        if found is None:
            return self._missing_item()
        return self._graph(
            request, f"/v1.0/drives/{drive}/items/{item}/permissions", found["permissions"]
        )

    def delete_permission(self, request: Request, drive: str, item: str, pid: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        found = self._item(item)
        permission = next((p for p in (found or {}).get("permissions", []) if p["id"] == pid), None)
        if permission is None:
            return self._missing_item()
        if permission.get("inheritedFrom"):
            return self._graph_error(
                400, "invalidRequest", "Cannot delete an inherited permission."
            )
        found["permissions"].remove(permission)
        self.changes.append(("unshared", f"{item}:{pid}"))
        return Response(204, b"")

    def root_child(self, request: Request, drive: str, name: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        folder = next(
            (
                i
                for i in self.items.values()
                if i.get("folder") is not None
                and i["name"] == name
                and i["parentReference"]["id"] == f"{drive}-root"
            ),
            None,
        )
        return Response(200, self._public(folder)) if folder else self._missing_item()

    def create_folder(self, request: Request, drive: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        body = json.loads(request.body or b"{}")
        clash = any(
            i["name"] == body.get("name") and i["parentReference"]["id"] == f"{drive}-root"
            for i in self.items.values()
        )
        if clash:
            return self._graph_error(409, "nameAlreadyExists", "The name already exists.")
        folder = {
            "id": f"01F{uuid.uuid4().hex[:13].upper()}",
            "name": body.get("name"),
            "folder": {"childCount": 0},
            "parentReference": {"driveId": drive, "id": f"{drive}-root"},
            "permissions": [],
        }
        self.items[folder["id"]] = folder
        self.changes.append(("folder created", folder["name"]))
        return Response(201, self._public(folder))

    @staticmethod
    def _eq_filter(request: Request, field: str) -> str | None:
        match = re.fullmatch(rf"{field} eq '([^']*)'", request.query.get("$filter", ""))
        return match.group(1) if match else None

    def list_service_principals(self, request: Request) -> Response:
        wanted = self._eq_filter(request, "appId")
        found = [p for p in self.service_principals if wanted in (None, p["appId"])]
        return self._graph(request, "/v1.0/servicePrincipals", found)

    def list_grants(self, request: Request) -> Response:
        wanted = self._eq_filter(request, "clientId")
        found = [g for g in self.grants if wanted in (None, g["clientId"])]
        return self._graph(request, "/v1.0/oauth2PermissionGrants", found)

    def delete_grant(self, request: Request, grant_id: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        grant = next((g for g in self.grants if g["id"] == grant_id), None)
        if grant is None:
            return self._graph_error(404, "Request_ResourceNotFound", "Resource not found.")
        self.grants.remove(grant)
        self.changes.append(("grant deleted", grant_id))
        return Response(204, b"")

    # --- OneDrive files (content inspection) -------------------------------------------------

    def add_drive_file(
        self,
        user_id: str,
        name: str,
        content: bytes,
        *,
        permissions: list[dict] | None = None,
        mime: str = "text/plain",
        modified: dt.datetime | None = None,
        size: int | None = None,
    ) -> dict:
        """A file in the user's OneDrive (the drive is created with the first file)."""
        drive = self.drives.setdefault(user_id, f"b!{user_id[:8]}")
        item = self.add_file(
            f"https://contoso-my.sharepoint.com/personal/{user_id[:8]}/Documents/{name}",
            name,
            list(permissions or []),
            drive=drive,
        )
        item.update(
            {
                "file": {"mimeType": mime},
                "size": size if size is not None else len(content),
                "lastModifiedDateTime": stamp(modified or dt.datetime.now(dt.UTC)) + "Z",
                "@microsoft.graph.downloadUrl": self.url(f"/download/{item['id']}"),
            }
        )
        self.contents[item["id"]] = content
        self.item_seq[item["id"]] = next(self._seq)
        return item

    def touch_drive_file(self, item_id: str, content: bytes | None = None) -> None:
        """A change: new content (or only a sharing change), listed again by delta."""
        item = self.items[item_id]
        if content is not None:
            self.contents[item_id] = content
            item["size"] = len(content)
            item["lastModifiedDateTime"] = stamp(dt.datetime.now(dt.UTC)) + "Z"
        self.item_seq[item_id] = next(self._seq)

    def drive_delta(self, request: Request, user_id: str) -> Response:
        denied = self._auth(request, graph=True)
        if denied:
            return denied
        drive = self.drives.get(user_id)
        if drive is None:
            return self._graph_error(404, "itemNotFound", "The resource could not be found.")
        after = int(request.query.get("token") or 0)
        changed = sorted(
            (
                (seq, item_id)
                for item_id, seq in self.item_seq.items()
                if seq > after and self.items[item_id]["parentReference"]["driveId"] == drive
            ),
        )
        listed = (
            [{"id": f"{drive}-root", "root": {}, "folder": {"childCount": 0}}] if not after else []
        )
        listed += [self._public(self.items[item_id]) for _seq, item_id in changed]
        offset = int(request.query.get("$skiptoken", 0))
        chunk, following = self.page(listed, offset)
        path = f"/v1.0/users/{user_id}/drive/root/delta"
        body: dict = {"@odata.context": "x", "value": chunk}
        if following is not None:
            body["@odata.nextLink"] = self.url(
                path, {"token": str(after), "$skiptoken": str(following)}
            )
        else:
            newest = max([after, *(seq for seq, _ in changed)])
            body["@odata.deltaLink"] = self.url(path, {"token": str(newest)})
        return Response(200, body)

    def download(self, request: Request, item: str) -> Response:
        if "authorization" in request.headers:  # pre-authenticated URLs take no token
            return self._graph_error(400, "invalidRequest", "Unexpected Authorization header")
        if item not in self.contents:
            return self._missing_item()
        self.downloads.append(item)
        return Response(200, self.contents[item], {"Content-Type": "application/octet-stream"})
