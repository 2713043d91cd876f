"""Day partitions of the activity table on PostgreSQL, in every geo database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, connections, transaction

from apps.activities import partitions
from apps.activities.models import Activity
from apps.connectors.models import AppInstance, Vendor
from apps.tenants.scoping import tenant_context
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def _activity(instance, when, event_id="e1"):
    return Activity(
        occurred_at=when,
        ingested_at=when,
        app_instance=instance,
        source="push",
        source_event_id=event_id,
        action_type="FileDownloaded",
        activity_type="download",
    )


@pytest.mark.parametrize("geo", ["eu", "us"])
def test_rows_land_in_their_day_partition(geo):
    tenant = make_tenant(f"Part{geo}", geo=geo)
    alias = tenant.db_alias
    day = date(2026, 3, 14)
    assert partitions.ensure_days(alias, [day]) == 1
    assert partitions.ensure_days(alias, [day]) == 0  # idempotent, cached
    with tenant_context(tenant):
        instance = AppInstance.objects.create(vendor=Vendor.PUSH, name="Custom")
        _activity(instance, datetime(2026, 3, 14, 10, 0, tzinfo=UTC)).save(force_insert=True)
        assert Activity.objects.count() == 1
    with connections[alias].cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{partitions.partition_name(day)}"')  # noqa: S608
        assert cursor.fetchone()[0] == 1


def test_a_day_without_partition_is_refused():
    tenant = make_tenant("NoPart", geo="eu")
    with tenant_context(tenant):
        instance = AppInstance.objects.create(vendor=Vendor.PUSH, name="Custom")
        with pytest.raises(IntegrityError), transaction.atomic(using=tenant.db_alias):
            _activity(instance, datetime(2020, 1, 1, tzinfo=UTC)).save(force_insert=True)


def test_one_source_event_per_app_and_time():
    tenant = make_tenant("Dedupe", geo="eu")
    partitions.ensure_days(tenant.db_alias, [date(2026, 3, 14)])
    when = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
    with tenant_context(tenant):
        instance = AppInstance.objects.create(vendor=Vendor.PUSH, name="Custom")
        _activity(instance, when).save(force_insert=True)
        with pytest.raises(IntegrityError), transaction.atomic(using=tenant.db_alias):
            _activity(instance, when).save(force_insert=True)
