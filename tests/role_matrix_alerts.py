"""Role-matrix rows and builders of the alert pages and API (merged by tests/role_matrix.py)."""

from __future__ import annotations

import uuid

from apps.alerts.models import Alert
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404  # charlie on anything of tenant A's

# Triage needs MANAGE_ALERTS (not readers, spec 8.2); the export needs EXPORT (not readers).
_TRIAGE_EMPTY_FORM = (LOGIN, 403, 400, 400, _STRANGER)  # an empty triage form is invalid
_BULK_EMPTY_FORM = (LOGIN, 403, 302, 302, _STRANGER)  # refused with a message, back to the queue
_EXPORT = (LOGIN, 403, 200, 200, _STRANGER)

ROWS: dict[str, dict[str, tuple]] = {
    "alerts:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "alerts:detail": {"GET": MEMBERS_READ, "POST": _TRIAGE_EMPTY_FORM},
    "alerts:bulk": {"GET": NO_POST, "POST": _BULK_EMPTY_FORM},
    "alerts:export": {"GET": _EXPORT, "POST": NO_POST},
    # charlie's token reads and exports *his* tenant (200 with B's rows only); `{}` is an empty,
    # valid change (200) and an invalid bulk request (400, in his tenant).
    "api-alerts-list": {
        "GET": (401, 200, 200, 200, 200),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-alerts-detail": {
        "GET": (401, 200, 200, 200, 404),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": (401, 403, 200, 200, 404),
        "DELETE": API_NONE,
    },
    "api-alerts-bulk": {
        "GET": API_NONE,
        "POST": (401, 403, 400, 400, 400),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-alerts-export": {
        "GET": (401, 403, 200, 200, 200),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
}


@builds("alert_id", "api-alerts-detail")
def build_alert(world: World) -> Built:
    from tests.alerts.alertdata import make_alert  # imports the alerts app's raising code

    suffix = uuid.uuid4().hex[:8]
    app = logdata.app(world.tenant_a, f"Matrix app {suffix}")
    person = logdata.person(world.tenant_a, f"matrix-{suffix}@alpha.test", f"Matrix {suffix}")
    alert = make_alert(
        world.tenant_a, app=app, person=person, title=f"Matrix alert {suffix}", ip="192.0.2.77"
    )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(Alert.objects.filter(pk=alert.pk).values())

    return Built(
        kwargs={"alert_id": alert.pk, "id": alert.pk},
        snapshot=snapshot,
        secrets=(str(alert.pk), alert.title, person.identity),
    )
