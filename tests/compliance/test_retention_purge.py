"""The retention purge on PostgreSQL: partition drop, per-tenant batches, every kind, idempotence,
the beat task and the operator's command."""

from __future__ import annotations

import io

import psycopg
import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.activities import partitions
from apps.alerts.models import Alert, AlertAccount, AlertActivity, AlertApp, AlertUser, PolicyDay
from apps.compliance import retention
from apps.compliance.models import PurgeMethod, PurgeStatus
from apps.compliance.retention import purge_all
from apps.discovery.models import UploadStatus
from apps.governance.models import GovernanceAction, GovernanceStatus
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.compliance import retention_kit as kit
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"])


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.mark.parametrize("geo", ["eu", "us"])
def test_old_days_are_dropped_whole_and_counted_per_tenant(geo, settings):
    settings.ACTIVITY_RETENTION_DAYS = 180
    one, two = make_tenant(f"One{geo}", geo=geo), make_tenant(f"Two{geo}", geo=geo)
    alias = one.db_alias
    now = timezone.now()
    app_one, app_two = logdata.app(one), logdata.app(two)
    kit.activities(one, app_one, 200, 3, now)
    kit.activities(one, app_one, 190, 2, now)
    kit.activities(two, app_two, 190, 4, now)
    kit.activities(one, app_one, 10, 1, now)
    kit.activities(two, app_two, 10, 1, now)
    old_days = {kit.ago(200, now).date(), kit.ago(190, now).date()}
    assert old_days <= partitions.existing_days(alias)

    summary = purge_all(now=now)

    assert not old_days & partitions.existing_days(alias)  # really dropped
    assert summary["partitions_dropped"] >= 2
    assert kit.activity_count(one) == 1 and kit.activity_count(two) == 1
    [run_one] = kit.runs(one, method=PurgeMethod.PARTITION_DROP)
    [run_two] = kit.runs(two, method=PurgeMethod.PARTITION_DROP)
    assert (run_one.removed, run_two.removed) == (5, 4)
    assert run_one.status == run_two.status == PurgeStatus.DONE
    names = {partitions.partition_name(day) for day in old_days}
    assert set(run_one.details["partitions"]) == names
    assert run_two.details["partitions"] == [partitions.partition_name(kit.ago(190, now).date())]
    assert run_one.details["by_table"] == {"activities.Activity": 5}


def test_a_shorter_period_removes_only_that_tenants_rows(tenant_a, tenant_b, settings):
    settings.RETENTION_BATCH_SIZE = 2  # several batches
    now = timezone.now()
    kit.own_periods(tenant_a, activities_days=30)
    app_a, app_b = logdata.app(tenant_a), logdata.app(tenant_b)
    kit.activities(tenant_a, app_a, 40, 5, now)
    kit.activities(tenant_b, app_b, 40, 3, now)  # same day, same partition, another tenant
    kit.activities(tenant_a, app_a, 20, 2, now)

    summary = purge_all(now=now)

    assert kit.activity_count(tenant_a) == 2
    assert kit.activity_count(tenant_b) == 3
    assert summary["removed"]["activities"] == 5
    [run] = kit.runs(tenant_a, kind="activities")
    assert (run.method, run.removed, run.status) == (PurgeMethod.BATCHED_DELETE, 5, "done")
    assert run.details["by_table"] == {"activities.Activity": 5}
    assert kit.runs(tenant_b) == []  # nothing of B's was due: no record


def test_the_boundary_day_loses_only_rows_older_than_the_exact_cutoff(tenant_a, settings):
    settings.ACTIVITY_RETENTION_DAYS = 180
    now = timezone.now()
    app = logdata.app(tenant_a)
    logdata.add(
        tenant_a,
        [
            logdata.activity_row(app, kit.ago(180, now) - timezone.timedelta(minutes=1)),
            logdata.activity_row(app, kit.ago(180, now) + timezone.timedelta(minutes=1)),
        ],
    )
    purge_all(now=now)
    assert kit.activity_count(tenant_a) == 1


