"""SIEM agents and webhooks: outbound, receiving exactly the data kinds each is configured
for (`Destination.data_kinds`), with the status the pusher keeps. Secrets are never read here:
the query defers them."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse
from django.utils import timezone

from apps.tenants.models import Tenant

from ..models import Destination, DestinationKind, DestinationStatus, EventKind
from ..registry import Data, Direction, Integration, register
from ..selectors import target

RECEIVES = {EventKind.ALERT: Data.ALERTS, EventKind.ACTIVITIES: Data.ACTIVITIES}


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "never"


TYPES = {
    DestinationKind.SIEM: "SIEM agent (CEF over syslog)",
    DestinationKind.WEBHOOK: "Webhook (signed JSON)",
}


@register(
    "siem_and_webhooks",
    label="SIEM agents and webhooks",
    order=40,
    empty="Each SIEM agent would appear here with the alerts and activities it receives, and "
    "each webhook with the alerts it receives.",
)
def siem_and_webhooks(tenant: Tenant) -> Iterator[Integration]:
    # One query for both kinds (the transparency page has a query-count guard).
    for destination in Destination.objects.defer("secret_sealed").order_by("kind", "name"):
        status_label = destination.get_status_display()
        if destination.status_reason and destination.status == DestinationStatus.ERROR:
            status_label = f"{status_label}: {destination.status_reason}"
        yield Integration(
            provider="siem_and_webhooks",
            id=str(destination.pk),
            name=destination.name,
            type=TYPES.get(destination.kind, destination.kind),
            direction=Direction.OUTBOUND,
            status=destination.status,
            status_label=status_label,
            configure_url=reverse("integrations:detail", args=[tenant.slug, destination.pk]),
            receives=tuple(
                RECEIVES[k] for k in sorted(destination.data_kinds or []) if k in RECEIVES
            ),
            details=(
                ("Sends to", target(destination)),
                ("Last delivery", _when(destination.last_delivered_at)),
            ),
        )
