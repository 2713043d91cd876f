"""GitHub: an organization's audit log (GitHub Enterprise Cloud) and its members and teams.

The audit log is read oldest first (`order=asc`, `phrase=created:>=<cursor minus overlap>`),
following `Link: <...>; rel="next"`; the cursor is the `@timestamp` of the newest entry handed
over. GitHub lists members without e-mail addresses, so their accounts are not joined to a
person unless the login itself is an address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx

from apps.accounts.directory import AccountIn, GroupIn
from apps.activities.categories import ActivityType as C
from apps.activities.events import EventIn

from .. import errors
from ..client import iso, parse_time, retry_at_from
from ..models import Vendor
from . import register
from .base import (
    ActionTarget,
    Adapter,
    CredentialField,
    Directory,
    Page,
    clean_ip,
    link_next,
    skip,
    text,
)
from .governance import github as governance_actions

ORG_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
PAGE_SIZE = 100

ACTIONS = {
    "git.clone": C.DOWNLOAD,
    "git.fetch": C.DOWNLOAD,
    "repo.download_zip": C.DOWNLOAD,
    "git.push": C.UPLOAD,
    "repo.create": C.EDIT,
    "repo.rename": C.EDIT,
    "repo.destroy": C.DELETE,
    "repo.access": C.SHARE,
    "repo.add_member": C.PERMISSION_CHANGE,
    "repo.remove_member": C.PERMISSION_CHANGE,
    "org.add_member": C.PERMISSION_CHANGE,
    "org.remove_member": C.PERMISSION_CHANGE,
    "org.update_member": C.PERMISSION_CHANGE,
    "team.add_member": C.PERMISSION_CHANGE,
    "team.remove_member": C.PERMISSION_CHANGE,
    "oauth_authorization.create": C.PERMISSION_CHANGE,
    "oauth_authorization.destroy": C.PERMISSION_CHANGE,
    "org.invite_member": C.CREATE_USER,
    "user.login": C.LOGIN,
    "user.failed_login": C.FAILED_LOGIN,
    "user.logout": C.LOGOUT,
}
ADMIN_PREFIXES = ("org.", "business.", "protected_branch.", "org_credential_authorization.")


@register
class GitHubAdapter(Adapter):
    vendor = Vendor.GITHUB
    default_base_url = "https://api.github.com"
    base_url_help = "Leave empty for github.com; GitHub Enterprise Server: https://HOST/api/v3"
    credential_fields = (
        CredentialField("organization", "Organization", help="The organization's login name."),
        CredentialField(
            "token",
            "Access token",
            secret=True,
            help="A token of an organization owner with read:audit_log and read:org.",
        ),
    )

    @classmethod
    def validate_credentials(cls, credentials: dict) -> dict[str, str]:
        if not ORG_NAME.match(credentials.get("organization", "")):
            return {"organization": "Letters, digits and hyphens, as in the organization's URL."}
        return {}

    @property
    def org(self) -> str:
        return self.credentials.get("organization", "")

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.credentials.get('token', '')}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def classify(self, response: httpx.Response, body: Any) -> errors.ConnectorError | None:
        message = errors.clip(body.get("message")) if isinstance(body, dict) else ""
        status = response.status_code
        if status in (403, 429) and response.headers.get("x-ratelimit-remaining") == "0":
            return errors.RateLimited("rate limited", retry_at=retry_at_from(response))
        if status == 401:
            return errors.CredentialsRejected(f"GitHub refused the token ({message})")
        if status in (403, 404) and response.request.url.path.endswith("/audit-log"):
            return errors.AuditDisabled(
                "the organization's audit log API is not available (it needs GitHub "
                f"Enterprise Cloud and an owner's token; GitHub said: {message or status})"
            )
        if status == 403:
            return errors.CredentialsRejected(f"the token may not read this ({message})")
        return None

    def activities(self, stream: str, cursor: dict) -> Iterator[Page]:
        newest = parse_time(cursor.get("since"))
        url: str | None = f"{self.base_url}/orgs/{self.org}/audit-log"
        params: dict | None = {
            "phrase": f"created:>={iso(self.window_start(cursor))}",
            "include": "all",
            "order": "asc",
            "per_page": PAGE_SIZE,
        }
        while url:
            body, response = self.get_json(url, params=params)
            events, skipped = [], 0
            for entry in self.require_list(body, "an audit log page"):
                event = self.event(entry)
                if event is None:
                    skipped += 1
                    continue
                events.append(event)
                newest = event.occurred_at if newest is None else max(newest, event.occurred_at)
            next_url = self.follow(link_next(response), self.base_url)
            if next_url is None or next_url == url:
                floor = self.started_at - self.overlap
                yield Page(events, {"since": iso(max(newest, floor) if newest else floor)}, skipped)
                return
            yield Page(events, {"since": iso(newest)} if newest else dict(cursor), skipped)
            url, params = next_url, None

    def event(self, entry: Any) -> EventIn | None:
        if not isinstance(entry, dict):
            skip(self.vendor, entry, "not an object")
            return None
        doc_id = entry.get("_document_id")
        occurred = parse_time(entry.get("@timestamp") or entry.get("created_at"))
        action = entry.get("action")
        if not doc_id or occurred is None or not action:
            skip(self.vendor, entry, "no _document_id, @timestamp or action")
            return None
        category = ACTIONS.get(action)
        if category is None:
            category = C.ADMIN if action.startswith(ADMIN_PREFIXES) else C.OTHER
        if action == "repo.access" and entry.get("visibility") == "private":
            category = C.UNSHARE
        target = entry.get("repo") or entry.get("user") or entry.get("team") or ""
        return EventIn(
            source_event_id=text(doc_id, 200),
            occurred_at=occurred,
            action_type=text(action, 120),
            activity_type=category,
            actor=text(entry.get("actor"), 254),
            actor_external_id=text(entry.get("actor_id"), 200),
            ip=clean_ip(entry.get("actor_ip")),
            user_agent=text(entry.get("user_agent"), 2000),
            succeeded=None,
            is_admin=action.startswith(ADMIN_PREFIXES),
            object_name=text(target),
            object_type="repository" if entry.get("repo") else "",
            object_id=text(entry.get("repo_id") or ""),
            raw=entry,
        )

    def _all(self, path: str, params: dict | None = None) -> Iterator[dict]:
        url: str | None = f"{self.base_url}{path}"
        query: dict | None = {"per_page": PAGE_SIZE, **(params or {})}
        while url:
            body, response = self.get_json(url, params=query)
            for item in self.require_list(body, f"a {path} page"):
                if isinstance(item, dict) and item.get("id") is not None:
                    yield item
            url, query = self.follow(link_next(response), self.base_url), None

    def directory(self) -> Directory:
        groups, memberships = [], {}
        for team in self._all(f"/orgs/{self.org}/teams"):
            groups.append(
                GroupIn(
                    external_id=str(team["id"]),
                    name=text(team.get("name") or team.get("slug"), 200),
                    description=text(team.get("description")),
                )
            )
            for member in self._all(f"/orgs/{self.org}/teams/{team.get('slug')}/members"):
                memberships.setdefault(str(member["id"]), []).append(str(team["id"]))
        admins = {str(m["id"]) for m in self._all(f"/orgs/{self.org}/members", {"role": "admin"})}
        accounts = [
            AccountIn(
                external_id=str(member["id"]),
                username=text(member.get("login"), 254),
                email=text(member.get("email"), 254),
                display_name=text(member.get("name") or member.get("login"), 200),
                is_admin=str(member["id"]) in admins,
                group_ids=memberships.get(str(member["id"]), []),
            )
            for member in self._all(f"/orgs/{self.org}/members")
        ]
        return Directory(accounts=accounts, groups=groups, complete=True)

    # --- Governance (the actions are in adapters/governance/) ------------------------------

    governance = governance_actions.KINDS

    @classmethod
    def governance_for(cls, base_url: str) -> frozenset[str]:
        """Only GitHub Enterprise Server can suspend accounts (see the actions module)."""
        return governance_actions.kinds_for(base_url or cls.default_base_url)

    def govern(self, target: ActionTarget) -> str:
        return governance_actions.govern(self, target)
