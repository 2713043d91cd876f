"""Role-matrix rows of content inspection: settings (merged by tests/role_matrix.py).

Every member reads the page and the API and may use "try it" (it stores nothing; an empty text
is invalid: 400); changes need MANAGE_SETTINGS (readers 403). The custom type URLs are built
with a type of tenant A, so charlie gets 404 even from his own token.
"""

from __future__ import annotations

import itertools

from django.forms.models import model_to_dict

from apps.dlp import settings_services
from apps.dlp.models import CustomSensitiveType
from apps.tenants.scoping import tenant_context
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404
_ADMIN_WRITE = (LOGIN, 403, 400, 400, _STRANGER)  # an empty form is invalid: 400 and the form
_WRITE_PAGE = (LOGIN, 403, 200, 200, _STRANGER)


def _only(**methods) -> dict:
    row = {m: API_NONE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    "dlp_settings:index": {"GET": MEMBERS_READ, "POST": _ADMIN_WRITE},
    "dlp_settings:try": {"GET": NO_POST, "POST": (LOGIN, 400, 400, 400, _STRANGER)},
    "dlp_settings:custom-new": {"GET": _WRITE_PAGE, "POST": _ADMIN_WRITE},
    "dlp_settings:custom-edit": {"GET": _WRITE_PAGE, "POST": _ADMIN_WRITE},
    "dlp_settings:custom-delete": {"GET": NO_POST, "POST": (LOGIN, 403, 302, 302, _STRANGER)},
    # charlie's token reads and writes *his* tenant: 200 with B's types, `{}` invalid there.
    "api-dlp-sensitive-types": _only(GET=(401, 200, 200, 200, 200)),
    "api-dlp-custom-types-list": _only(
        GET=(401, 200, 200, 200, 200), POST=(401, 403, 400, 400, 400)
    ),
    "api-dlp-custom-types-detail": _only(
        GET=(401, 200, 200, 200, 404),
        PATCH=(401, 403, 200, 200, 404),  # `{}` is a valid, empty change
        DELETE=(401, 403, 204, 204, 404),
    ),
    "api-dlp-thresholds": _only(GET=(401, 200, 200, 200, 200), PUT=(401, 403, 400, 400, 400)),
    "api-dlp-test": _only(POST=(401, 400, 400, 400, 400)),
}

_numbers = itertools.count(1)


@builds("type_id", "api-dlp-custom-types-detail")
def build_custom_type(world: World) -> Built:
    n = next(_numbers)
    with tenant_context(world.tenant_a):
        custom = settings_services.create_custom_type(
            tenant=world.tenant_a,
            actor=None,
            name=f"Matrix project code {n}",
            regex=r"PRJ-\d{4}",
        )

    def snapshot():
        with tenant_context(world.tenant_a):
            row = CustomSensitiveType.objects.filter(pk=custom.pk).first()
            return model_to_dict(row) if row else None

    return Built(
        kwargs={"type_id": custom.pk, "id": custom.pk},
        snapshot=snapshot,
        secrets=(str(custom.pk), custom.name),
    )