def test_discovery_data_goes_in_batches_but_unfinished_uploads_stay(tenant_a, tenant_b, settings):
    settings.RETENTION_BATCH_SIZE = 1
    kit.discovery(tenant_a, 100, uploads=(UploadStatus.DONE, UploadStatus.FAILED))
    kit.discovery(tenant_a, 100, uploads=(UploadStatus.QUEUED, UploadStatus.PARSING))
    kit.discovery(tenant_a, 10)
    kit.discovery(tenant_b, 100)
    kit.own_periods(tenant_b, discovery_days=120)  # may shorten, never lengthen: stays at 90

    purge_all()

    # A: two old days (3 rows each) gone, the recent one stays; old unfinished uploads stay.
    assert kit.discovery_counts(tenant_a) == {"days": 3, "uploads": 3}
    assert kit.discovery_counts(tenant_b) == {"days": 0, "uploads": 0}
    [run] = kit.runs(tenant_a, kind="discovery")
    assert run.details["by_table"] == {
        "discovery.AppDay": 2,
        "discovery.AppUserDay": 2,
        "discovery.AppIpDay": 2,
        "discovery.Upload": 2,
    }
    assert run.removed == 8 and run.status == PurgeStatus.DONE


def test_alerts_go_with_their_links_and_governance_keeps_its_row(tenant_a, tenant_b, settings):
    settings.RETENTION_BATCH_SIZE = 1
    old, app, account = kit.alert(tenant_a, 200)
    recent, _, _ = kit.alert(tenant_a, 5)
    other, _, _ = kit.alert(tenant_b, 200)
    kit.own_periods(tenant_b, alerts_days=300)  # longer than the maximum: the maximum applies
    action = kit.governance(tenant_a, app, account, 1, GovernanceStatus.SUCCEEDED, alert=old)
    with tenant_context(tenant_a):
        assert AlertActivity.objects.filter(alert=old).exists()
        assert AlertUser.objects.filter(alert=old).exists()

    purge_all()

    with tenant_context(tenant_a):
        assert list(Alert.objects.values_list("pk", flat=True)) == [recent.pk]
        for link in (AlertActivity, AlertUser, AlertAccount, AlertApp):
            assert not link.objects.filter(alert_id=old.pk).exists()
            assert link.objects.filter(alert_id=recent.pk).exists()
        action.refresh_from_db()
        assert action.alert_id is None  # SET_NULL, as the model says
        assert PolicyDay.objects.filter(day=kit.ago(200).date()).count() == 0
        assert PolicyDay.objects.filter(day=kit.ago(5).date()).count() == 1
    with tenant_context(tenant_b):
        assert not Alert.objects.filter(pk=other.pk).exists()
    [run] = kit.runs(tenant_a, kind="alerts")
    assert run.details["by_table"]["alerts.Alert"] == 1
    assert run.details["by_table"]["alerts.AlertActivity"] == 1
    assert run.details["by_table"]["alerts.PolicyDay"] == 1


def test_only_finished_governance_actions_go(tenant_a, settings):
    settings.RETENTION_BATCH_SIZE = 2
    app = logdata.app(tenant_a)
    account = logdata.account(tenant_a, app, None)
    gone = [
        kit.governance(tenant_a, app, account, 130 + i, status)
        for i, status in enumerate(["succeeded", "failed", "succeeded"])
    ]
    busy = [
        kit.governance(tenant_a, app, account, 130, status)
        for status in ("pending", "in_progress", "retrying")
    ]
    recent = kit.governance(tenant_a, app, account, 10, "failed")
    retry = kit.governance(tenant_a, app, account, 10, "succeeded", retry_of=gone[1])

    purge_all()

    with tenant_context(tenant_a):
        left = set(GovernanceAction.objects.values_list("pk", flat=True))
        retry.refresh_from_db()
    assert left == {a.pk for a in busy} | {recent.pk, retry.pk}
    assert retry.retry_of_id is None
    [run] = kit.runs(tenant_a, kind="governance")
    assert run.removed == 3 and run.status == PurgeStatus.DONE


def test_a_second_run_removes_nothing_and_writes_no_record(tenant_a, settings):
    settings.RETENTION_BATCH_SIZE = 2
    app = logdata.app(tenant_a)
    kit.activities(tenant_a, app, 200, 3)
    kit.discovery(tenant_a, 100)
    kit.alert(tenant_a, 200)
    first = purge_all()
    assert sum(first["removed"].values()) > 0
    records = len(kit.runs(tenant_a))

    second = purge_all()

    assert second["removed"] == dict.fromkeys(second["removed"], 0)
    assert second["partitions_dropped"] == 0 and second["errors"] == 0
    assert len(kit.runs(tenant_a)) == records


