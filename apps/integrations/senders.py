"""The sender of each kind of destination (see `apps.integrations.delivery.Sender`).

- Webhooks: `apps.integrations.webhooks.WebhookSender`, one alert per request.
- SIEM agents: `SiemSender` maps alerts and activities onto CEF events (`siem.cef`), frames
  them as syslog (`siem.syslog.SyslogFormat`) and writes a batch per call over UDP, TCP or TLS
  (`siem.syslog.SyslogSender`). Its settings live in the destination's `config`: host, port,
  transport (udp/tcp/tls), time_format (rfc5424/rfc3164/rfc3164_year), include_pri, hostname,
  ca_pem (a CA certificate for TLS, else the system's), reference_compat.
"""

from __future__ import annotations

import os
import tempfile

from django.conf import settings
from django.urls import reverse

from apps.activities.models import Activity
from apps.alerts.models import Alert, Severity

from .delivery import DeliveryError, Item
from .models import Destination, DestinationKind, EventKind
from .siem.cef import ALERT_SEVERITY, CefActivity, CefAlert, CefFormatter
from .siem.syslog import SyslogError, SyslogFormat, SyslogSender, syslog_severity

_CEF_SEVERITY = {
    Severity.INFORMATIONAL: 1,
    Severity.LOW: ALERT_SEVERITY["low"],
    Severity.MEDIUM: ALERT_SEVERITY["medium"],
    Severity.HIGH: ALERT_SEVERITY["high"],
}


def _console(path: str) -> str:
    return settings.CONSOLE_BASE_URL.rstrip("/") + path


def cef_activity(activity: Activity, tenant_slug: str) -> CefActivity:
    app = activity.app_instance
    return CefActivity(
        id=str(activity.pk),
        timestamp=activity.occurred_at,
        description=f"{activity.action_type} by {activity.actor}".strip()[:1000],
        user=activity.actor,
        app_name=app.name if app is not None else "",
        app_ids=[str(activity.app_instance_id)] if activity.app_instance_id else [],
        client_ip=activity.ip or "",
        portal_url=_console(reverse("activities:list", args=[tenant_slug])),
        category=f"EVENT_CATEGORY_{(activity.activity_type or 'other').upper()}",
        action=activity.action_type,
        user_agent=activity.user_agent,
        target_objects=[activity.object_name] if activity.object_name else [],
    )


def cef_alert(alert: Alert, tenant_slug: str) -> CefAlert:
    users = list(alert.users.all())  # prefetched by the outbox
    apps = list(alert.apps.all())
    return CefAlert(
        id=str(alert.pk),
        timestamp=alert.last_triggered_at,
        description=alert.title,
        user=next((u.identity or u.email for u in users if u.identity or u.email), ""),
        app_name=apps[0].name if apps else "",
        app_ids=[str(app.pk) for app in apps],
        client_ip=(alert.ips or [""])[0],
        portal_url=_console(reverse("alerts:detail", args=[tenant_slug, alert.pk])),
        policy_ids=[str(alert.policy_id)] if alert.policy_id else [],
        alert_type=f"ALERT_{alert.alert_type.upper()}",
        policy_name=alert.policy_name or alert.title,
        severity=_CEF_SEVERITY.get(alert.severity, 3),
    )


class SiemSender:
    """CEF over syslog to one SIEM (see the module docstring)."""

    batch_size = 500

    def __init__(self, destination: Destination, tenant_slug: str):
        config = destination.config or {}
        self.tenant_slug = tenant_slug
        self.formatter = CefFormatter(reference_compat=bool(config.get("reference_compat")))
        self.format = SyslogFormat(
            time_format=config.get("time_format") or "rfc5424",
            include_pri=bool(config.get("include_pri")),
            hostname=str(config.get("hostname") or ""),
        )
        self._ca_path = None
        ca_pem = str(config.get("ca_pem") or "")
        if ca_pem:
            handle, self._ca_path = tempfile.mkstemp(suffix=".pem", prefix="casb-siem-ca-")
            with os.fdopen(handle, "w") as stream:
                stream.write(ca_pem)
        self.sender = SyslogSender(
            str(config.get("host", "")),
            int(config.get("port") or 514),
            transport=config.get("transport") or "tcp",
            ca_file=self._ca_path,
            timeout=5.0,
            deadline=30.0,
        )

    def _line(self, item: Item) -> bytes:
        if item.kind == EventKind.ALERT:
            event = cef_alert(item.obj, self.tenant_slug)
            severity = syslog_severity(event.severity)
        else:
            event = cef_activity(item.obj, self.tenant_slug)
            severity = 6
        return self.format.frame(
            self.formatter.format(event), timestamp=event.timestamp, severity=severity
        )

    def send(self, items: list[Item]) -> None:
        try:
            self.sender.send_many([self._line(item) for item in items])
        except SyslogError as exc:
            raise DeliveryError(str(exc)) from exc

    def close(self) -> None:
        self.sender.close()
        if self._ca_path:
            os.unlink(self._ca_path)
            self._ca_path = None


class _Unavailable:
    """A destination whose settings cannot make a sender: every push fails, in words."""

    batch_size = 1

    def __init__(self, reason: str):
        self.reason = reason

    def send(self, items) -> None:
        raise DeliveryError(self.reason)


def sender_for(destination: Destination, tenant):
    try:
        if destination.kind == DestinationKind.WEBHOOK:
            from .webhooks import WebhookSender

            return WebhookSender(destination, tenant.slug)
        if destination.kind == DestinationKind.SIEM:
            return SiemSender(destination, tenant.slug)
    except (ValueError, SyslogError) as exc:
        return _Unavailable(f"the settings cannot be used: {exc}")
    return _Unavailable(f"no sender for {destination.get_kind_display()}")
