"""A fake Okta org: System Log (/api/v1/logs), users, groups; SSWS API token."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlencode

from .server import FakeServer, Request, Response


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeOkta(FakeServer):
    def __init__(self, *args, **kwargs):
        self.api_token = "00okta-secret-token"
        self.events: list[dict] = []
        self.users: list[dict] = []
        self.groups: list[dict] = []
        self.members: dict[str, list[str]] = {}
        super().__init__(*args, **kwargs)

    def routes(self):
        return [
            ("GET", r"/api/v1/logs", self.logs),
            ("GET", r"/api/v1/users", self.list_users),
            ("GET", r"/api/v1/groups", self.list_groups),
            ("GET", r"/api/v1/groups/(?P<group_id>[^/]+)/users", self.group_users),
        ]

    # --- Data ----------------------------------------------------------------------------

    def add_event(
        self,
        published: dt.datetime,
        event_type: str = "user.session.start",
        *,
        actor: str = "ann@acme.test",
        actor_id: str = "00u1",
        result: str = "SUCCESS",
        ip: str = "81.2.69.142",
        target: str = "Salesforce",
    ) -> dict:
        event = {
            "uuid": str(uuid.uuid4()),
            "published": iso(published),
            "eventType": event_type,
            "version": "0",
            "severity": "INFO",
            "displayMessage": "User login to Okta",
            "actor": {
                "id": actor_id,
                "type": "User",
                "alternateId": actor,
                "displayName": actor.split("@")[0].title(),
                "detailEntry": None,
            },
            "client": {
                "userAgent": {
                    "rawUserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0",
                    "os": "Windows 10",
                    "browser": "CHROME",
                },
                "zone": "null",
                "device": "Computer",
                "id": None,
                "ipAddress": ip,
                "geographicalContext": {"country": "United Kingdom"},
            },
            "outcome": {"result": result, "reason": None},
            "target": [
                {"id": "0oa1", "type": "AppInstance", "alternateId": target, "displayName": target}
            ],
            "transaction": {"type": "WEB", "id": "Wn4f", "detail": {}},
            "debugContext": {"debugData": {}},
            "authenticationContext": {"authenticationStep": 0, "externalSessionId": "x"},
            "securityContext": {},
            "request": {"ipChain": [{"ip": ip}]},
        }
        self.events.append(event)
        return event

    def add_user(
        self,
        user_id: str,
        login: str,
        *,
        first="Ann",
        last="Lee",
        department="",
        status="ACTIVE",
        groups=(),
    ) -> dict:
        user = {
            "id": user_id,
            "status": status,
            "created": "2024-01-01T00:00:00.000Z",
            "profile": {
                "login": login,
                "email": login,
                "firstName": first,
                "lastName": last,
                "department": department,
            },
        }
        self.users.append(user)
        for group in groups:
            self.members.setdefault(group, []).append(user_id)
        return user

    def add_group(self, group_id: str, name: str, description: str = "") -> None:
        self.groups.append(
            {
                "id": group_id,
                "type": "OKTA_GROUP",
                "profile": {"name": name, "description": description},
            }
        )

    # --- Handlers ------------------------------------------------------------------------

    def _auth(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"SSWS {self.api_token}":
            return Response(
                401,
                {
                    "errorCode": "E0000011",
                    "errorSummary": "Invalid token provided",
                    "errorLink": "E0000011",
                    "errorId": "oae1",
                    "errorCauses": [],
                },
            )
        return None

    def _links(self, path: str, query: dict, after: int | None) -> dict:
        links = [f'<{self.url(path, query)}>; rel="self"']
        if after is not None:
            links.append(f'<{self.url(path, {**query, "after": str(after)})}>; rel="next"')
        return {"Link": ", ".join(links)}

    def logs(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        if self.audit_disabled:
            return Response(
                403,
                {
                    "errorCode": "E0000006",
                    "errorSummary": "You do not have permission to perform the requested action",
                    "errorCauses": [],
                },
            )
        since = parse(request.query["since"]) if "since" in request.query else None
        ordered = sorted(self.events, key=lambda e: (e["published"], e["uuid"]))
        if since is not None:
            ordered = [e for e in ordered if parse(e["published"]) >= since]
        offset = int(request.query.get("after", 0))
        chunk, _ = self.page(ordered, offset)
        query = {k: v for k, v in request.query.items() if k != "after"}
        # Polling mode: a next link is always there; past the end it gives an empty page.
        following = min(offset + self.page_size, len(ordered)) if chunk else offset
        return Response(200, chunk, self._links("/api/v1/logs", query, following))

    def _listing(self, request: Request, path: str, items: list) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        offset = int(request.query.get("after", 0))
        chunk, following = self.page(items, offset)
        query = {k: v for k, v in request.query.items() if k != "after"}
        return Response(200, chunk, self._links(path, query, following))

    def list_users(self, request: Request) -> Response:
        # Like Okta: deprovisioned users are not listed without a filter.
        visible = [u for u in self.users if u["status"] != "DEPROVISIONED"]
        return self._listing(request, "/api/v1/users", visible)

    def list_groups(self, request: Request) -> Response:
        return self._listing(request, "/api/v1/groups", self.groups)

    def group_users(self, request: Request, group_id: str) -> Response:
        members = [u for u in self.users if u["id"] in self.members.get(group_id, [])]
        return self._listing(request, f"/api/v1/groups/{group_id}/users", members)


__all__ = ["FakeOkta", "iso", "urlencode"]
