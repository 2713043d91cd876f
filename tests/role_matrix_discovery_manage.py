"""Role-matrix rows and builders of the discovery management pages and API (merged by
tests/role_matrix.py).

Reads are open to every member; changes need MANAGE_DISCOVERY (not readers); resolving a
pseudonym needs DEANONYMIZE (not readers). The app-keyed URLs are built with a custom app of
tenant A, so charlie (tenant B, where no such app exists) gets 404 even from his own token.
"""

from __future__ import annotations

import itertools

from apps.discovery import services_custom_apps as custom_apps
from apps.discovery import services_manage as manage
from apps.discovery.models import AppOverride, AppTag, AppTagging, CustomApp
from apps.tenants.scoping import tenant_context
from tests.role_matrix import API_NONE, LOGIN, MEMBERS_READ, NO_POST, Built, World, builds

_STRANGER = 404
_ADMIN_WRITE = (LOGIN, 403, 400, 400, _STRANGER)  # an empty form is invalid: 400 and the form
_ADMIN_ACTION = (LOGIN, 403, 302, 302, _STRANGER)  # refused or done with a message: redirect
_API_LIST = {
    "GET": (401, 200, 200, 200, 200),
    "POST": (401, 403, 400, 400, 400),  # charlie's token writes to his own tenant
    "PUT": API_NONE,
    "PATCH": API_NONE,
    "DELETE": API_NONE,
}
_API_DETAIL = {
    "GET": (401, 200, 200, 200, 404),
    "POST": API_NONE,
    "PUT": API_NONE,
    "PATCH": (401, 403, 200, 200, 404),  # `{}` is a valid, empty change
    "DELETE": (401, 403, 204, 204, 404),
}


def _only(**methods) -> dict:
    row = {m: API_NONE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    row.update(methods)
    return row


ROWS: dict[str, dict[str, tuple]] = {
    "discovery:tags": {"GET": MEMBERS_READ, "POST": _ADMIN_WRITE},
    "discovery:tag_delete": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    "discovery:tag_rename": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    "discovery:bulk_tag": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    "discovery:app_tag": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    "discovery:app_override": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    "discovery:block_script": {"GET": MEMBERS_READ, "POST": NO_POST},
    # No appliance chosen: back to the page with a message.
    "discovery:block_script_download": {"GET": (LOGIN, 302, 302, 302, _STRANGER), "POST": NO_POST},
    "discovery:score_metric": {"GET": MEMBERS_READ, "POST": _ADMIN_WRITE},
    "discovery:custom_apps": {"GET": MEMBERS_READ, "POST": _ADMIN_WRITE},
    "discovery:custom_app_edit": {"GET": (LOGIN, 403, 200, 200, _STRANGER), "POST": _ADMIN_WRITE},
    "discovery:custom_app_delete": {"GET": NO_POST, "POST": _ADMIN_ACTION},
    # An empty form is a valid "not by default".
    "discovery:anonymization": {"GET": MEMBERS_READ, "POST": _ADMIN_ACTION},
    "discovery:anonymization_resolve": {"GET": NO_POST, "POST": _ADMIN_WRITE},
    "api-discovery-tags-list": _API_LIST,
    "api-discovery-tags-detail": _API_DETAIL,
    "api-discovery-custom-apps-list": _API_LIST,
    "api-discovery-custom-apps-detail": _API_DETAIL,
    "api-discovery-app-tags-bulk": _only(POST=(401, 403, 400, 400, 400)),
    "api-discovery-app-tags": _only(GET=(401, 200, 200, 200, 404), POST=(401, 403, 400, 400, 404)),
    "api-discovery-override": _only(
        GET=(401, 200, 200, 200, 404),
        PUT=(401, 403, 400, 400, 404),
        DELETE=(401, 403, 204, 204, 404),
    ),
    # No appliance: 400 for everyone who may read (charlie reads his own tenant).
    "api-discovery-block-script": _only(GET=(401, 400, 400, 400, 400)),
    "api-discovery-settings": _only(GET=(401, 200, 200, 200, 200), PATCH=(401, 403, 200, 200, 200)),
    "api-discovery-resolve": _only(POST=(401, 403, 400, 400, 400)),
}

_numbers = itertools.count(1)


@builds("discovery:tag_delete", "discovery:tag_rename", "api-discovery-tags-detail")
def build_tag(world: World) -> Built:
    n = next(_numbers)
    with tenant_context(world.tenant_a):
        tag = manage.create_tag(name=f"Matrix tag {n}", actor="matrix")

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(AppTag.objects.filter(pk=tag.pk).values())

    return Built(
        kwargs={"tag_id": tag.pk, "id": tag.pk},
        snapshot=snapshot,
        secrets=(str(tag.pk), tag.name),
    )


def _custom_app(world: World) -> CustomApp:
    n = next(_numbers)
    with tenant_context(world.tenant_a):
        return custom_apps.create_custom_app(
            name=f"Matrix LOB app {n}", domains=[f"lob{n}.matrix-alpha.test"], actor="matrix"
        )


@builds(
    "discovery:app_tag",
    "discovery:app_override",
    "api-discovery-app-tags",
    "api-discovery-override",
)
def build_app(world: World) -> Built:
    app = _custom_app(world)
    with tenant_context(world.tenant_a):
        manage.tag_app(app=app.key, tag=manage.builtin_tag("monitored"), actor="matrix")
        manage.set_override(app=app.key, score="4.5", note="matrix note", actor="matrix")

    def snapshot():
        with tenant_context(world.tenant_a):
            return (
                sorted(AppTagging.objects.filter(app=app.key).values_list("tag_id", flat=True)),
                list(AppOverride.objects.filter(app=app.key).values("score", "note")),
            )

    return Built(kwargs={"app": app.key}, snapshot=snapshot, secrets=(app.key, app.name))


@builds(
    "discovery:custom_app_edit", "discovery:custom_app_delete", "api-discovery-custom-apps-detail"
)
def build_custom_app(world: World) -> Built:
    app = _custom_app(world)

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(CustomApp.objects.filter(pk=app.pk).values())

    return Built(
        kwargs={"custom_app_id": app.pk, "id": app.pk},
        snapshot=snapshot,
        secrets=(str(app.pk), app.name, app.domains[0]),
    )
