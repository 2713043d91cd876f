"""The lifecycle sweeps under Celery's time limit: each task fits TASK_TIME_LIMIT (no task may
outlive the broker's visibility timeout, tests/test_celery_worker.py); a sweep with more to do
stops at the soft limit, keeps what it committed, and sends itself again to carry on.

Celery raises the soft limit inside whatever code is running; here it is raised from the place
a purge would be when the signal arrives (a partition drop, a batch), the only stand-in used."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings

from apps.activities import partitions
from apps.compliance import retention, tasks
from apps.compliance.models import PurgeStatus
from apps.tenants.tasking import OutOfTime
from tests.compliance import retention_kit as kit

ALL = ["default", "geo_us"]


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    yield client
    client.delete("celery")


def _queued(client) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in client.lrange("celery", 0, -1)]


def _time_is_up(*args, **kwargs):
    raise OutOfTime()


@pytest.mark.django_db(databases=ALL)
def test_a_purge_out_of_time_keeps_what_committed_and_sends_itself_again(
    tenant_a, settings, monkeypatch, broker
):
    settings.RETENTION_BATCH_SIZE = 2
    kit.discovery(tenant_a, 100)  # several batches due
    calls = {"n": 0}
    real = retention._delete_ids

    def one_batch_then_time_is_up(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OutOfTime()
        return real(*args, **kwargs)

    monkeypatch.setattr(retention, "_delete_ids", one_batch_then_time_is_up)
    assert tasks.purge_retention.apply().get() == "continued in a new run"
    assert _queued(broker) == ["compliance.purge_retention"]
    [run] = kit.runs(tenant_a, kind="discovery")
    first = run.removed
    assert run.status == PurgeStatus.RUNNING and 0 < first < 4  # the first batch stays

    monkeypatch.setattr(retention, "_delete_ids", real)
    result = tasks.purge_retention.apply().get()  # the next run carries on and finishes
    assert result["removed"]["discovery"] == 4 - first
    [run] = kit.runs(tenant_a, kind="discovery")
    assert run.status == PurgeStatus.DONE and run.removed == 4


@pytest.mark.django_db(databases=ALL)
def test_out_of_time_is_not_mistaken_for_a_failed_drop(tenant_a, settings, monkeypatch):
    settings.ACTIVITY_RETENTION_DAYS = 30
    kit.activities(tenant_a, logdata_app(tenant_a), 40, 3)
    monkeypatch.setattr(partitions, "drop_partition", _time_is_up)
    with pytest.raises(OutOfTime):
        retention.purge_all()
    assert not kit.runs(tenant_a, status=PurgeStatus.FAILED)


@pytest.mark.parametrize("name", ["cleanup_deleted_accounts", "delete_due_tenants"])
def test_the_other_sweeps_also_carry_on(name, monkeypatch, broker):
    module = "subjects" if name == "cleanup_deleted_accounts" else "offboarding"
    monkeypatch.setattr(f"apps.compliance.{module}.{name}", _time_is_up)
    assert getattr(tasks, name).apply().get() == "continued in a new run"
    assert _queued(broker) == [f"compliance.{name}"]


def logdata_app(tenant):
    from tests.activities import logdata

    return logdata.app(tenant)
