"""Okta: System Log API (`/api/v1/logs`) and the Users and Groups APIs.

Logs are read oldest first (`sortOrder=ASCENDING`, `since`), following `Link: <...>;
rel="next"` until a page comes back empty (Okta's polling mode always offers a next link).
The cursor is the `published` time of the newest event handed over; a poll reads from that
time minus the overlap, so events Okta publishes a little late are still picked up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from apps.accounts.directory import AccountIn, GroupIn
from apps.activities.categories import ActivityType as C
from apps.activities.events import EventIn

from .. import errors
from ..client import iso, parse_time
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
from .governance import okta as governance_actions

PAGE_LIMIT = 1000
DIRECTORY_LIMIT = 200

EVENT_TYPES = {
    "user.session.start": C.LOGIN,
    "user.authentication.sso": C.LOGIN,
    "user.authentication.auth_via_mfa": C.LOGIN,
    "user.session.end": C.LOGOUT,
    "user.account.update_password": C.PASSWORD_CHANGE,
    "user.account.reset_password": C.PASSWORD_CHANGE,
    "user.credential.forgot_password": C.PASSWORD_CHANGE,
    "user.lifecycle.create": C.CREATE_USER,
    "user.lifecycle.delete.initiated": C.DELETE_USER,
    "user.lifecycle.delete.completed": C.DELETE_USER,
    "group.user_membership.add": C.PERMISSION_CHANGE,
    "group.user_membership.remove": C.PERMISSION_CHANGE,
    "application.user_membership.add": C.PERMISSION_CHANGE,
    "application.user_membership.remove": C.PERMISSION_CHANGE,
    "user.account.privilege.grant": C.PERMISSION_CHANGE,
    "user.account.privilege.revoke": C.PERMISSION_CHANGE,
}
ADMIN_PREFIXES = ("system.", "policy.", "application.lifecycle.", "user.lifecycle.", "zone.")
LOGIN_TYPES = {"user.session.start", "user.authentication.sso", "user.authentication.auth_via_mfa"}

STATUSES = {
    "ACTIVE": "active",
    "PASSWORD_EXPIRED": "active",
    "LOCKED_OUT": "active",
    "RECOVERY": "active",
    "SUSPENDED": "suspended",
    "STAGED": "staged",
    "PROVISIONED": "staged",
    "DEPROVISIONED": "deleted",
}


@register
class OktaAdapter(Adapter):
    vendor = Vendor.OKTA
    base_url_help = "Your Okta org, e.g. https://acme.okta.com"
    base_url_required = True
    credential_fields = (
        CredentialField(
            "api_token",
            "API token",
            secret=True,
            help="An Okta API token of a read-only administrator (Security > API > Tokens).",
        ),
    )

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"SSWS {self.credentials.get('api_token', '')}"}

    def classify(self, response: httpx.Response, body: Any) -> errors.ConnectorError | None:
        summary = ""
        if isinstance(body, dict):
            summary = errors.clip(
                f"{body.get('errorCode', '')} {body.get('errorSummary', '')}".strip()
            )
        code = response.status_code
        if code == 401:
            return errors.CredentialsRejected(f"Okta refused the API token ({summary})")
        if code == 403 and "/api/v1/logs" in response.request.url.path:
            return errors.AuditDisabled(
                f"Okta refused access to the System Log ({summary or 'HTTP 403'})"
            )
        if code == 403:
            return errors.CredentialsRejected(f"the API token may not read this ({summary})")
        return None

    # --- Activities ----------------------------------------------------------------------

    def activities(self, stream: str, cursor: dict) -> Iterator[Page]:
        origin = self.base_url
        newest = parse_time(cursor.get("since"))
        url: str | None = f"{origin}/api/v1/logs"
        params: dict | None = {
            "since": iso(self.window_start(cursor)),
            "sortOrder": "ASCENDING",
            "limit": PAGE_LIMIT,
        }
        seen_urls: set[str] = set()
        while url:
            body, response = self.get_json(url, params=params)
            records = self.require_list(body, "a System Log page")
            events, skipped = [], 0
            for record in records:
                event = self.event(record)
                if event is None:
                    skipped += 1
                    continue
                events.append(event)
                if newest is None or event.occurred_at > newest:
                    newest = event.occurred_at
            next_url = self.follow(link_next(response), origin)
            if not records or next_url in seen_urls or next_url is None:
                # Caught up. Move the cursor at least to "now minus the overlap" so a quiet
                # org does not keep re-reading from an old time forever.
                floor = self.started_at - self.overlap
                final = max(newest, floor) if newest else floor
                yield Page(events, {"since": iso(final)}, skipped)
                return
            yield Page(events, {"since": iso(newest)} if newest else dict(cursor), skipped)
            seen_urls.add(next_url)
            url, params = next_url, None

    def event(self, record: Any) -> EventIn | None:
        if not isinstance(record, dict):
            skip(self.vendor, record, "not an object")
            return None
        uuid, published = record.get("uuid"), parse_time(record.get("published"))
        event_type = record.get("eventType")
        if not uuid or published is None or not event_type:
            skip(self.vendor, record, "no uuid, published time or eventType")
            return None
        actor = record.get("actor") or {}
        client = record.get("client") or {}
        outcome = (record.get("outcome") or {}).get("result")
        succeeded = {"SUCCESS": True, "ALLOW": True, "FAILURE": False, "DENY": False}.get(
            str(outcome).upper()
        )
        category = EVENT_TYPES.get(event_type)
        if category is None:
            category = C.ADMIN if event_type.startswith(ADMIN_PREFIXES) else C.OTHER
        if event_type in LOGIN_TYPES and succeeded is False:
            category = C.FAILED_LOGIN
        targets = [t for t in record.get("target") or [] if isinstance(t, dict)]
        target = targets[0] if targets else {}
        return EventIn(
            source_event_id=text(uuid, 200),
            occurred_at=published,
            action_type=text(event_type, 120),
            activity_type=category,
            actor=text(actor.get("alternateId"), 254),
            actor_external_id=text(actor.get("id"), 200),
            actor_display_name=text(actor.get("displayName"), 200),
            ip=clean_ip(client.get("ipAddress")),
            user_agent=text((client.get("userAgent") or {}).get("rawUserAgent"), 2000),
            succeeded=succeeded,
            is_admin=event_type.startswith(ADMIN_PREFIXES) or category == C.PERMISSION_CHANGE,
            object_name=text(target.get("displayName") or target.get("alternateId")),
            object_type=text(target.get("type"), 60),
            object_id=text(target.get("id"), 300),
            raw=record,
        )

    # --- Directory -----------------------------------------------------------------------

    def _all(self, path: str) -> Iterator[dict]:
        url: str | None = f"{self.base_url}{path}"
        params: dict | None = {"limit": DIRECTORY_LIMIT}
        while url:
            body, response = self.get_json(url, params=params)
            for item in self.require_list(body, f"a {path} page"):
                if isinstance(item, dict) and item.get("id"):
                    yield item
            url, params = self.follow(link_next(response), self.base_url), None

    def directory(self) -> Directory:
        groups, memberships = [], {}
        for group in self._all("/api/v1/groups"):
            profile = group.get("profile") or {}
            groups.append(
                GroupIn(
                    external_id=str(group["id"]),
                    name=text(profile.get("name") or group["id"], 200),
                    description=text(profile.get("description")),
                )
            )
            for user in self._all(f"/api/v1/groups/{group['id']}/users"):
                memberships.setdefault(str(user["id"]), []).append(str(group["id"]))
        accounts = []
        for user in self._all("/api/v1/users"):
            profile = user.get("profile") or {}
            name = profile.get("displayName") or " ".join(
                p for p in (profile.get("firstName"), profile.get("lastName")) if p
            )
            accounts.append(
                AccountIn(
                    external_id=str(user["id"]),
                    username=text(profile.get("login"), 254),
                    email=text(profile.get("email"), 254),
                    display_name=text(name, 200),
                    department=text(profile.get("department"), 200),
                    status=STATUSES.get(str(user.get("status", "")).upper(), "active"),
                    group_ids=memberships.get(str(user["id"]), []),
                )
            )
        return Directory(accounts=accounts, groups=groups, complete=True)

    # --- Governance (the actions are in adapters/governance/) ------------------------------

    governance = governance_actions.KINDS

    def govern(self, target: ActionTarget) -> str:
        return governance_actions.govern(self, target)
