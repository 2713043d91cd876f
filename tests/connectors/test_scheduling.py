"""Beat and tasks: which instances are due, each queued once, polls never run twice at once;
credentials at rest; a US tenant's poll stays in the US database."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.utils import timezone

from apps.activities.models import Activity
from apps.connectors import services
from apps.connectors.models import AppInstance, InstanceStatus, Vendor
from apps.connectors.tasks import poll_instance_task
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from casb.celery import BEAT_SCHEDULE
from tests.factories import make_tenant

from .conftest import connect
from .helpers import reload

ALL = ["default", "geo_us"]


@pytest.fixture
def broker():
    """The test broker's default queue, emptied (this suite's own Redis database)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    yield client
    client.delete("celery")


def queued(client) -> list[tuple[str, list]]:
    messages = []
    for raw in client.lrange("celery", 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        messages.append((message["headers"]["task"], args))
    return messages


def test_beat_runs_poll_due_every_minute_and_it_expires_before_the_next():
    entry = BEAT_SCHEDULE["connectors-poll-due"]
    assert entry["task"] == "connectors.poll_due"
    assert entry["options"]["expires"] < 60


@pytest.mark.django_db(databases=ALL)
def test_due_instances_are_queued_once(tenant_a, okta, broker):
    due = connect(tenant_a, Vendor.OKTA, okta, {"api_token": "t"}, name="Due")
    paused = connect(tenant_a, Vendor.OKTA, okta, {"api_token": "t"}, name="Paused")
    waiting = connect(tenant_a, Vendor.OKTA, okta, {"api_token": "t"}, name="Rate limited")
    busy = connect(tenant_a, Vendor.OKTA, okta, {"api_token": "t"}, name="Busy")
    later = timezone.now() + dt.timedelta(minutes=30)
    services.set_enabled(instance=paused, actor=None, enabled=False)
    with tenant_context(tenant_a):
        AppInstance.objects.filter(pk=waiting.pk).update(
            status=InstanceStatus.RATE_LIMITED, retry_at=later, next_poll_at=later
        )
        AppInstance.objects.filter(pk=busy.pk).update(lease_until=later)

    assert services.enqueue_due_polls() == 1
    assert queued(broker) == [("connectors.poll_instance", [str(tenant_a.id), str(due.pk)])]
    assert services.enqueue_due_polls() == 0  # marked: the next minute's run skips it
    assert len(queued(broker)) == 1
    # A lost task does not lose the instance: due again after the grace.
    assert services.enqueue_due_polls(now=timezone.now() + services.QUEUED_GRACE) >= 1


@pytest.mark.django_db(databases=ALL)
def test_only_tenants_whose_subscription_runs_are_polled(tenant_a, tenant_b, okta, broker):
    mine = connect(tenant_a, Vendor.OKTA, okta, {"api_token": "t"}, name="A's")
    connect(tenant_b, Vendor.OKTA, okta, {"api_token": "t"}, name="B's")
    tenant_b.status = "cancelled"
    tenant_b.save(update_fields=["status"])

    assert services.enqueue_due_polls() == 1
    assert queued(broker) == [("connectors.poll_instance", [str(tenant_a.id), str(mine.pk)])]
    tenant_b.status = "active"
    tenant_b.save(update_fields=["status"])
    assert services.enqueue_due_polls() == 1  # B's instance was left due, not marked


@pytest.mark.django_db(databases=ALL)
def test_the_task_polls_and_a_concurrent_second_poll_returns_at_once(tenant_a, okta):
    instance = connect(tenant_a, Vendor.OKTA, okta, {"api_token": okta.api_token})
    okta.add_event(timezone.now() - dt.timedelta(minutes=1))
    with tenant_context(tenant_a):
        AppInstance.objects.filter(pk=instance.pk).update(
            lease_until=timezone.now() + dt.timedelta(minutes=5)
        )
    outcome = services.poll_instance(instance)
    assert outcome.skipped and okta.requests == []  # another poll holds the instance

    with tenant_context(tenant_a):
        AppInstance.objects.filter(pk=instance.pk).update(lease_until=None)
    result = poll_instance_task.apply(args=[str(tenant_a.id), str(instance.pk)]).get()
    assert result["accepted"] == 1 and result["error"] == ""
    refreshed = reload(tenant_a, instance)
    assert refreshed.status == InstanceStatus.HEALTHY and refreshed.lease_until is None
    assert refreshed.next_poll_at > timezone.now()
    # Deleted since queued: the task has nothing to do.
    services.delete_instance(instance=refreshed, actor=None)
    gone = poll_instance_task.apply(args=[str(tenant_a.id), str(instance.pk)]).get()
    assert gone == {"skipped": "no such app instance"}


@pytest.mark.django_db(databases=ALL)
def test_credentials_are_not_stored_in_clear(tenant_a, okta):
    secret = "00-very-secret-okta-token-0123456789"
    instance = connect(tenant_a, Vendor.OKTA, okta, {"api_token": secret})
    okta.api_token = "other"
    services.poll_instance(instance)  # a status change, audit, cursors... none holds it
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT credentials_sealed, status_detail FROM connectors_appinstance WHERE id = %s",
            [instance.pk],
        )
        sealed, detail = cursor.fetchone()
        for table in ("connectors_statuschange", "connectors_pollcursor", "tenants_auditevent"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            assert secret not in repr(cursor.fetchall()), table
    assert secret.encode() not in bytes(sealed)
    assert secret not in detail
    assert reload(tenant_a, instance).credentials() == {"api_token": secret}
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="connector.created").exists()


@pytest.mark.django_db(databases=ALL)
def test_a_us_tenants_poll_stays_in_the_us_database(okta, broker):
    us = make_tenant("Yankee", geo="us")
    instance = connect(us, Vendor.OKTA, okta, {"api_token": okta.api_token})
    assert instance._state.db == "geo_us"
    okta.add_event(timezone.now() - dt.timedelta(minutes=1))
    services.poll_instance(instance)
    with tenant_context(us):
        assert Activity.objects.filter(app_instance_id=instance.pk).count() == 1
    assert not Activity.unscoped_objects.using("default").filter(tenant_id=us.id).exists()
    assert not AppInstance.unscoped_objects.using("default").filter(tenant_id=us.id).exists()
    assert services.enqueue_due_polls(now=timezone.now() + dt.timedelta(hours=1)) == 1
