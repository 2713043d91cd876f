"""Webhooks (flow triggers): each alert POSTed as JSON to a URL, signed, with a history.

The body is the alert in the shape of spec section 11 (the flow trigger's fields, a superset of
what Microsoft's playbooks read). Every request carries:

    X-CASB-Event-Id:   <outbox number>-<alert id>   (the same on a re-delivery)
    X-CASB-Timestamp:  <unix seconds when signed>
    X-CASB-Signature:  v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body with the webhook's
secret, compares in constant time, refuses a timestamp more than 5 minutes from its clock, and
remembers event ids for 5 minutes to drop replays (delivery is at least once: the same event
id may arrive twice, with a new timestamp and signature).

The request goes through the connectors' guarded transport: https only, TLS 1.2 or newer with
verified certificates, and no internal addresses (SSRF). A 2xx answer is delivered; 408, 429,
5xx and network failures are the receiver's trouble (retried with backoff, nothing skipped);
any other 4xx refuses this alert (retried a few times, then a dead letter).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC

import httpx
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import Alert, Severity
from apps.compliance import crypto
from apps.connectors.transport import DestinationRefused, GuardedTransport

from .delivery import DeliveryError, Item
from .models import SECRET_PURPOSE, Delivery, Destination

SIGNATURE_VERSION = "v1"
TOLERANCE_SECONDS = 300  # what receivers should accept (documented above)
_SEVERITY = {
    Severity.INFORMATIONAL: "Informational",
    Severity.LOW: "Low",
    Severity.MEDIUM: "Medium",
    Severity.HIGH: "High",
}


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float) -> bool:
    """What a receiver does (and our tests do): signature and freshness."""
    try:
        moment = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - moment) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)


def _iso(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def alert_payload(alert: Alert, tenant_slug: str) -> dict:
    """The alert as spec section 11's flow trigger payload (our compatible superset)."""
    users = list(alert.users.all()[:20])
    accounts = list(alert.accounts.all()[:20])
    apps = list(alert.apps.all()[:20])
    compromised = next(
        (u.identity or u.email for u in users if (u.identity or u.email)),
        next((a.email or a.username for a in accounts if (a.email or a.username)), ""),
    )
    entities = (
        [{"type": "account", "id": str(a.pk), "label": a.email or a.username} for a in accounts]
        + [{"type": "service", "id": str(app.pk), "label": app.name} for app in apps]
        + [{"type": "ip", "id": ip, "label": ip} for ip in (alert.ips or [])[:20]]
    )
    if alert.policy_id:
        entities.append(
            {"type": "policyRule", "id": str(alert.policy_id), "label": alert.policy_name}
        )
    path = reverse("alerts:detail", args=[tenant_slug, alert.pk])
    return {
        "AlertDisplayName": alert.title,
        "AlertType": alert.alert_type,
        "Severity": _SEVERITY.get(alert.severity, "Informational"),
        "Description": alert.description,
        "CompromisedEntity": compromised,
        "ProviderAlertId": str(alert.pk),
        "ProviderPolicyId": str(alert.policy_id or ""),
        "StartTimeUtc": _iso(alert.first_triggered_at),
        "EndTimeUtc": _iso(alert.last_triggered_at),
        "AlertUri": settings.CONSOLE_BASE_URL.rstrip("/") + path,
        "Entities": entities,
        "Status": alert.status,
        "Number": alert.number,
        "Category": alert.category,
    }


class WebhookSender:
    """Sends one alert per request to the destination's URL (see the module docstring)."""

    batch_size = 1

    def __init__(self, destination: Destination, tenant_slug: str, *, timeout: float = 10.0):
        self.destination = destination
        self.tenant_slug = tenant_slug
        self.url = str((destination.config or {}).get("url", ""))
        self.secret = crypto.open_sealed(
            bytes(destination.secret_sealed), SECRET_PURPOSE, destination.tenant_id
        )
        self.client = httpx.Client(transport=GuardedTransport(), timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def send(self, items: list[Item]) -> None:
        for item in items:
            self._send_one(item)

    def _send_one(self, item: Item) -> None:
        body = json.dumps(alert_payload(item.obj, self.tenant_slug), sort_keys=True).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "CASB-Webhook/1",
            "X-CASB-Event-Id": f"{item.seq}-{item.ref}",
            "X-CASB-Timestamp": str(timestamp),
            "X-CASB-Signature": sign(self.secret, timestamp, body),
        }
        started = time.monotonic()
        status, error = None, ""
        try:
            response = self.client.post(self.url, content=body, headers=headers)
            status = response.status_code
        except DestinationRefused as exc:
            error = f"address refused: {exc}"
        except httpx.TimeoutException:
            error = "the receiver did not answer in time"
        except httpx.HTTPError as exc:
            error = f"could not reach the receiver: {exc.__class__.__name__}: {exc}"[:500]
        ok = status is not None and 200 <= status < 300
        if status is not None and not ok:
            error = f"the receiver answered HTTP {status}"
        self._record(item, ok, status, error, started)
        if ok:
            return
        permanent = status is not None and 400 <= status < 500 and status not in (408, 429)
        raise DeliveryError(error, permanent=permanent)

    def _record(self, item: Item, ok: bool, status, error: str, started: float) -> None:
        Delivery.objects.create(
            destination=self.destination,
            seq=item.seq,
            kind=item.kind,
            ref=item.ref,
            ok=ok,
            status_code=status,
            error=error[:500],
            duration_ms=int((time.monotonic() - started) * 1000),
            attempted_at=timezone.now(),
        )
        keep = list(
            Delivery.objects.filter(destination=self.destination)
            .order_by("-attempted_at")
            .values_list("pk", flat=True)[Delivery.KEEP : Delivery.KEEP + 100]
        )
        if keep:
            Delivery.objects.filter(pk__in=keep).delete()
