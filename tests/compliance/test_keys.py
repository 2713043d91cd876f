"""Key rotation: the master key (re-wrap every tenant key) and a tenant's data key (re-seal)."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.compliance import crypto, keys
from apps.compliance.inventory import tenant_models
from apps.compliance.models import TenantKey
from apps.connectors.models import AppInstance
from apps.discovery import anonymize, spool
from apps.discovery.models import AnonymizationKey
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.factories import make_tenant

ALL = ["default", "geo_us"]


@pytest.fixture(autouse=True)
def _no_rotation_wait(settings):
    """One process here: the rotation need not wait for other processes' key caches."""
    settings.CASB_KEY_CACHE_SECONDS = 0


def _master(key_id: str) -> tuple[str, bytes]:
    return key_id, os.urandom(32)


def _configure(settings, *pairs: tuple[str, bytes]) -> None:
    settings.CASB_MASTER_KEYS = dict(pairs)
    settings.CASB_CURRENT_MASTER_KEY_ID = pairs[0][0]
    crypto.forget()  # cached data keys would hide a wrong master key


def _connector(tenant, secret: str) -> AppInstance:
    with tenant_context(tenant):
        app = AppInstance(vendor="okta", name=f"Okta {tenant.slug}", tenant_id=tenant.id)
        app.set_credentials({"api_token": secret})
        app.save()
        return app


def _reload(tenant, app: AppInstance) -> AppInstance:
    with tenant_context(tenant):
        return AppInstance.objects.get(pk=app.pk)


@pytest.mark.django_db(databases=ALL)
def test_master_key_rotation_rewraps_every_tenant_key(settings, tenant_a, capsys):
    old, new = _master("old-2026"), _master("new-2027")
    _configure(settings, old)
    tenant_us = make_tenant("Yankee", geo="us")
    apps_ = {t: _connector(t, f"secret-of-{t.slug}") for t in (tenant_a, tenant_us)}
    crypto.create_key_version(tenant_a.id)  # a second version: every version is re-wrapped
    sealed = {t: bytes(a.credentials_sealed) for t, a in apps_.items()}
    assert set(TenantKey.objects.values_list("master_key_id", flat=True)) == {"old-2026"}

    # New key first, old one still configured: before the rotation both still open.
    _configure(settings, new, old)
    assert _reload(tenant_a, apps_[tenant_a]).credentials() == {"api_token": "secret-of-alpha"}
    call_command("rotate_master_key")
    out = capsys.readouterr().out
    assert "Re-wrapped 3 tenant key(s) with 'new-2027'" in out
    assert "old-2026" in out  # named as no longer used
    assert set(TenantKey.objects.values_list("master_key_id", flat=True)) == {"new-2027"}
    assert keys.rotate_master_key().rewrapped == 0  # idempotent

    # The old master key removed from the settings: everything still opens.
    _configure(settings, new)
    for tenant, blob in sealed.items():
        plain = crypto.open_text(blob, AppInstance.CREDENTIALS_PURPOSE, tenant.id)
        assert plain == f'{{"api_token": "secret-of-{tenant.slug}"}}'


@pytest.mark.django_db(databases=ALL)
def test_a_key_wrapped_by_an_unconfigured_master_key_is_reported(settings, tenant_a):
    _configure(settings, _master("lost"))
    crypto.create_key_version(tenant_a.id)
    _configure(settings, _master("current"))
    with pytest.raises(CommandError, match="could not be unwrapped"):
        call_command("rotate_master_key")
    assert TenantKey.objects.get(tenant_id=tenant_a.id).master_key_id == "lost"  # untouched


@pytest.mark.django_db(databases=ALL)
def test_tenant_key_rotation_reseals_and_deletes_the_old_version(tenant_a, tenant_b, capsys):
    app = _connector(tenant_a, "alpha-token")
    other = _connector(tenant_b, "bravo-token")
    with tenant_context(tenant_a):
        pseudonym = anonymize.Pseudonymizer(tenant_a).pseudonym("jdoe@alpha.test")
        old_key = bytes(AnonymizationKey.objects.get().sealed_key)
    old_blob = bytes(app.credentials_sealed)
    assert keys.sealed_version(old_blob) == 1
    b_keys = list(TenantKey.objects.filter(tenant_id=tenant_b.id).values_list("pk", "version"))

    call_command("rotate_tenant_key", tenant="alpha")
    out = capsys.readouterr().out
    assert "new key version 2" in out and "deleted old version(s): 1" in out

    assert list(
        TenantKey.objects.filter(tenant_id=tenant_a.id).values_list("version", flat=True)
    ) == [2]
    fresh = _reload(tenant_a, app)
    assert keys.sealed_version(fresh.credentials_sealed) == 2
    assert bytes(fresh.credentials_sealed) != old_blob
    assert fresh.credentials() == {"api_token": "alpha-token"}
    with tenant_context(tenant_a):
        assert keys.sealed_version(AnonymizationKey.objects.get().sealed_key) == 2
        # The same pseudonymisation key, re-sealed: pseudonyms stay the same.
        assert anonymize.Pseudonymizer(tenant_a).pseudonym("jdoe@alpha.test") == pseudonym
        assert AuditEvent.objects.filter(action="encryption.rotate_tenant_key").exists()
    # The old ciphertext (a backup's copy) no longer opens: its key version is gone.
    crypto.forget()
    for blob, purpose in (
        (old_blob, AppInstance.CREDENTIALS_PURPOSE),
        (old_key, "discovery.anonymization_key"),
    ):
        with pytest.raises(crypto.DecryptionError):
            crypto.open_sealed(blob, purpose, tenant_a.id)
    # Tenant B untouched.
    assert list(TenantKey.objects.filter(tenant_id=tenant_b.id).values_list("pk", "version")) == (
        b_keys
    )
    assert _reload(tenant_b, other).credentials() == {"api_token": "bravo-token"}


