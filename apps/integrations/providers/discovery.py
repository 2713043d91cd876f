"""Cloud Discovery data sources: inbound network logs, by syslog to the log collector or by
upload through the API. Nothing goes back to the device."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse
from django.utils import timezone

from apps.discovery.models import DataSource, Receiver
from apps.tenants.models import Tenant

from ..registry import Data, Direction, Integration, register


@register(
    "discovery_sources",
    label="Cloud Discovery data sources",
    order=30,
    empty="Each data source (a log collector syslog port or API uploads of a firewall or proxy) "
    "would appear here.",
)
def discovery_sources(tenant: Tenant) -> Iterator[Integration]:
    receivers = dict(Receiver.choices)
    for source in DataSource.objects.order_by("name", "id"):
        syslog = source.receiver != Receiver.API
        details = [("Log format", source.log_format)]
        if syslog:
            details.append(("Log collector port", str(source.port)))
        details += [
            (
                "Usernames",
                "anonymised at ingest with this tenant's key"
                if source.anonymize
                else "stored as received",
            ),
            (
                "Last data",
                timezone.localtime(source.last_data_at).strftime("%Y-%m-%d %H:%M")
                if source.last_data_at
                else "none yet",
            ),
        ]
        yield Integration(
            provider="discovery_sources",
            id=str(source.pk),
            name=source.name,
            type=receivers.get(source.receiver, source.receiver),
            direction=Direction.INBOUND,
            status="receiving" if source.last_data_at else "waiting",
            status_label="Receiving" if source.last_data_at else "No data yet",
            configure_url=reverse("discovery:source", args=[tenant.slug, source.pk]),
            sends=(Data.TRAFFIC_LOGS,),
            details=tuple(details),
        )
