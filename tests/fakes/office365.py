"""A fake Microsoft 365: Entra ID token endpoint, Office 365 Management Activity API
(subscriptions, content listing with NextPageUri, content blobs) and Microsoft Graph."""

from __future__ import annotations

import datetime as dt
import itertools
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
