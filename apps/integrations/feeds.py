"""Alert feeds that tools pull: the Graph security alert shape and JSON lines.

- `graph_alert(alert, tenant)`: one alert as a `microsoft.graph.security.alert` (spec 12.2,
  the `alerts_v2` shape), so tools written for Microsoft Graph read ours unchanged: severity,
  status and classification spelled as Graph spells them, people, IPs and apps as evidence.
- `page(...)`: alerts changed since a moment, oldest change first, in pages with an opaque
  continuation token (the last alert's change time and id). A collector that keeps the token
  and asks again gets every alert that changed since, once per change, never a gap: two
  alerts changed at the same instant are ordered by id, and only changes older than
  `SETTLE_SECONDS` are served, so a change whose transaction commits a little after its time
  stamp is not passed over (alerts show up in the feed two minutes after they change).

Private activities never appear: alerts already keep their evidence lines free of them, and the
feed names no activity.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from apps.alerts.models import Alert, AlertStatus, Resolution, Severity

MAX_TOP = 1000
DEFAULT_TOP = 100
SETTLE_SECONDS = 120

_SEVERITY = {
    Severity.INFORMATIONAL: "informational",
    Severity.LOW: "low",
    Severity.MEDIUM: "medium",
    Severity.HIGH: "high",
}
_CLASSIFICATION = {
    Resolution.TRUE_POSITIVE: "truePositive",
    Resolution.BENIGN_TRUE_POSITIVE: "informationalExpectedActivity",
    Resolution.FALSE_POSITIVE: "falsePositive",
}


class BadToken(ValueError):
    """The continuation token is not one we gave out."""


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _status(alert: Alert) -> str:
    if alert.status in (AlertStatus.RESOLVED, AlertStatus.DISMISSED):
        return "resolved"
    if alert.status == AlertStatus.IN_PROGRESS:
        return "inProgress"
    return "new"


def graph_alert(alert: Alert, tenant) -> dict:
    """`alert` in the shape of spec 12.2 (users, accounts, apps prefetched by the caller)."""
    evidence = []
    for user in alert.users.all():
        evidence.append(
            {
                "@odata.type": "#microsoft.graph.security.userEvidence",
                "userAccount": {
                    "accountName": (user.identity or user.email).split("@")[0],
                    "userPrincipalName": user.identity or user.email,
                    "displayName": user.display_name,
                },
            }
        )
    for ip in alert.ips or []:
        evidence.append({"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": ip})
    for app in alert.apps.all():
        evidence.append(
            {
                "@odata.type": "#microsoft.graph.security.cloudApplicationEvidence",
                "displayName": app.name,
                "appId": str(app.pk),
            }
        )
    url = settings.CONSOLE_BASE_URL.rstrip("/") + reverse(
        "alerts:detail", args=[tenant.slug, alert.pk]
    )
    resolved = alert.status in (AlertStatus.RESOLVED, AlertStatus.DISMISSED)
    return {
        "id": str(alert.pk),
        "providerAlertId": str(alert.pk),
        "tenantId": str(tenant.id),
        "title": alert.title,
        "description": alert.description,
        "severity": _SEVERITY.get(alert.severity, "unknown"),
        "status": _status(alert),
        "classification": _CLASSIFICATION.get(alert.resolution, "unknown"),
        "determination": "unknown",
        "category": alert.get_category_display(),
        "detectionSource": "cloudAppSecurity",
        "serviceSource": "casb",
        "detectorId": str(alert.policy_id or ""),
        "threatDisplayName": alert.policy_name,
        "alertWebUrl": url,
        "assignedTo": alert.assignee_label or None,
        "createdDateTime": _iso(alert.created_at),
        "firstActivityDateTime": _iso(alert.first_triggered_at),
        "lastActivityDateTime": _iso(alert.last_triggered_at),
        "lastUpdateDateTime": _iso(alert.updated_at),
        "resolvedDateTime": _iso(alert.resolved_at) if resolved else None,
        "comments": [{"comment": alert.comment}] if alert.comment else [],
        "evidence": evidence,
        "mitreTechniques": [],
        "systemTags": [alert.get_alert_type_display()],
    }


# --- Pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    changed: datetime
    alert_id: str

    def token(self) -> str:
        raw = json.dumps([self.changed.isoformat(), self.alert_id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            changed, alert_id = json.loads(raw)
            moment = datetime.fromisoformat(changed)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise BadToken("not a continuation token of this feed") from exc
        if moment.tzinfo is None or not isinstance(alert_id, str) or len(alert_id) != 36:
            raise BadToken("not a continuation token of this feed")
        return cls(moment, alert_id)


@dataclass
class Page:
    alerts: list[Alert]
    more: bool  # another page follows now
    resume: Position | None  # where to ask from next time (None: nothing seen yet)


def page(*, since: datetime | None, after: Position | None, top: int, now: datetime) -> Page:
    """Up to `top` settled alerts changed after `after` (or since `since`), oldest first."""
    horizon = now - timedelta(seconds=SETTLE_SECONDS)
    alerts = (
        Alert.objects.filter(updated_at__lt=horizon)
        .order_by("updated_at", "id")
        .prefetch_related("users", "apps")
    )
    if after is not None:
        alerts = alerts.filter(
            Q(updated_at__gt=after.changed) | Q(updated_at=after.changed, id__gt=after.alert_id)
        )
    elif since is not None:
        alerts = alerts.filter(updated_at__gte=since)
    rows = list(alerts[: top + 1])
    more = len(rows) > top
    rows = rows[:top]
    last = rows[-1] if rows else None
    return Page(rows, more, Position(last.updated_at, str(last.pk)) if last else after)


def jsonl(rows: list[Alert], tenant) -> bytes:
    """One Graph-shaped alert per line (for a SIEM's HTTP collector)."""
    return b"".join(
        json.dumps(graph_alert(alert, tenant), sort_keys=True).encode() + b"\n" for alert in rows
    )
