"""The tenant's ICAP service: its settings (writes audited, never with the secret), the
secret (generated here, shown once, stored as SHA-256), and who may call the server.

How a proxy presents the secret (either works; the header is preferred because a URI ends up
in proxy logs):
- the ICAP request header `X-ICAP-Secret: <secret>` (c-icap-client `-x "X-ICAP-Secret: ..."`,
  Squid `adaptation_meta X-ICAP-Secret "<secret>"`);
- the service URI's query `icap://host:1344/<slug>/reqmod?secret=<secret>`.
Squid sends no `adaptation_meta` on OPTIONS, so OPTIONS is answered for any well-formed service
path, the same way whether the tenant exists or not (nothing about the tenant is in it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from apps.alerts.models import Policy, PolicyKind
from apps.tenants import audit
from apps.tenants.models import Tenant, TenantStatus
from apps.tenants.scoping import current_tenant, tenant_context

from ..models import IcapMode, IcapSettings

SECRET_HEADER = "x-icap-secret"  # noqa: S105 (a header name)
SECRET_PREFIX = "icap_"  # noqa: S105 (a prefix)
SERVICES = ("reqmod", "respmod")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def settings_of_current() -> IcapSettings:
    """The current tenant's settings row (unsaved defaults when it has none yet)."""
    return IcapSettings.objects.first() or IcapSettings(tenant_id=current_tenant().id)


# --- Writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSecret:
    settings: IcapSettings
    secret: str  # shown once, never stored


def update_settings(
    *, tenant: Tenant, actor, enabled: bool, mode: str, block_message: str, request=None
) -> IcapSettings:
    """Save the service switch, mode and block message; audited with what changed."""
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        row = IcapSettings.objects.select_for_update().first() or IcapSettings(tenant_id=tenant.id)
        before = {"enabled": row.enabled, "mode": row.mode, "block_message": row.block_message}
        row.enabled, row.mode, row.block_message = enabled, mode, block_message
        row.save()
    after = {"enabled": enabled, "mode": mode, "block_message": block_message}
    changed = {key: after[key] for key in after if before[key] != after[key]}
    if changed:
        audit.record(
            tenant, "icap.settings_changed", actor=actor, request=request, target=row,
            details={"changed": changed},
        )  # fmt: skip
    return row


def rotate_secret(*, tenant: Tenant, actor, request=None) -> NewSecret:
    """A new secret replaces the old one at once; only its digest and prefix are kept."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        row = IcapSettings.objects.select_for_update().first() or IcapSettings(tenant_id=tenant.id)
        row.secret_digest = digest(secret)
        row.secret_prefix = secret[: len(SECRET_PREFIX) + 3]
        row.secret_rotated_at = timezone.now()
        row.save()
    audit.record(
        tenant, "icap.secret_rotated", actor=actor, request=request, target=row,
        details={"prefix": row.secret_prefix},
    )  # fmt: skip
    return NewSecret(settings=row, secret=secret)


# --- The server's questions -----------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """A parsed service URI: `/<slug>/<reqmod|respmod>[?secret=...]`."""

    slug: str
    name: str
    secret: str


def parse_service(uri: str) -> Service | None:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) != 2 or segments[1].lower() not in SERVICES:
        return None
    query = parse_qs(parts.query)
    return Service(
        slug=segments[0][:60], name=segments[1].lower(), secret=(query.get("secret") or [""])[0]
    )


@dataclass(frozen=True)
class Caller:
    tenant: Tenant
    settings: IcapSettings


def authenticate(service: Service, header_secret: str) -> Caller | None:
    """The tenant whose enabled service this secret opens; None for any other case (unknown
    tenant, inactive tenant, service off, no or wrong secret), told apart by nobody."""
    secret = header_secret or service.secret
    presented = digest(secret)
    tenant = Tenant.objects.filter(slug=service.slug, status=TenantStatus.ACTIVE).first()
    if tenant is None or not secret:
        return None
    with tenant_context(tenant):
        row = IcapSettings.objects.first()
    if row is None or not row.enabled or not row.secret_digest:
        return None
    if not hmac.compare_digest(row.secret_digest, presented):
        return None
    return Caller(tenant=tenant, settings=row)


def istag(caller: Caller | None, slug: str) -> str:
    """An opaque tag (quoted, at most 32 characters) that changes when the tenant's settings
    or file policies change; without a caller it depends on the slug only."""
    state = slug
    if caller is not None:
        with tenant_context(caller.tenant):
            policies = Policy.objects.filter(kind=PolicyKind.FILE).aggregate(
                n=Count("id"), newest=Max("updated_at")
            )
        state = "|".join(
            str(v)
            for v in (caller.tenant.id, caller.settings.updated_at, caller.settings.mode,
                      policies["n"], policies["newest"])
        )  # fmt: skip
    tag = hmac.new(django_settings.SECRET_KEY.encode(), state.encode(), hashlib.sha256)
    return f'"{tag.hexdigest()[:30]}"'


def blocks(caller: Caller) -> bool:
    return caller.settings.mode == IcapMode.BLOCK