@pytest.mark.django_db(databases=ALL)
def test_a_spool_file_keeps_its_key_version_until_a_later_rotation(tenant_a):
    name, size = spool.write(tenant_a.id, [b"x" * (spool.CHUNK + 10)])  # two sealed chunks
    result = keys.rotate_tenant_key(tenant=tenant_a)
    assert result.kept_versions == [1] and result.deleted_versions == []
    reader = spool.SpoolReader(tenant_a.id, name, size)
    assert reader.read() == b"x" * (spool.CHUNK + 10)  # the waiting upload still reads
    reader.close()
    spool.delete(tenant_a.id, name)
    again = keys.rotate_tenant_key(tenant=tenant_a)
    assert again.deleted_versions == [1, 2] and again.version == 3


@pytest.mark.django_db(databases=ALL)
def test_old_versions_can_be_kept_and_pruned_later(tenant_a, capsys):
    app = _connector(tenant_a, "alpha-token")
    call_command("rotate_tenant_key", tenant="alpha", keep_old_versions=True)

    def versions():
        return sorted(
            TenantKey.objects.filter(tenant_id=tenant_a.id).values_list("version", flat=True)
        )

    assert versions() == [1, 2]
    assert keys.sealed_version(_reload(tenant_a, app).credentials_sealed) == 2
    call_command("rotate_tenant_key", tenant="alpha", prune_only=True)
    assert "deleted old version(s): 1;" in capsys.readouterr().out
    assert versions() == [2]
    assert _reload(tenant_a, app).credentials() == {"api_token": "alpha-token"}


@pytest.mark.django_db(databases=ALL)
def test_unknown_tenant_is_a_clear_error():
    with pytest.raises(CommandError, match="No tenant"):
        call_command("rotate_tenant_key", tenant="nope")


def test_every_binary_column_of_tenant_data_is_a_known_sealed_field():
    """A new sealed column must be added to keys.SEALED_FIELDS, or rotation would skip it."""
    from django.db import models

    found = {
        f"{m._meta.label}.{f.name}"
        for m in tenant_models()
        for f in m._meta.concrete_fields
        if isinstance(f, models.BinaryField)
    }
    known = {f"{label}.{name}" for label, cols in keys.SEALED_FIELDS.items() for name in cols}
    assert found == known


@pytest.mark.django_db(databases=ALL)
def test_a_process_moves_to_a_version_another_process_made_within_the_cache_time(
    settings, tenant_a
):
    settings.CASB_KEY_CACHE_SECONDS = 60
    crypto.forget()
    first = keys.sealed_version(crypto.seal(tenant_a.id, b"x", "test.purpose"))
    # Another process rotates: a new version row appears, this process's memory is untouched.
    key_id, wrapped = crypto.wrap(tenant_a.id, first + 1, os.urandom(32))
    TenantKey.objects.using("default").create(
        tenant_id=tenant_a.id, version=first + 1, master_key_id=key_id, wrapped_key=wrapped
    )
    assert keys.sealed_version(crypto.seal(tenant_a.id, b"x", "test.purpose")) == first
    settings.CASB_KEY_CACHE_SECONDS = 0  # the cache time has passed
    assert keys.sealed_version(crypto.seal(tenant_a.id, b"x", "test.purpose")) == first + 1


@pytest.mark.django_db(databases=ALL)
def test_the_rotation_waits_out_other_processes_key_caches(settings, tenant_a, monkeypatch):
    settings.CASB_KEY_CACHE_SECONDS = 7
    waited = []
    monkeypatch.setattr(keys.time, "sleep", waited.append)
    keys.rotate_tenant_key(tenant=tenant_a)
    assert waited == [7]
    keys.rotate_tenant_key(tenant=tenant_a, delete_old=False)  # nothing deleted: no wait
    assert waited == [7]
