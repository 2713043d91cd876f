"""Connected apps: inbound (what we read from each vendor) and outbound (the governance actions
we send it). Credentials are never read here: the query defers them."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse
from django.utils import timezone

from apps.connectors.adapters import adapter_class
from apps.connectors.adapters.files import supports_files
from apps.connectors.models import AppInstance, Vendor
from apps.governance.capabilities import supported_kinds
from apps.governance.models import GovernanceKind
from apps.tenants.models import Tenant

from ..registry import Data, Direction, Integration, register


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "never"


@register(
    "connected_apps",
    label="Connected apps",
    order=20,
    empty="Each connected app would appear here with what we read from it and the governance "
    "actions we may send it.",
)
def connected_apps(tenant: Tenant) -> Iterator[Integration]:
    vendors = dict(Vendor.choices)
    kind_labels = dict(GovernanceKind.choices)
    for instance in AppInstance.objects.defer("credentials_sealed").order_by("name", "id"):
        adapter = adapter_class(instance.vendor)
        polled = adapter is not None
        # A polled app gives us its audit log and its directory; a push-API app only the
        # activities it pushes.
        sends = (Data.ACTIVITIES, Data.ACCOUNTS) if polled else (Data.ACTIVITIES,)
        if polled and supports_files(adapter):  # listed, downloaded in memory and inspected
            sends += (Data.FILES_FOR_DLP,)
        governance = sorted(supported_kinds(instance))
        receives = (Data.GOVERNANCE_ACTIONS,) if governance else ()
        details = [
            ("Vendor", vendors.get(instance.vendor, instance.vendor)),
            ("How", "we poll its API" if polled else "it pushes activities to our API"),
            *(
                [("Audit log streams read", ", ".join(adapter.streams))]
                if polled and adapter.streams != ("activities",)
                else []
            ),
            ("Last successful poll" if polled else "Last data", _when(instance.last_success_at)),
            *(
                [("Files", "listed every 15 minutes, read in memory for content inspection")]
                if Data.FILES_FOR_DLP in sends
                else []
            ),
            (
                "Governance actions it may receive",
                ", ".join(kind_labels.get(k, k) for k in governance) or "none",
            ),
        ]
        paused = not instance.enabled
        yield Integration(
            provider="connected_apps",
            id=str(instance.pk),
            name=instance.name,
            type=f"Connected app ({vendors.get(instance.vendor, instance.vendor)})",
            direction=Direction.BOTH if receives else Direction.INBOUND,
            status="paused" if paused else instance.status,
            status_label="Paused" if paused else instance.get_status_display(),
            configure_url=reverse("connectors:detail", args=[tenant.slug, instance.pk]),
            receives=receives,
            sends=sends,
            details=tuple(details),
        )
