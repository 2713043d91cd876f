"""Shared helpers of the integrations console and API tests: destinations made through the
real services, outbox events, dead letters and delivery history rows."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from apps.compliance import crypto
from apps.integrations import outbox, services
from apps.integrations.models import (
    SECRET_PURPOSE,
    DeadLetter,
    Delivery,
    Destination,
    DestinationKind,
    EventKind,
    OutboxEvent,
)
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context

WHEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SIEM_CONFIG = {
    "host": "siem.example.test",
    "port": 6514,
    "transport": "tls",
    "time_format": "rfc5424",
    "include_pri": True,
    "hostname": "LAB-EUW-ARCTEST",
    "ca_pem": "",
    "reference_compat": False,
}


def webhook(tenant, name="Flow", url="https://hooks.example.test/flow?sig=flow-signature-123"):
    with tenant_context(tenant):
        return services.create_destination(
            kind=DestinationKind.WEBHOOK, name=name, data_kinds=["alert"], config={"url": url}
        )


def siem(tenant, name="Splunk", data_kinds=("alert", "activities")):
    with tenant_context(tenant):
        destination, _ = services.create_destination(
            kind=DestinationKind.SIEM, name=name, data_kinds=list(data_kinds), config=SIEM_CONFIG
        )
        return destination


def append(tenant, kind=EventKind.ALERT, refs=("a",), at=WHEN) -> int:
    """One outbox event per ref, recorded at `at`; returns the newest number."""
    with tenant_context(tenant):
        for ref in refs:
            with transaction.atomic(using=tenant.db_alias):
                outbox.append(kind, [ref])
        OutboxEvent.objects.filter(created_at__gt=at).update(created_at=at)
        return outbox.current_seq()


def dead_letter(tenant, destination, ref="alert-ref-1") -> DeadLetter:
    with tenant_context(tenant):
        return DeadLetter.objects.create(
            destination=destination,
            seq=1,
            kind=EventKind.ALERT,
            ref=ref,
            error="the receiver answered HTTP 400",
            attempts=5,
        )


def delivery(tenant, destination, *, seq=3, ref="alert-ref-2", ok=False, status=500, ms=12):
    with tenant_context(tenant):
        return Delivery.objects.create(
            destination=destination,
            seq=seq,
            kind=EventKind.ALERT,
            ref=ref,
            ok=ok,
            status_code=status,
            error="" if ok else f"the receiver answered HTTP {status}",
            duration_ms=ms,
            attempted_at=WHEN,
        )


def stored_secret(tenant, destination) -> str:
    with tenant_context(tenant):
        row = Destination.objects.get(pk=destination.pk)
    return crypto.open_sealed(bytes(row.secret_sealed), SECRET_PURPOSE, tenant.id).decode()


def destinations(tenant) -> list[Destination]:
    with tenant_context(tenant):
        return list(Destination.objects.order_by("name"))


def audit_text(tenant) -> str:
    with tenant_context(tenant):
        return str(list(AuditEvent.objects.values("action", "details", "object_id", "actor_label")))


def audit_actions(tenant, prefix="integration.") -> list[str]:
    with tenant_context(tenant):
        return list(
            AuditEvent.objects.filter(action__startswith=prefix)
            .order_by("seq")
            .values_list("action", flat=True)
        )
