"""The whole data set of a tenant as one ZIP archive, streamed (offboarding export).

One JSON-lines file per tenant model (`<app>/<model>.jsonl`, one row per line, every column by
its database name); the tenant's own settings and people (`tenants/tenant.json`: name, geo,
portal access policy; `tenants/members.jsonl`: members and their roles;
`tenants/api_tokens.jsonl`: API tokens, without their hashes); and `manifest.json` (tenant,
time, row counts, what was withheld). The archive is written through `zipfile` into a
non-seekable sink that is emptied after every few hundred rows, and rows are read with a
server-side cursor, so memory stays flat whatever the size (activities run to millions of rows).

What is exported: everything that is the customer's data, as we hold it. What is not:
- secrets and keys (`keys.SEALED_FIELDS`: connector credentials, the pseudonymisation key) are
  withheld. The credentials are the customer's own secrets, which they hold at the vendor
  anyway; an archive meant to be downloaded and kept must not carry live credentials. The
  pseudonymisation key and the tenant data keys are internal keys. Discovery usernames are
  exported as the pseudonyms we store (we never stored the plain names).
- the sealed samples of content inspection matches (`dlp.Match.samples_sealed`, a binary
  column like the secrets) are withheld too: the file records and each match's type, count and
  confidence are exported, but not the masked evidence and its context, since this archive is
  not encrypted and the context around a match keeps its words (names of other people).
- the archive is not encrypted with the tenant key: it is for the customer to take away,
  readable after the tenant and its keys are gone. It is streamed to the admin, never stored.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from apps.tenants.models import ApiToken, Membership, Tenant

from .inventory import tenant_models

FLUSH_EVERY = 500  # rows between two hand-overs of the compressed bytes
WITHHELD = "[withheld]"


class _Sink:
    """A write-only, non-seekable file: `zipfile` then streams (data descriptors, no seeking
    back), and `drain()` hands over what was written since the last call."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def entry_name(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}/{model._meta.model_name}.jsonl"


def _withheld_columns(model: type[models.Model]) -> set[str]:
    """Binary columns: sealed secrets and keys (see the module docstring)."""
    return {f.attname for f in model._meta.concrete_fields if isinstance(f, models.BinaryField)}


def _rows(tenant: Tenant, model: type[models.Model]) -> Iterator[dict]:
    columns = [f.attname for f in model._meta.concrete_fields]
    withheld = _withheld_columns(model)
    # No ORDER BY: sorting millions of activities would defeat the streaming.
    queryset = (
        model.unscoped_objects.using(tenant.db_alias)
        .filter(tenant_id=tenant.id)
        .order_by()
        .values(*columns)
    )
    for row in queryset.iterator(chunk_size=2000):
        for name in withheld:
            if row[name] is not None:
                row[name] = WITHHELD
        yield row


# The tenant's own settings and people (control plane, default database): what an admin sees
# on the settings, members and API token pages. No password hashes, token hashes or keys.
TENANT_ENTRY = "tenants/tenant.json"
MEMBERS_ENTRY = "tenants/members.jsonl"
TOKENS_ENTRY = "tenants/api_tokens.jsonl"


def _tenant_settings(tenant: Tenant) -> dict:
    fresh = Tenant.objects.using("default").get(pk=tenant.pk)
    fields = ["id", "name", "slug", "geo", "status", "created_at", "require_mfa"]
    fields += ["allowed_networks", "allowed_countries", "cancelled_at", "delete_after"]
    return {name: getattr(fresh, name) for name in fields}


def _members(tenant: Tenant) -> Iterator[dict]:
    memberships = (
        Membership.objects.using("default")
        .filter(tenant_id=tenant.id)
        .select_related("user")
        .order_by("user__username")
    )
    for membership in memberships:
        user = membership.user
        yield {
            "id": membership.id,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": membership.role,
            "may_view_private": membership.may_view_private,
            "member_since": membership.created_at,
            "is_active": user.is_active,
            "last_login": user.last_login,
        }


def _api_tokens(tenant: Tenant) -> Iterator[dict]:
    tokens = (
        ApiToken.objects.using("default")
        .filter(tenant_id=tenant.id)
        .select_related("created_by")
        .order_by("created_at")
    )
    for token in tokens:
        yield {
            "id": token.id,
            "name": token.name,
            "role": token.role,
            "prefix": token.prefix,  # shown in the console to tell tokens apart; not the key
            "created_by": token.created_by.username,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at,
        }


def _encode(row: dict) -> bytes:
    return json.dumps(row, cls=DjangoJSONEncoder).encode() + b"\n"


def _control_plane(archive: zipfile.ZipFile, tenant: Tenant) -> dict[str, int]:
    """Write the tenant's settings, members and API tokens; entry name -> rows."""
    settings_row = json.dumps(_tenant_settings(tenant), cls=DjangoJSONEncoder, indent=2)
    archive.writestr(TENANT_ENTRY, settings_row)
    counts = {TENANT_ENTRY: 1}
    for name, rows in ((MEMBERS_ENTRY, _members(tenant)), (TOKENS_ENTRY, _api_tokens(tenant))):
        counts[name] = 0
        with archive.open(name, mode="w") as entry:
            for row in rows:
                entry.write(_encode(row))
                counts[name] += 1
    return counts


def stream_tenant_archive(tenant: Tenant) -> Iterator[bytes]:
    """Yield the bytes of the tenant's archive as they are made."""
    sink = _Sink()
    counts: dict[str, int] = {}
    withheld: list[str] = []
    started = timezone.now()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        control = _control_plane(archive, tenant)
        yield sink.drain()
        for model in sorted(tenant_models(), key=lambda m: m._meta.label):
            withheld += [f"{model._meta.label}.{name}" for name in _withheld_columns(model)]
            count = 0
            # force_zip64: the size is unknown up front and may pass 4 GiB.
            with archive.open(entry_name(model), mode="w", force_zip64=True) as entry:
                for row in _rows(tenant, model):
                    entry.write(_encode(row))
                    count += 1
                    if count % FLUSH_EVERY == 0:
                        yield sink.drain()
            counts[model._meta.label] = count
            yield sink.drain()
        manifest = {
            "tenant": {"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name},
            "geo": tenant.geo,
            "status": tenant.status,
            "delete_after": tenant.delete_after.isoformat() if tenant.delete_after else None,
            "started_at": started.isoformat(),
            "finished_at": timezone.now().isoformat(),
            "format": "one JSON object per line and file, columns by database name",
            "files": {
                **control,
                **{entry_name(m): counts[m._meta.label] for m in tenant_models()},
            },
            "counts": counts,
            "members": control[MEMBERS_ENTRY],
            "api_tokens": control[TOKENS_ENTRY],
            "withheld": sorted(withheld),
            "withheld_reason": "secrets (connector credentials), internal keys and the sealed "
            "samples of content inspection matches are not exported; their columns read "
            + json.dumps(WITHHELD)
            + ". Members' passwords and API token keys are never stored in a readable form "
            "and are not exported.",
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    yield sink.drain()


def archive_filename(tenant: Tenant) -> str:
    return f"{tenant.slug}-export-{timezone.now():%Y%m%d-%H%M%S}.zip"