def test_beat_runs_the_purge_daily(tenant_a):
    from apps.compliance.tasks import purge_retention
    from casb.celery import app as celery_app

    entry = celery_app.conf.beat_schedule["compliance.purge-retention"]
    assert entry["task"] == "compliance.purge_retention"
    kit.discovery(tenant_a, 100)

    result = purge_retention.apply().get()

    assert result["removed"]["discovery"] == 4
    assert kit.discovery_counts(tenant_a) == {"days": 0, "uploads": 0}


def test_the_command_dry_run_shows_what_is_due_and_changes_nothing(tenant_a):
    kit.discovery(tenant_a, 100)
    out = io.StringIO()

    call_command("purge_retention", "--dry-run", stdout=out)

    assert f"{tenant_a.slug}: due activities 0, discovery 4, alerts 0, governance 0" in (
        out.getvalue()
    )
    assert kit.discovery_counts(tenant_a) == {"days": 3, "uploads": 1}
    out = io.StringIO()
    call_command("purge_retention", stdout=out)
    assert '"discovery": 4' in out.getvalue()
    assert kit.discovery_counts(tenant_a) == {"days": 0, "uploads": 0}


def test_without_partitions_activities_go_in_batches(tenant_a, tenant_b, settings, monkeypatch):
    """The SQLite demo's path (one plain table), run here over the same rows through the ORM."""
    settings.RETENTION_BATCH_SIZE = 2
    now = timezone.now()
    app_a, app_b = logdata.app(tenant_a), logdata.app(tenant_b)
    kit.activities(tenant_a, app_a, 200, 5, now)
    kit.activities(tenant_b, app_b, 200, 1, now)
    kit.activities(tenant_a, app_a, 10, 1, now)
    old_day = kit.ago(200, now).date()
    monkeypatch.setattr(partitions, "is_partitioned", lambda alias: False)

    summary = purge_all(now=now)

    assert summary["partitions_dropped"] == 0
    assert old_day in partitions.existing_days(tenant_a.db_alias)  # nothing dropped
    assert (kit.activity_count(tenant_a), kit.activity_count(tenant_b)) == (1, 0)
    [run] = kit.runs(tenant_a, kind="activities")
    assert (run.method, run.removed) == (PurgeMethod.BATCHED_DELETE, 5)


def test_a_database_another_purge_holds_is_skipped(tenant_a):
    from tests.compliance.test_retention_kill import _url

    kit.discovery(tenant_a, 100)
    with psycopg.connect(_url("default"), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [retention._LOCK_KEY])
        summary = purge_all()
    assert summary["skipped"] == ["default"]
    assert kit.discovery_counts(tenant_a) == {"days": 3, "uploads": 1}  # left alone
    assert purge_all()["removed"]["discovery"] == 4  # the lock went with its session


def test_a_failing_batch_marks_its_record_failed_and_the_rest_goes_on(
    tenant_a, tenant_b, settings, monkeypatch
):
    settings.RETENTION_BATCH_SIZE = 2
    app = logdata.app(tenant_a)
    account = logdata.account(tenant_a, app, None)
    for i in range(4):
        kit.governance(tenant_a, app, account, 130 + i, "succeeded")
    kit.discovery(tenant_b, 100)
    real, calls = retention._delete_ids, []

    def second_governance_batch_fails(label, alias, ids):
        calls.append(label)
        if label == "governance.GovernanceAction" and calls.count(label) == 2:
            raise RuntimeError("disk full")
        return real(label, alias, ids)

    monkeypatch.setattr(retention, "_delete_ids", second_governance_batch_fails)

    summary = purge_all()

    assert summary["errors"] == 1
    [run] = kit.runs(tenant_a, kind="governance")
    assert (run.status, run.removed, run.error) == (PurgeStatus.FAILED, 2, "disk full")
    with tenant_context(tenant_a):
        assert GovernanceAction.objects.count() == 2  # the failed batch rolled back
    assert kit.discovery_counts(tenant_b) == {"days": 0, "uploads": 0}  # B went on
