"""Key management: rotate the master key (re-wrap tenant keys) and a tenant's data key.

- `rotate_master_key()`: after a new master key was put first in CASB_MASTER_KEYS, re-wrap every
  tenant key still wrapped by an older one, one row per transaction. Idempotent; until it has
  finished the old key id must stay configured (rows not yet re-wrapped are read with it).
- `rotate_tenant_key(tenant)`: a new data-key version, every sealed value of the tenant re-sealed
  under it, then the old versions deleted once nothing refers to them any more.

`SEALED_FIELDS` lists every database column holding values sealed with a tenant key and the
purpose each was sealed for (the purpose is bound into the ciphertext, so it must be known to
re-seal). A test fails when a tenant model gains a binary column this list does not name.
"""

from __future__ import annotations

import logging
import struct
import time
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import models, transaction

from apps.discovery import spool
from apps.dlp.models import SAMPLES_PURPOSE
from apps.tenants import audit
from apps.tenants.models import Tenant

from . import crypto
from .inventory import tenant_models
from .models import TenantKey

log = logging.getLogger(__name__)

# "app_label.Model" -> {field name: purpose}
SEALED_FIELDS: dict[str, dict[str, str]] = {
    "connectors.AppInstance": {"credentials_sealed": "connectors.credentials"},
    "discovery.AnonymizationKey": {"sealed_key": "discovery.anonymization_key"},
    "dlp.Match": {"samples_sealed": SAMPLES_PURPOSE},
    "integrations.Destination": {"secret_sealed": "integrations.destination_secret"},
}
_VERSION = struct.Struct(">I")
_VERSION_AT = 17  # format (1) + tenant id (16), see crypto's header
_SPOOL_LEN = struct.Struct(">I")


def sealed_version(blob: bytes | memoryview) -> int | None:
    """The key version a sealed value was made with (None: not a sealed value)."""
    blob = bytes(blob)
    if len(blob) < _VERSION_AT + _VERSION.size or blob[0] != crypto.FORMAT:
        return None
    return _VERSION.unpack_from(blob, _VERSION_AT)[0]


# --- Master key --------------------------------------------------------------------------------


@dataclass
class MasterRotation:
    rewrapped: int = 0
    failed: list[str] = field(default_factory=list)  # "tenant vN: reason"
    in_use: list[str] = field(default_factory=list)  # master key ids still wrapping a key


def rotate_master_key() -> MasterRotation:
    """Re-wrap every tenant key not wrapped by the current master key (one per transaction)."""
    current = settings.CASB_CURRENT_MASTER_KEY_ID
    result = MasterRotation()
    pending = list(
        TenantKey.objects.using("default")
        .exclude(master_key_id=current)
        .values_list("pk", flat=True)
    )
    for pk in pending:
        with transaction.atomic(using="default"):
            row = TenantKey.objects.using("default").select_for_update().filter(pk=pk).first()
            if row is None or row.master_key_id == current:  # gone, or done by another run
                continue
            try:
                data_key = crypto.unwrap(row)
            except crypto.DecryptionError as exc:
                result.failed.append(f"{row.tenant_id} v{row.version}: {exc}")
                continue
            row.master_key_id, row.wrapped_key = crypto.wrap(row.tenant_id, row.version, data_key)
            row.save(update_fields=["master_key_id", "wrapped_key"])
            result.rewrapped += 1
    result.in_use = sorted(
        set(TenantKey.objects.using("default").values_list("master_key_id", flat=True))
    )
    log.info("master key rotation: %d re-wrapped, %d failed", result.rewrapped, len(result.failed))
    return result


# --- Tenant key --------------------------------------------------------------------------------


@dataclass
class TenantRotation:
    version: int
    resealed: dict[str, int] = field(default_factory=dict)  # "app.Model.field" -> values
    deleted_versions: list[int] = field(default_factory=list)
    kept_versions: list[int] = field(default_factory=list)  # still referred to (e.g. a spool)


