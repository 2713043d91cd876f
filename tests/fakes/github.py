"""A fake GitHub: an organization's audit log (Link pagination), members and teams."""

from __future__ import annotations

import datetime as dt
import uuid

from .server import FakeServer, Request, Response

ORG = "acme"


def millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class FakeGitHub(FakeServer):
    def __init__(self, *args, **kwargs):
        self.token = "ghp_fakeTokenValue0123456789"
        self.entries: list[dict] = []
        self.members: list[dict] = []
        self.admins: set[int] = set()
        self.teams: list[dict] = []
        self.team_members: dict[str, list[int]] = {}
        # Governance (GitHub Enterprise Server's user administration): who is suspended.
        self.suspended: dict[str, str] = {}  # login -> suspended_at
        self.changes: list[tuple[str, str]] = []
        super().__init__(*args, **kwargs)

    def credentials(self) -> dict:
        return {"organization": ORG, "token": self.token}

    def routes(self):
        return [
            ("GET", rf"/orgs/{ORG}/audit-log", self.audit_log),
            ("GET", rf"/orgs/{ORG}/members", self.list_members),
            ("GET", rf"/orgs/{ORG}/teams", self.list_teams),
            ("GET", rf"/orgs/{ORG}/teams/(?P<slug>[^/]+)/members", self.list_team_members),
            # Governance (Enterprise Server)
            ("GET", r"/users/(?P<login>[^/]+)", self.get_user),
            ("PUT", r"/users/(?P<login>[^/]+)/suspended", self.suspend),
            ("DELETE", r"/users/(?P<login>[^/]+)/suspended", self.unsuspend),
        ]

    def add_entry(
        self,
        when: dt.datetime,
        action: str = "git.clone",
        *,
        actor="octocat",
        actor_id=1,
        repo="acme/secret-sauce",
    ) -> dict:
        entry = {
            "@timestamp": millis(when),
            "_document_id": uuid.uuid4().hex[:22],
            "action": action,
            "actor": actor,
            "actor_id": actor_id,
            "actor_ip": "81.2.69.142",
            "user_agent": "git/2.43.0",
            "org": ORG,
            "repo": repo,
            "created_at": millis(when),
        }
        self.entries.append(entry)
        return entry

    def add_member(self, member_id: int, login: str, *, admin=False, teams=()) -> None:
        self.members.append({"login": login, "id": member_id, "type": "User", "site_admin": False})
        if admin:
            self.admins.add(member_id)
        for team in teams:
            self.team_members.setdefault(team, []).append(member_id)

    def add_team(self, team_id: int, slug: str, name: str) -> None:
        self.teams.append({"id": team_id, "slug": slug, "name": name, "description": ""})

    def _auth(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            )
        return None

    def _paged(self, request: Request, path: str, items: list) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        offset = int(request.query.get("after") or 0)
        chunk, following = self.page(items, offset)
        headers = {}
        if following is not None:
            query = {k: v for k, v in request.query.items() if k != "after"}
            headers["Link"] = f'<{self.url(path, {**query, "after": str(following)})}>; rel="next"'
        return Response(200, chunk, headers)

    def audit_log(self, request: Request) -> Response:
        if self.audit_disabled:
            return Response(404, {"message": "Not Found"})
        phrase = request.query.get("phrase", "")
        since = None
        if phrase.startswith("created:>="):
            since = dt.datetime.fromisoformat(phrase[len("created:>=") :].replace("Z", "+00:00"))
        items = sorted(self.entries, key=lambda e: (e["@timestamp"], e["_document_id"]))
        if since is not None:
            items = [e for e in items if e["@timestamp"] >= millis(since)]
        return self._paged(request, f"/orgs/{ORG}/audit-log", items)

    def list_members(self, request: Request) -> Response:
        items = self.members
        if request.query.get("role") == "admin":
            items = [m for m in self.members if m["id"] in self.admins]
        return self._paged(request, f"/orgs/{ORG}/members", items)

    def list_teams(self, request: Request) -> Response:
        return self._paged(request, f"/orgs/{ORG}/teams", self.teams)

    def list_team_members(self, request: Request, slug: str) -> Response:
        ids = self.team_members.get(slug, [])
        return self._paged(
            request,
            f"/orgs/{ORG}/teams/{slug}/members",
            [m for m in self.members if m["id"] in ids],
        )

    # --- Governance (GitHub Enterprise Server) -------------------------------------------------

    def _member(self, login: str) -> dict | None:
        return next((m for m in self.members if m["login"] == login), None)

    def get_user(self, request: Request, login: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        member = self._member(login)
        if member is None:
            return Response(404, {"message": "Not Found", "documentation_url": "https://x"})
        return Response(200, {**member, "suspended_at": self.suspended.get(login)})

    def suspend(self, request: Request, login: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        if self._member(login) is None:
            return Response(404, {"message": "Not Found"})
        if login not in self.suspended:
            self.suspended[login] = "2024-05-01T10:00:00Z"
            self.changes.append(("suspended", login))
        return Response(204, b"")

    def unsuspend(self, request: Request, login: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        if self._member(login) is None:
            return Response(404, {"message": "Not Found"})
        if self.suspended.pop(login, None):
            self.changes.append(("unsuspended", login))
        return Response(204, b"")
