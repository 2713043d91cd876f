"""Tenant deletion walks every model in every database: nothing of the tenant is left, its keys
are gone (so sealed copies cannot be opened), and other tenants are untouched."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from guardian.models import UserObjectPermission

from apps.activities.models import Activity
from apps.compliance import crypto, offboarding
from apps.compliance.inventory import tenant_models
from apps.compliance.models import TenantDeletion, TenantKey
from apps.connectors.models import AppInstance
from apps.discovery import spool
from apps.tenants import audit
from apps.tenants.models import (
    ApiToken,
    AuditAnchor,
    Membership,
    Role,
    Tenant,
    TenantStatus,
)
from apps.tenants.routing import _alias_cache, geo_aliases
from tests.activities import logdata
from tests.compliance.offboarding_kit import fill_tenant, rows_of
from tests.factories import make_tenant, member

ALL = ["default", "geo_us"]


def _sealed(built) -> list[tuple[bytes, str]]:
    app = built[AppInstance]
    from apps.discovery.models import AnonymizationKey
    from apps.dlp.models import SAMPLES_PURPOSE, Match

    return [
        (bytes(app.credentials_sealed), AppInstance.CREDENTIALS_PURPOSE),
        (bytes(built[AnonymizationKey].sealed_key), "discovery.anonymization_key"),
        (bytes(built[Match].samples_sealed), SAMPLES_PURPOSE),
    ]


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_deleting_a_tenant_leaves_no_row_of_it_in_any_database(tenant_a, tenant_b, alice, settings):
    settings.RETENTION_BATCH_SIZE = 2  # several batches per table
    tenant_c = make_tenant("Charlie US", geo="us", slug="charlie-us")
    built = {t: fill_tenant(t) for t in (tenant_a, tenant_b, tenant_c)}
    # The kit covered every tenant model (a new model without a row would prove nothing).
    assert set(built[tenant_a]) == set(tenant_models())
    aliases = geo_aliases() | {"default"}
    assert {"default", "geo_us"} <= aliases
    before_a = rows_of(tenant_a.id, aliases)
    assert all(before_a[f"default:{m._meta.label}"] >= 1 for m in tenant_models())
    before_b, before_c = rows_of(tenant_b.id, aliases), rows_of(tenant_c.id, aliases)
    assert all(before_c[f"geo_us:{m._meta.label}"] >= 1 for m in tenant_models())
    # Control-plane rows and files of A: a token, an anchor, a spool file.
    member(tenant_a, Role.SECURITY_READER, username="reader@alpha.test")
    ApiToken.objects.create(
        tenant=tenant_a,
        created_by=alice,
        name="t",
        role=Role.SECURITY_READER,
        prefix="abc",
        key_hash="0" * 64,
    )
    audit.anchor_head(tenant_a, audit.verify_chain(tenant_a))
    name, _ = spool.write(tenant_a.id, [b"log line of alpha\n"])
    sealed = _sealed(built[tenant_a])
    for blob, purpose in sealed:
        assert crypto.open_sealed(blob, purpose, tenant_a.id)  # readable before
    a_key_rows = TenantKey.objects.filter(tenant_id=tenant_a.id).count()
    assert a_key_rows >= 1
    member(tenant_b, Role.GLOBAL_ADMIN, username="admin@bravo.test")
    both = member(tenant_b, Role.SECURITY_READER, username="both@example.test")
    member(tenant_a, Role.SECURITY_READER, username="both@example.test")
    before_b = rows_of(tenant_b.id, aliases)
    just_before = rows_of(tenant_a.id, aliases)

    record = offboarding.delete_tenant(tenant_id=tenant_a.id)

    after_a = rows_of(tenant_a.id, aliases)
    assert {k: v for k, v in after_a.items() if v} == {}
    assert rows_of(tenant_b.id, aliases) == before_b
    assert rows_of(tenant_c.id, aliases) == before_c
    assert audit.verify_chain(tenant_b).ok and audit.verify_chain(tenant_c).ok
    assert not Tenant.objects.filter(pk=tenant_a.id).exists()
    assert not Membership.objects.filter(tenant_id=tenant_a.id).exists()
    assert not ApiToken.objects.filter(tenant_id=tenant_a.id).exists()
    assert not AuditAnchor.objects.filter(tenant_id=tenant_a.id).exists()
    assert not UserObjectPermission.objects.filter(object_pk=str(tenant_a.id)).exists()
    assert UserObjectPermission.objects.filter(object_pk=str(tenant_b.id)).exists()
    assert Membership.objects.filter(tenant_id=tenant_b.id).count() == 2
    # Portal accounts of A only are gone; one also in B stays (with its B role).
    users = get_user_model().objects
    assert not users.filter(username__in=["alice@alpha.test", "reader@alpha.test"]).exists()
    assert users.filter(pk=both.pk).exists()
    assert not TenantKey.objects.filter(tenant_id=tenant_a.id).exists()
    assert TenantKey.objects.filter(tenant_id=tenant_b.id).exists()
    assert not spool.exists(tenant_a.id, name)
    assert tenant_a.id not in _alias_cache
    # Crypto-shredded: a copy of A's sealed values (a backup) can no longer be opened ...
    crypto.forget()
    for blob, purpose in sealed:
        with pytest.raises(crypto.DecryptionError):
            crypto.open_sealed(blob, purpose, tenant_a.id)
    # ... while B's and C's still open.
    for other in (tenant_b, tenant_c):
        for blob, purpose in _sealed(built[other]):
            assert crypto.open_sealed(blob, purpose, other.id)
    # The record remains, with per-model counts.
    stored = TenantDeletion.objects.get(tenant_id=tenant_a.id)
    assert stored.pk == record.pk and stored.finished_at is not None
    assert stored.slug == "alpha" and stored.geo == "eu"
    assert stored.keys_destroyed == a_key_rows
    for model in tenant_models():
        assert stored.counts[model._meta.label] == just_before[f"default:{model._meta.label}"]
    assert stored.counts["tenants.Tenant"] == 1
    assert stored.counts["tenants.Membership"] == 3
    assert stored.counts["auth.User"] == 2
    assert stored.counts["tenants.AuditAnchor"] == 1


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_deletion_killed_half_way_is_carried_on_by_the_sweep(tenant_a, tenant_b, monkeypatch):
    fill_tenant(tenant_a)
    fill_tenant(tenant_b)
    offboarding.cancel(tenant=tenant_a, actor=None, confirm_slug="alpha")
    real = offboarding._delete_control_plane

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the worker dies after the geo data, before the keys

    monkeypatch.setattr(offboarding, "_delete_control_plane", killed)
    with pytest.raises(KeyboardInterrupt):
        offboarding.delete_tenant(tenant_id=tenant_a.id)
    half = TenantDeletion.objects.get(tenant_id=tenant_a.id)
    assert half.finished_at is None and half.counts["activities.Activity"] == 1
    assert TenantKey.objects.filter(tenant_id=tenant_a.id).exists()  # keys go last
    tenant_a.refresh_from_db()
    assert tenant_a.status == TenantStatus.SUSPENDED  # closed while half-deleted
    monkeypatch.setattr(offboarding, "_delete_control_plane", real)

    # Not due yet by date, but an unfinished deletion is always carried on.
    assert offboarding.delete_due_tenants() == 1
    done = TenantDeletion.objects.get(tenant_id=tenant_a.id)
    assert done.pk == half.pk and done.finished_at is not None
    assert done.counts["activities.Activity"] == 1  # counted once, not twice
    assert not TenantKey.objects.filter(tenant_id=tenant_a.id).exists()
    assert not Tenant.objects.filter(pk=tenant_a.id).exists()
    assert Tenant.objects.filter(pk=tenant_b.id).exists()
    assert offboarding.delete_due_tenants() == 0  # idempotent


@pytest.mark.django_db(databases=ALL)
def test_the_sweep_deletes_only_cancelled_tenants_past_their_date(tenant_a, tenant_b, settings):
    settings.TENANT_DELETION_GRACE_DAYS = 10
    offboarding.cancel(tenant=tenant_a, actor=None, confirm_slug="alpha")
    tenant_a.refresh_from_db()
    assert tenant_a.delete_after - tenant_a.cancelled_at == dt.timedelta(days=10)
    assert offboarding.delete_due_tenants() == 0
    assert offboarding.delete_due_tenants(now=timezone.now() + dt.timedelta(days=9)) == 0
    assert offboarding.delete_due_tenants(now=timezone.now() + dt.timedelta(days=11)) == 1
    assert not Tenant.objects.filter(pk=tenant_a.id).exists()
    assert Tenant.objects.filter(pk=tenant_b.id).exists()  # active: never swept


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize("batch", [10, 1000])  # many rows (block ranges) and few (by index)
def test_activities_go_partition_by_partition_in_batches(tenant_a, tenant_b, settings, batch):
    settings.RETENTION_BATCH_SIZE = batch
    mine, theirs = logdata.app(tenant_a), logdata.app(tenant_b)
    base = logdata.base_time()
    logdata.add(
        tenant_a, [logdata.activity_row(mine, base - dt.timedelta(days=n % 3)) for n in range(900)]
    )
    logdata.add(
        tenant_b,
        [logdata.activity_row(theirs, base - dt.timedelta(days=n % 3)) for n in range(150)],
    )
    leaves = offboarding._leaves("default", Activity)
    assert len(leaves) >= 3  # one table per day

    assert offboarding._delete_in_batches("default", Activity, tenant_a.id) == 900
    assert not Activity.unscoped_objects.filter(tenant_id=tenant_a.id).exists()
    assert Activity.unscoped_objects.filter(tenant_id=tenant_b.id).count() == 150
    assert offboarding._delete_in_batches("default", Activity, tenant_a.id) == 0


@pytest.mark.django_db(databases=ALL)
def test_the_beat_task_runs_the_sweep(tenant_a, settings):
    from apps.compliance import tasks

    settings.TENANT_DELETION_GRACE_DAYS = 0
    offboarding.cancel(tenant=tenant_a, actor=None, confirm_slug="alpha")
    assert tasks.delete_due_tenants.apply().get() == 1
    assert TenantDeletion.objects.filter(tenant_id=tenant_a.id, finished_at__isnull=False)


@pytest.mark.django_db(databases=ALL)
def test_the_operator_command_asks_for_confirmation(tenant_a, tenant_b):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--yes"):
        call_command("delete_tenant", tenant="alpha")
    assert Tenant.objects.filter(pk=tenant_a.id).exists()
    call_command("delete_tenant", tenant="alpha", yes=True)
    assert not Tenant.objects.filter(pk=tenant_a.id).exists()
    assert Tenant.objects.filter(pk=tenant_b.id).exists()


@pytest.mark.django_db(databases=ALL)
def test_a_tenant_reactivated_after_the_sweep_listed_it_is_not_deleted(tenant_a):
    offboarding.cancel(tenant=tenant_a, actor=None, confirm_slug="alpha")
    later = timezone.now() + dt.timedelta(days=60)
    assert offboarding.due_tenant_ids(later) == [tenant_a.id]
    offboarding.reactivate(tenant=tenant_a, actor=None)
    assert offboarding.delete_tenant(tenant_id=tenant_a.id, due_at=later) is None
    assert Tenant.objects.filter(pk=tenant_a.id, status=TenantStatus.ACTIVE).exists()
    assert not TenantDeletion.objects.filter(tenant_id=tenant_a.id).exists()


def test_deletion_order_puts_children_before_parents():
    order = offboarding.deletion_order(tenant_models())
    position = {m: i for i, m in enumerate(order)}
    for model in order:
        for field in model._meta.concrete_fields:
            parent = field.related_model if field.is_relation and field.db_constraint else None
            if parent is not None and parent is not model and parent in position:
                assert position[model] < position[parent], (model, field)
