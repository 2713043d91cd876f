"""Role-matrix rows of Settings > Integrations and /api/v1/integrations/ (merged by
tests/role_matrix.py).

Every member reads the list, each destination, its dead letters and its delivery history;
adding, editing, turning off or on, rotating the secret, deleting and sending a dead letter
again need MANAGE_SETTINGS (readers 403). The object URLs are built with a webhook of tenant A
(with one dead letter), so charlie gets 404 even from his own token.
"""

from __future__ import annotations

import itertools

from apps.integrations import services
from apps.integrations.models import DeadLetter, Destination, DestinationKind, EventKind
from apps.tenants.scoping import tenant_context
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404
_WRITE_PAGE = (LOGIN, 403, 200, 200, _STRANGER)  # a form page: readers 403
_ADMIN_WRITE = (LOGIN, 403, 400, 400, _STRANGER)  # an empty form is invalid: 400 and the form
_ADMIN_ACTION = (LOGIN, 403, 302, 302, _STRANGER)  # done with a message: back to the page


def _only(**methods) -> dict:
    row = {m: API_NONE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    "integrations:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "integrations:add-siem": {"GET": _WRITE_PAGE, "POST": _ADMIN_WRITE},
    "integrations:add-webhook": {"GET": _WRITE_PAGE, "POST": _ADMIN_WRITE},
    "integrations:detail": {"GET": MEMBERS_READ, "POST": _ADMIN_WRITE},
    "integrations:turn-on": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    "integrations:turn-off": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    # The new secret is rendered in the answer (200), never redirected.
    "integrations:rotate-secret": {"GET": NO_POST, "POST": (LOGIN, 403, 200, 200, _STRANGER)},
    # An empty form has no confirmation: 400 and the page again, nothing deleted.
    "integrations:delete": {"GET": NO_POST, "POST": _ADMIN_WRITE},
    "integrations:resend": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    # charlie's token reads and writes *his* tenant: 200 with B's list, `{}` invalid there.
    "api-integrations-destinations-list": _only(
        GET=(401, 200, 200, 200, 200), POST=(401, 403, 400, 400, 400)
    ),
    "api-integrations-destinations-detail": _only(
        GET=(401, 200, 200, 200, 404),
        PATCH=(401, 403, 200, 200, 404),  # `{}` is a valid, empty change
        DELETE=(401, 403, 204, 204, 404),
    ),
    "api-integrations-destinations-rotate-secret": _only(POST=(401, 403, 200, 200, 404)),
    "api-integrations-destinations-dead-letters": _only(GET=(401, 200, 200, 200, 404)),
    "api-integrations-destinations-deliveries": _only(GET=(401, 200, 200, 200, 404)),
    "api-integrations-dead-letters-resend": _only(POST=(401, 403, 202, 202, 404)),
    # Alert feeds: any token reads its own tenant's alerts (charlie: B's, so 200).
    "api-alerts-feed-list": _only(GET=(401, 200, 200, 200, 200)),
    "api-alerts-feed-jsonl": _only(GET=(401, 200, 200, 200, 200)),
}

_numbers = itertools.count(1)


def _webhook(world: World) -> tuple[Destination, DeadLetter, str]:
    n = next(_numbers)
    url = f"https://hooks.example.test/matrix-{n}?sig=matrix-sig-{n}"
    with tenant_context(world.tenant_a):
        destination, secret = services.create_destination(
            kind=DestinationKind.WEBHOOK,
            name=f"Matrix webhook {n}",
            data_kinds=[EventKind.ALERT],
            config={"url": url},
        )
        letter = DeadLetter.objects.create(
            destination=destination,
            seq=1,
            kind=EventKind.ALERT,
            ref=f"matrix-alert-{n}",
            error="the receiver answered HTTP 400",
            attempts=5,
        )
    return destination, letter, secret


@builds(
    "destination_id",
    "api-integrations-destinations-detail",
    "api-integrations-destinations-rotate-secret",
    "api-integrations-destinations-dead-letters",
    "api-integrations-destinations-deliveries",
)
def build_destination(world: World) -> Built:
    destination, letter, secret = _webhook(world)

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(Destination.objects.filter(pk=destination.pk).values())

    return Built(
        kwargs={"destination_id": destination.pk, "id": destination.pk},
        snapshot=snapshot,
        secrets=(str(destination.pk), destination.name, secret, "matrix-sig", letter.ref),
    )


@builds("letter_id", "api-integrations-dead-letters-resend")
def build_dead_letter(world: World) -> Built:
    destination, letter, secret = _webhook(world)

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(DeadLetter.objects.filter(pk=letter.pk).values())

    return Built(
        kwargs={"letter_id": letter.pk, "id": letter.pk},
        snapshot=snapshot,
        secrets=(str(letter.pk), letter.ref, destination.name, secret),
    )
