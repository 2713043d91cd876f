"""Role-matrix rows and builders of the discovery reports, console and API (merged by
tests/role_matrix.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from apps.discovery.models import AppDay, AppIpDay, AppUserDay, Report, ReportKind
from apps.tenants.scoping import tenant_context
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404  # charlie on anything under /t/<A>/
_EXPORT = (LOGIN, 403, 200, 200, _STRANGER)  # CSV exports need EXPORT (not readers)


def _api(get: tuple) -> dict[str, tuple]:
    return {"GET": get, "POST": API_NONE, "PUT": API_NONE, "PATCH": API_NONE, "DELETE": API_NONE}


ROWS: dict[str, dict[str, tuple]] = {
    **{
        f"discovery:{name}": {"GET": MEMBERS_READ, "POST": NO_POST}
        for name in ("dashboard", "apps", "app", "unrecognised", "users", "ips", "executive")
    },
    **{
        f"discovery:{name}": {"GET": _EXPORT, "POST": NO_POST}
        for name in ("apps-export", "users-export", "ips-export")
    },
    # Read-only; charlie's token reads *his* tenant (200 with B's rows only). One app is 404 for
    # him: tenant B has no traffic to it.
    "api-discovery-reports-list": _api((401, 200, 200, 200, 200)),
    "api-discovery-apps-list": _api((401, 200, 200, 200, 200)),
    "api-discovery-apps-categories": _api((401, 200, 200, 200, 200)),
    "api-discovery-apps-detail": _api((401, 200, 200, 200, 404)),
    "api-discovery-users-list": _api((401, 200, 200, 200, 200)),
    "api-discovery-ips-list": _api((401, 200, 200, 200, 200)),
}


@builds("discovery:app", "api-discovery-apps-detail")
def build_discovered_app(world: World) -> Built:
    """Traffic of tenant A to Dropbox today, from a user whose name must not leak."""
    secret = f"matrix-{uuid.uuid4().hex[:10]}@alpha.test"
    day = datetime.now(UTC).date()
    with tenant_context(world.tenant_a):
        report = Report.objects.create(
            name=f"Matrix feed {secret}", kind=ReportKind.CONTINUOUS, log_format="squid_native"
        )
        common = {"report": report, "day": day, "app": "dropbox", "transactions": 3}
        AppDay.objects.create(**common, domain="dropbox.com", bytes_down=900)
        AppUserDay.objects.create(**common, user=secret, bytes_down=900)
        AppIpDay.objects.create(**common, ip="192.0.2.41", bytes_down=900)

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(AppDay.objects.filter(report=report).values())

    return Built(kwargs={"app": "dropbox"}, snapshot=snapshot, secrets=(secret,))
