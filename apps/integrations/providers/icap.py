"""The tenant's ICAP service: proxies (Squid and the like) send us files for a DLP scan.

Inbound only: the proxy sends files (inspected in memory, never stored); what goes back is a
verdict (204, the message unchanged, or the tenant's own block page), not the tenant's data.
Listed once the service has a secret or is on. One query.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse
from django.utils import timezone

from apps.dlp.models import IcapSettings
from apps.tenants.models import Tenant

from ..registry import Data, Direction, Integration, register


@register(
    "icap",
    label="ICAP: files for DLP scan",
    order=60,
    empty="The ICAP service would appear here once a secret is generated or it is switched on.",
)
def icap_service(tenant: Tenant) -> Iterator[Integration]:
    row = IcapSettings.objects.first()
    if row is None or not (row.enabled or row.secret_digest):
        return
    rotated = row.secret_rotated_at
    yield Integration(
        provider="icap",
        id=str(row.pk),
        name="ICAP service",
        type="ICAP (RFC 3507) proxy connection",
        direction=Direction.INBOUND,
        status="active" if row.enabled else "disabled",
        status_label="On" if row.enabled else "Off: requests are refused",
        configure_url=reverse("icap:settings", args=[tenant.slug]),
        sends=(Data.FILES_FOR_DLP,),
        details=(
            ("Mode", row.get_mode_display()),
            ("Secret prefix", f"{row.secret_prefix}…" if row.secret_prefix else "none"),
            (
                "Secret generated",
                timezone.localtime(rotated).strftime("%Y-%m-%d %H:%M") if rotated else "never",
            ),
        ),
    )