def _reseal_field(tenant: Tenant, model: type[models.Model], name: str, purpose: str, new: int):
    alias = tenant.db_alias
    rows = model.unscoped_objects.using(alias).filter(tenant_id=tenant.id)
    resealed = 0
    for pk in list(rows.exclude(**{name: None}).values_list("pk", flat=True)):
        with transaction.atomic(using=alias):
            obj = rows.select_for_update().filter(pk=pk).values_list(name, flat=True).first()
            if obj is None or sealed_version(obj) in (None, new):
                continue
            plain = crypto.open_sealed(bytes(obj), purpose, tenant.id)
            fresh = crypto.seal(tenant.id, plain, purpose)
            if sealed_version(fresh) != new:
                raise RuntimeError("a newer key version appeared during the rotation")
            rows.filter(pk=pk).update(**{name: fresh})
            resealed += 1
    return resealed


def _binary_fields() -> list[tuple[type[models.Model], str]]:
    return [
        (model, f.name)
        for model in tenant_models()
        for f in model._meta.concrete_fields
        if isinstance(f, models.BinaryField)
    ]


def versions_in_use(tenant: Tenant) -> set[int]:
    """Key versions some value of the tenant still needs: every binary column of its tenant
    models (not only `SEALED_FIELDS`) and its discovery spool files on disk."""
    used: set[int] = set()
    for model, name in _binary_fields():
        values = (
            model.unscoped_objects.using(tenant.db_alias)
            .filter(tenant_id=tenant.id)
            .exclude(**{name: None})
            .values_list(name, flat=True)
        )
        for blob in values.iterator(chunk_size=500):
            version = sealed_version(blob)
            if version is not None:
                used.add(version)
    for path in spool.tenant_dir(tenant.id).glob("*.bin"):
        used |= _spool_versions(path)
    return used


def _spool_versions(path) -> set[int]:
    found: set[int] = set()
    try:
        with open(path, "rb") as fh:
            while head := fh.read(_SPOOL_LEN.size):
                length = _SPOOL_LEN.unpack(head)[0]
                version = sealed_version(fh.read(_VERSION_AT + _VERSION.size))
                if version is not None:
                    found.add(version)
                fh.seek(length - _VERSION_AT - _VERSION.size, 1)
    except FileNotFoundError:  # parsed and deleted meanwhile
        pass
    return found


def prune_old_versions(*, tenant: Tenant) -> tuple[list[int], list[int]]:
    """Delete the tenant's key versions older than the newest that no value refers to any
    more; returns (deleted, kept because still in use). Other processes stop opening a deleted
    version once their crypto cache of it expires (CASB_KEY_CACHE_SECONDS)."""
    versions = sorted(
        TenantKey.objects.using("default")
        .filter(tenant_id=tenant.id)
        .values_list("version", flat=True)
    )
    if len(versions) < 2:
        return [], []
    in_use = versions_in_use(tenant)
    deleted, kept = [], []
    for version in versions[:-1]:
        if version in in_use:
            kept.append(version)
        else:
            TenantKey.objects.using("default").filter(tenant_id=tenant.id, version=version).delete()
            deleted.append(version)
    crypto.forget(tenant.id)  # drop cached old keys; the newest is read again on next use
    return deleted, kept


def rotate_tenant_key(*, tenant: Tenant, actor=None, delete_old: bool = True) -> TenantRotation:
    """New data key for `tenant`, every sealed value re-sealed under it, and (unless told not
    to) the old versions deleted once nothing refers to them; a spool file still being parsed
    keeps its version for a later `prune_old_versions`.

    Other processes remember a tenant's newest version for CASB_KEY_CACHE_SECONDS (crypto's
    cache), so when old versions are to be deleted the re-sealing waits that long first: by then
    every process seals under the new version, and nothing sealed later can hold an old one.
    """
    new = crypto.create_key_version(tenant.id)
    if delete_old and settings.CASB_KEY_CACHE_SECONDS > 0:
        time.sleep(settings.CASB_KEY_CACHE_SECONDS)
    result = TenantRotation(version=new)
    for label, columns in SEALED_FIELDS.items():
        model = apps.get_model(label)
        for name, purpose in columns.items():
            result.resealed[f"{label}.{name}"] = _reseal_field(tenant, model, name, purpose, new)
    if delete_old:
        result.deleted_versions, result.kept_versions = prune_old_versions(tenant=tenant)
    audit.record(
        tenant,
        "encryption.rotate_tenant_key",
        actor=actor,
        details={
            "version": new,
            "resealed": result.resealed,
            "deleted_versions": result.deleted_versions,
            "kept_versions": result.kept_versions,
        },
    )
    return result
