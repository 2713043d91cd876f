"""The role matrix: what every URL answers to every principal (read by tests/test_role_matrix.py).

One row per URL name. `tests/test_role_matrix.py` walks the URL resolver and fails when a URL
name has no row here, so a new page or endpoint cannot ship without its expected answers.

Columns, always in this order (PRINCIPALS):
    anonymous  nobody signed in / no token
    rita       security reader of tenant A
    sam        security admin of tenant A
    alice      global admin of tenant A
    charlie    global admin of tenant B only: for anything of A's he must get 404 (never 403,
               which would confirm that the object exists)

Console URLs (everything outside /api/) are called with a signed-in session, methods GET and
POST (an empty form). API URLs (under /api/) are called with a token that each person created
with their own role (anonymous: no header), methods GET, POST, PUT, PATCH, DELETE (writes send
`{}` as JSON). Values are HTTP statuses; LOGIN means a redirect to the sign-in page.

URL kwargs: `tenant_slug` is always tenant A. Any other kwarg is filled with a fresh object of
tenant A made by a builder registered below with `@builds(...)`, keyed by URL name or by kwarg
name. A later module with a new kwarg adds a builder here (the meta-test names what is missing).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.forms.models import model_to_dict

from apps.accounts.models import Account, CloudUser
from apps.activities import iprange_services
from apps.activities.models import Activity, IpCategory, IpRange
from apps.connectors import services as connector_services
from apps.connectors.models import AppInstance
from apps.tenants import audit, token_services
from apps.tenants.models import ApiToken, AuditEvent, Membership, Role, Tenant
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.factories import UserFactory, member

PRINCIPALS = ("anonymous", "rita", "sam", "alice", "charlie")
CONSOLE_METHODS = ("GET", "POST")
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
LOGIN = "login"

# Shorthands for rows that repeat. Read them as "the answer per principal, left to right".
_STRANGER = 404  # charlie on anything under /t/<A>/
MEMBERS_READ = (LOGIN, 200, 200, 200, _STRANGER)  # any member of A may look
NO_POST = (LOGIN, 405, 405, 405, _STRANGER)  # a read-only console page
GLOBAL_ADMIN_ONLY_READ = (LOGIN, 403, 403, 200, _STRANGER)
# An empty form from someone allowed to submit it is invalid: 400 and the form again.
GLOBAL_ADMIN_WRITE = (LOGIN, 403, 403, 400, _STRANGER)
ADMIN_WRITE = (LOGIN, 403, 400, 400, _STRANGER)

API_NONE = (401, 405, 405, 405, 405)  # a method the endpoint does not offer

EXPECTED: dict[str, dict[str, tuple]] = {
    # --- Not tenant-scoped -----------------------------------------------------------------
    # Home sends a signed-in person to their only tenant (charlie: to B) or to the picker.
    "home": {"GET": (LOGIN, 302, 302, 302, 302), "POST": (LOGIN, 302, 302, 302, 302)},
    # Liveness for load balancers: no data, no side effect, any method.
    "healthz": {"GET": (200, 200, 200, 200, 200), "POST": (405, 405, 405, 405, 405)},
    # An empty sign-in form is invalid: 400 and the form again.
    "login": {"GET": (200, 200, 200, 200, 200), "POST": (400, 400, 400, 400, 400)},
    "logout": {"GET": (405, 405, 405, 405, 405), "POST": (302, 302, 302, 302, 302)},
    "mfa-verify": {"GET": (LOGIN, 302, 302, 302, 302), "POST": (LOGIN, 302, 302, 302, 302)},
    "mfa-enrol": {"GET": (LOGIN, 200, 200, 200, 200), "POST": (LOGIN, 400, 400, 400, 400)},
    "account-security": {"GET": (LOGIN, 200, 200, 200, 200), "POST": (LOGIN, 400, 400, 400, 400)},
    # --- Tenant console: /t/<A>/ -----------------------------------------------------------
    "tenants:dashboard": {"GET": MEMBERS_READ, "POST": NO_POST},
    "tenants:search": {"GET": MEMBERS_READ, "POST": NO_POST},
    "tenants:settings": {"GET": MEMBERS_READ, "POST": GLOBAL_ADMIN_WRITE},
    "tenants:members": {"GET": MEMBERS_READ, "POST": GLOBAL_ADMIN_WRITE},
    # POST-only; an empty form is refused with a flash message and a redirect to the list.
    "tenants:member": {"GET": NO_POST, "POST": (LOGIN, 403, 403, 302, _STRANGER)},
    # An empty form is a valid policy (no restrictions, MFA not required): saved, redirect.
    "tenants:portal-security": {"GET": MEMBERS_READ, "POST": (LOGIN, 403, 403, 302, _STRANGER)},
    "tenants:audit": {"GET": GLOBAL_ADMIN_ONLY_READ, "POST": NO_POST},
    "tenants:audit-export": {"GET": GLOBAL_ADMIN_ONLY_READ, "POST": NO_POST},
    # Readers may create (reader) tokens, spec 8.1.
    "tenants:tokens": {"GET": MEMBERS_READ, "POST": (LOGIN, 400, 400, 400, _STRANGER)},
    # The token is alice's: only she (owner) may revoke it; others' roles get 403.
    "tenants:token-revoke": {"GET": NO_POST, "POST": (LOGIN, 403, 403, 302, _STRANGER)},
    # --- Activity log, users and accounts (activitylog) ------------------------------------
    "activities:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "activities:detail": {"GET": MEMBERS_READ, "POST": NO_POST},
    # Exporting personal data in bulk needs EXPORT, which readers lack.
    "activities:export": {"GET": (LOGIN, 403, 200, 200, _STRANGER), "POST": NO_POST},
    "accounts:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "accounts:detail": {"GET": MEMBERS_READ, "POST": NO_POST},
    # --- IP ranges and the push API (ingestion) --------------------------------------------
    # Every member reads the ranges; writes need MANAGE_SETTINGS. An empty form is invalid (400);
    # the edit page is a write page (readers 403); delete is POST-only and redirects.
    "ipranges:list": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    "ipranges:edit": {"GET": (LOGIN, 403, 200, 200, _STRANGER), "POST": ADMIN_WRITE},
    "ipranges:delete": {"GET": NO_POST, "POST": (LOGIN, 403, 302, 302, _STRANGER)},
    # --- Connected apps (connectors) --------------------------------------------------------
    # Every member sees the apps and their status; adding one (a write page) and every change
    # need MANAGE_SETTINGS. Empty forms are invalid (400); the actions are POST-only and
    # redirect back to the app (poll now, pause, resume) or to the list (delete).
    "connectors:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "connectors:create": {"GET": (LOGIN, 403, 200, 200, _STRANGER), "POST": ADMIN_WRITE},
    "connectors:detail": {"GET": MEMBERS_READ, "POST": ADMIN_WRITE},
    **{
        f"connectors:{name}": {"GET": NO_POST, "POST": (LOGIN, 403, 302, 302, _STRANGER)}
        for name in ("poll", "pause", "resume", "delete")
    },
    # --- API: /api/v1/ ---------------------------------------------------------------------
    # Schema: any valid token (or session); docs: people only, so token callers are sent to
    # sign in like anonymous ones.
    "api-schema": {
        "GET": (401, 200, 200, 200, 200),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-docs": {m: (LOGIN,) * 5 for m in API_METHODS},
    # charlie's token reads *his* tenant: lists and the tenant answer 200 with B's data only.
    "api-tenant": {
        "GET": (401, 200, 200, 200, 200),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-members-list": {
        "GET": (401, 200, 200, 200, 200),
        "POST": (401, 403, 403, 400, 400),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-members-detail": {
        "GET": (401, 200, 200, 200, 404),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": (401, 403, 403, 400, 404),
        "DELETE": (401, 403, 403, 204, 404),
    },
    "api-audit-list": {
        "GET": (401, 403, 403, 200, 200),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    # --- Activity log, users and accounts (activitylog) ------------------------------------
    # POST /activities/ is a query (the spec's JSON filters): a read, open to readers; charlie's
    # token queries his own tenant. The export needs EXPORT (not readers).
    "api-activities-list": {
        "GET": (401, 200, 200, 200, 200),
        "POST": (401, 200, 200, 200, 200),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-activities-detail": {
        "GET": (401, 200, 200, 200, 404),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-activities-export": {
        "GET": (401, 403, 200, 200, 200),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    **{
        name: {
            "GET": (401, 200, 200, 200, 200 if name.endswith("-list") else 404),
            "POST": API_NONE,
            "PUT": API_NONE,
            "PATCH": API_NONE,
            "DELETE": API_NONE,
        }
        for name in (
            "api-users-list",
            "api-users-detail",
            "api-accounts-list",
            "api-accounts-detail",
        )
    },
    # --- IP ranges and the push API (ingestion) --------------------------------------------
    # Readers read ranges; writes need MANAGE_SETTINGS. `{}` is an invalid range (400) and a
    # valid, empty change (200). charlie's token creates in *his* tenant (400 for `{}`).
    "api-ip-ranges-list": {
        "GET": (401, 200, 200, 200, 200),
        "POST": (401, 403, 400, 400, 400),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-ip-ranges-detail": {
        "GET": (401, 200, 200, 200, 404),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": (401, 403, 200, 200, 404),
        "DELETE": (401, 403, 204, 204, 404),
    },
    # Pushing activities needs MANAGE_SETTINGS; `{}` is not an array of events (400).
    "api-activities-ingest": {
        "GET": API_NONE,
        "POST": (401, 403, 400, 400, 400),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    # --- Connected apps (connectors) --------------------------------------------------------
    # Readers read; writes need MANAGE_SETTINGS. `{}` is an invalid app (400) and a valid, empty
    # change (200). charlie's token creates in *his* tenant (400 for `{}`). Poll now: 202.
    "api-apps-list": {
        "GET": (401, 200, 200, 200, 200),
        "POST": (401, 403, 400, 400, 400),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-apps-detail": {
        "GET": (401, 200, 200, 200, 404),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": (401, 403, 200, 200, 404),
        "DELETE": (401, 403, 204, 204, 404),
    },
    "api-apps-poll": {
        "GET": API_NONE,
        "POST": (401, 403, 202, 202, 404),
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
    "api-audit-detail": {
        "GET": (401, 403, 403, 200, 404),
        "POST": API_NONE,
        "PUT": API_NONE,
        "PATCH": API_NONE,
        "DELETE": API_NONE,
    },
}


# --- Objects for URL kwargs --------------------------------------------------------------------


@dataclass
class World:
    """The fixtures a builder may use."""

    tenant_a: Tenant
    tenant_b: Tenant
    users: dict[str, Any]  # principal name -> user (no "anonymous")


@dataclass
class Built:
    """A fresh object of tenant A for one cell of the matrix."""

    kwargs: dict[str, Any]
    # The object's state; a refused request (4xx) must leave it unchanged.
    snapshot: Callable[[], Any]
    # Strings that must never appear in an answer to another tenant's principal.
    secrets: tuple[str, ...] = field(default=())


Builder = Callable[[World], Built]
BUILDERS: dict[str, Builder] = {}


def builds(*keys: str) -> Callable[[Builder], Builder]:
    """Register a builder for URL names and/or kwarg names (a URL name wins)."""

    def decorator(fn: Builder) -> Builder:
        for key in keys:
            BUILDERS[key] = fn
        return fn

    return decorator


def builder_for(url_name: str, kwarg: str) -> Builder | None:
    return BUILDERS.get(url_name) or BUILDERS.get(kwarg)


def _row(model, **lookup) -> dict | None:
    obj = model.objects.filter(**lookup).first()
    return model_to_dict(obj) if obj is not None else None


@builds("membership_id", "api-members-detail")
def build_membership(world: World) -> Built:
    user = UserFactory()
    member(world.tenant_a, Role.SECURITY_READER, username=user.username)
    membership = Membership.objects.get(tenant=world.tenant_a, user=user)
    return Built(  # the console names the kwarg membership_id, the API id
        kwargs={"membership_id": membership.pk, "id": membership.pk},
        snapshot=lambda: _row(Membership, pk=membership.pk),
        secrets=(str(membership.pk), user.username),
    )


@builds("token_id")
def build_token(world: World) -> Built:
    created = token_services.create_token(
        tenant=world.tenant_a,
        creator=world.users["alice"],
        name="matrix probe",
        role=Role.SECURITY_READER,
    )
    pk = created.token.pk
    return Built(
        kwargs={"token_id": pk},
        snapshot=lambda: _row(ApiToken, pk=pk),
        secrets=(str(pk), created.token.prefix),
    )


@builds("api-audit-detail")
def build_audit_event(world: World) -> Built:
    event = audit.record(world.tenant_a, "matrix.probe", details={"probe": "a-only"})

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(AuditEvent.objects.filter(pk=event.pk).values_list("seq", "hash"))

    return Built(kwargs={"id": event.pk}, snapshot=snapshot, secrets=(str(event.pk),))


# --- Activity log, users and accounts (activitylog) -------------------------------------------


def _directory_probe(world: World):
    suffix = uuid.uuid4().hex[:8]
    app = logdata.app(world.tenant_a, name=f"Matrix app {suffix}")
    person = logdata.person(world.tenant_a, f"matrix-{suffix}@alpha.test", f"Matrix {suffix}")
    account = logdata.account(world.tenant_a, app, person, username=f"matrix-acct-{suffix}")
    return app, person, account


@builds("activity_id", "api-activities-detail")
def build_activity(world: World) -> Built:
    app, person, account = _directory_probe(world)
    (row,) = logdata.add(
        world.tenant_a,
        [
            logdata.activity_row(
                app,
                logdata.base_time(),
                user=person,
                account=account,
                object_name=f"matrix-object-{person.identity}",
            )
        ],
    )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(Activity.objects.filter(pk=row.pk).values())

    return Built(
        kwargs={"activity_id": row.pk, "id": row.pk},
        snapshot=snapshot,
        secrets=(str(row.pk), row.object_name),
    )


@builds("user_id", "api-users-detail")
def build_person(world: World) -> Built:
    _, person, _ = _directory_probe(world)

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(CloudUser.objects.filter(pk=person.pk).values())

    return Built(
        kwargs={"user_id": person.pk, "id": person.pk},
        snapshot=snapshot,
        secrets=(str(person.pk), person.identity),
    )


@builds("api-accounts-detail")
def build_account(world: World) -> Built:
    _, _, account = _directory_probe(world)

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(Account.objects.filter(pk=account.pk).values())

    return Built(
        kwargs={"id": account.pk},
        snapshot=snapshot,
        secrets=(str(account.pk), account.username),
    )


# --- IP ranges (ingestion) -------------------------------------------------------------------

_range_numbers = itertools.count(1)


@builds("range_id", "api-ip-ranges-detail")
def build_ip_range(world: World) -> Built:
    n = next(_range_numbers)
    with tenant_context(world.tenant_a):
        ip_range = iprange_services.create_range(
            tenant=world.tenant_a,
            actor=None,
            name=f"Matrix range {n}",
            cidrs=[f"10.{n // 256 % 256}.{n % 256}.0/24"],
            category=IpCategory.CORPORATE,
            tags=[f"matrix-tag-{n}"],
        )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(IpRange.objects.filter(pk=ip_range.pk).values())

    return Built(
        kwargs={"range_id": ip_range.pk, "id": ip_range.pk},
        snapshot=snapshot,
        secrets=(str(ip_range.pk), ip_range.name, f"matrix-tag-{n}"),
    )


# --- Connected apps (connectors) -------------------------------------------------------------

_app_numbers = itertools.count(1)


@builds("instance_id", "api-apps-detail", "api-apps-poll")
def build_app_instance(world: World) -> Built:
    n = next(_app_numbers)
    secret = f"matrix-okta-secret-{uuid.uuid4().hex}"
    instance = connector_services.create_instance(
        tenant=world.tenant_a,
        actor=None,
        vendor="okta",
        name=f"Matrix Okta {n}",
        base_url="https://localhost",
        credentials={"api_token": secret},
    )

    def snapshot():
        with tenant_context(world.tenant_a):
            return list(AppInstance.objects.filter(pk=instance.pk).values())

    return Built(
        kwargs={"instance_id": instance.pk, "id": instance.pk},
        snapshot=snapshot,
        secrets=(str(instance.pk), instance.name, secret),
    )


def token_key(user, tenant: Tenant, role: str, name: str = "matrix") -> str:
    """A fresh API key for `user` in `tenant` with `role`, made through the real service."""
    return token_services.create_token(tenant=tenant, creator=user, name=name, role=role).key


# Rows and builders of later modules live in files of their own, merged here (the meta-test
# reads EXPECTED). Imported last: they use the shorthands and `builds` defined above.
from tests import (  # noqa: E402
    role_matrix_alerts,
    role_matrix_discovery_ingest,
    role_matrix_discovery_manage,
    role_matrix_discovery_reports,
    role_matrix_dlp_settings,
    role_matrix_file_policies,
    role_matrix_files,
    role_matrix_governance,
    role_matrix_icap,
    role_matrix_integrations,
    role_matrix_location,
    role_matrix_offboarding,
    role_matrix_policies,
    role_matrix_private,
    role_matrix_retention,
    role_matrix_scope,
    role_matrix_subjects,
)

for _module in (
    role_matrix_alerts,
    role_matrix_governance,
    role_matrix_policies,
    role_matrix_discovery_reports,
    role_matrix_discovery_ingest,
    role_matrix_discovery_manage,
    role_matrix_retention,
    role_matrix_subjects,
    role_matrix_scope,
    role_matrix_location,
    role_matrix_offboarding,
    role_matrix_private,
    role_matrix_files,
    role_matrix_file_policies,
    role_matrix_dlp_settings,
    role_matrix_icap,
    role_matrix_integrations,
):
    _clash = set(_module.ROWS) & set(EXPECTED)
    assert not _clash, f"role matrix rows defined twice: {sorted(_clash)}"
    EXPECTED.update(_module.ROWS)
