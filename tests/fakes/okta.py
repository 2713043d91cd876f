"""A fake Okta org: System Log (/api/v1/logs), users, groups; SSWS API token."""

from __future__ import annotations

import datetime as dt
import json
import threading
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
        # Governance state: what the org holds, and every change made to it (in order).
        self.sessions: dict[str, int] = {}  # user id -> open sessions
        self.risk: dict[str, str] = {}  # user id -> risk level
        self.user_tokens: list[dict] = []  # {"userId", "clientId"}: refresh tokens and grants
        self.changes: list[tuple[str, str]] = []  # (what, user or app id)
        # A suspend that blocks after Okta applied it, until `hold` is set (a worker killed
        # mid-request: the change is made, the answer never arrives).
        self.hold: threading.Event | None = None
        self.holding = threading.Event()
        super().__init__(*args, **kwargs)

    def routes(self):
        return [
            ("GET", r"/api/v1/logs", self.logs),
            ("GET", r"/api/v1/users", self.list_users),
            ("GET", r"/api/v1/groups", self.list_groups),
            ("GET", r"/api/v1/groups/(?P<group_id>[^/]+)/users", self.group_users),
            # Governance
            ("GET", r"/api/v1/users/(?P<user_id>[^/]+)", self.get_user),
            (
                "POST",
                r"/api/v1/users/(?P<user_id>[^/]+)/lifecycle/(?P<step>suspend|unsuspend)",
                self.lifecycle,
            ),
            ("DELETE", r"/api/v1/users/(?P<user_id>[^/]+)/sessions", self.end_sessions),
            ("PUT", r"/api/v1/users/(?P<user_id>[^/]+)/risk", self.put_risk),
            (
                "DELETE",
                r"/api/v1/users/(?P<user_id>[^/]+)/clients/(?P<client_id>[^/]+)/"
                r"(?P<what>tokens|grants)",
                self.revoke_user_client,
            ),
            ("DELETE", r"/api/v1/apps/(?P<app_id>[^/]+)/tokens", self.revoke_app_tokens),
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

    # --- Governance ------------------------------------------------------------------------

    def _find(self, user_id: str) -> dict | None:
        return next((u for u in self.users if user_id in (u["id"], u["profile"]["login"])), None)

    def _not_found(self, what: str) -> Response:
        return Response(
            404,
            {
                "errorCode": "E0000007",
                "errorSummary": f"Not found: Resource not found: {what} (User)",
                "errorLink": "E0000007",
                "errorId": "oae404",
                "errorCauses": [],
            },
        )

    def get_user(self, request: Request, user_id: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._find(user_id)
        return Response(200, user) if user else self._not_found(user_id)

    def lifecycle(self, request: Request, user_id: str, step: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._find(user_id)
        if user is None:
            return self._not_found(user_id)
        wanted = "ACTIVE" if step == "suspend" else "SUSPENDED"
        if user["status"] != wanted:
            return Response(
                400,
                {
                    "errorCode": "E0000001",
                    "errorSummary": f"Api validation failed: {step}",
                    "errorLink": "E0000001",
                    "errorId": "oae400",
                    "errorCauses": [
                        {"errorSummary": f"Cannot {step} a user that is {user['status']}"}
                    ],
                },
            )
        user["status"] = "SUSPENDED" if step == "suspend" else "ACTIVE"
        self.changes.append((step, user["id"]))
        if step == "suspend" and self.hold is not None and not self.holding.is_set():
            self.holding.set()
            self.hold.wait(60)
        return Response(200, {})

    def end_sessions(self, request: Request, user_id: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._find(user_id)
        if user is None:
            return self._not_found(user_id)
        self.sessions[user["id"]] = 0
        if request.query.get("oauthTokens") == "true":
            self.user_tokens = [t for t in self.user_tokens if t["userId"] != user["id"]]
        self.changes.append(("sessions", user["id"]))
        return Response(204, b"")

    def put_risk(self, request: Request, user_id: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._find(user_id)
        if user is None:
            return self._not_found(user_id)
        level = json.loads(request.body or b"{}").get("riskLevel")
        if level not in ("HIGH", "LOW"):
            return Response(400, {"errorCode": "E0000001", "errorSummary": "bad riskLevel"})
        created = user["id"] not in self.risk
        self.risk[user["id"]] = level
        self.changes.append(("risk", user["id"]))
        return Response(201 if created else 200, {"riskLevel": level, "reason": "Admin"})

    def revoke_user_client(
        self, request: Request, user_id: str, client_id: str, what: str
    ) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._find(user_id)
        if user is None:
            return self._not_found(user_id)
        self.user_tokens = [
            t
            for t in self.user_tokens
            if not (t["userId"] == user["id"] and t["clientId"] == client_id)
        ]
        self.changes.append((f"revoke {what}", f"{user['id']}:{client_id}"))
        return Response(204, b"")

    def revoke_app_tokens(self, request: Request, app_id: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        self.user_tokens = [t for t in self.user_tokens if t["clientId"] != app_id]
        self.changes.append(("revoke app tokens", app_id))
        return Response(204, b"")


__all__ = ["FakeOkta", "iso", "urlencode"]
