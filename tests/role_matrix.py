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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.forms.models import model_to_dict

from apps.tenants import audit, token_services
from apps.tenants.models import ApiToken, AuditEvent, Membership, Role, Tenant
from apps.tenants.scoping import tenant_context
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
    "activities:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "accounts:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "alerts:list": {"GET": MEMBERS_READ, "POST": NO_POST},
    "alerts:policies": {"GET": MEMBERS_READ, "POST": NO_POST},
    "governance:log": {"GET": MEMBERS_READ, "POST": NO_POST},
    "discovery:dashboard": {"GET": MEMBERS_READ, "POST": NO_POST},
    "dlp:files": {"GET": MEMBERS_READ, "POST": NO_POST},
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


def token_key(user, tenant: Tenant, role: str, name: str = "matrix") -> str:
    """A fresh API key for `user` in `tenant` with `role`, made through the real service."""
    return token_services.create_token(tenant=tenant, creator=user, name=name, role=role).key
