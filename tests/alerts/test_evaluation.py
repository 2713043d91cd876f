"""Policy evaluation end to end: real ingestion queues batches, the evaluator raises alerts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connections

from apps.alerts import evaluation
from apps.alerts.models import Alert, AlertActivity, EvaluationBatch, MatchMode, PolicyDay
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

from .helpers import evaluate, event, ingest_events, policy

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def app_a(tenant_a):
    return logdata.app(tenant_a)


def _alerts(tenant):
    with tenant_context(tenant):
        return list(Alert.objects.order_by("number"))


def test_single_match_raises_one_alert_per_person_and_folds_repeats(tenant_a, app_a):
    policy(tenant_a, name="Downloads from FR", filters={"location.country": {"eq": ["GB"]}})
    now = logdata.base_time()
    ingest_events(
        tenant_a,
        app_a,
        [event(now), event(now + dt.timedelta(minutes=1)), event(now, actor="bob@a.example")],
    )
    stats = evaluate(tenant_a)
    assert stats.activities == 3
    alerts = _alerts(tenant_a)
    assert [a.title for a in alerts] == ["Downloads from FR", "Downloads from FR"]
    assert {a.number for a in alerts} == {1, 2}
    # A later trigger for Ann inside the window updates her alert instead of raising another.
    ingest_events(tenant_a, app_a, [event(now + dt.timedelta(minutes=5))])
    evaluate(tenant_a)
    alerts = _alerts(tenant_a)
    assert len(alerts) == 2
    assert sorted(a.trigger_count for a in alerts) == [1, 2]
    with tenant_context(tenant_a):
        assert AlertActivity.objects.count() == 4
        assert not EvaluationBatch.objects.exists()


def test_filters_that_do_not_match_raise_nothing(tenant_a, app_a):
    policy(tenant_a, filters={"location.country": {"eq": ["FR"]}})
    ingest_events(tenant_a, app_a, [event(logdata.base_time())])
    assert evaluate(tenant_a).alerts_created == 0
    assert _alerts(tenant_a) == []


def test_repeated_activity_needs_n_within_the_window(tenant_a, app_a):
    policy(
        tenant_a,
        name="Mass download",
        mode=MatchMode.REPEATED,
        repeat_count=3,
        repeat_window_minutes=5,
        filters={"activity.eventType": {"eq": ["download"]}},
    )
    now = logdata.base_time()
    # Two within 5 minutes, then a third 10 minutes later: no trigger.
    ingest_events(tenant_a, app_a, [event(now), event(now + dt.timedelta(minutes=1))])
    evaluate(tenant_a)
    ingest_events(tenant_a, app_a, [event(now + dt.timedelta(minutes=11))])
    evaluate(tenant_a)
    assert _alerts(tenant_a) == []
    # Two more close to the third: 3 within 5 minutes, across batches.
    ingest_events(tenant_a, app_a, [event(now + dt.timedelta(minutes=12))])
    evaluate(tenant_a)
    assert _alerts(tenant_a) == []
    ingest_events(tenant_a, app_a, [event(now + dt.timedelta(minutes=13))])
    evaluate(tenant_a)
    [alert] = _alerts(tenant_a)
    assert alert.title == "Mass download"


def test_daily_limit_holds_back_and_counts(tenant_a, app_a):
    made = policy(tenant_a, daily_alert_limit=2, filters={})
    now = logdata.base_time()
    ingest_events(tenant_a, app_a, [event(now, actor=f"p{i}@a.example") for i in range(5)])
    stats = evaluate(tenant_a)
    assert stats.alerts_created == 2 and stats.suppressed == 3
    with tenant_context(tenant_a):
        day = PolicyDay.objects.get(policy=made)
    assert (day.alerts, day.suppressed, day.matches) == (2, 3, 5)


def test_scope_exclude_wins(tenant_a, app_a):
    ann = logdata.person(tenant_a, "ann@a.example")
    acc = logdata.account(tenant_a, app_a, ann, username="ann@a.example", external_id="ann")
    group = logdata.group(tenant_a, "Travellers", [acc], app_instance=app_a)
    policy(tenant_a, include_groups=[str(group.pk)], exclude_groups=[str(group.pk)])
    policy(tenant_a, name="Only travellers", include_groups=[str(group.pk)])
    now = logdata.base_time()
    ingest_events(
        tenant_a,
        app_a,
        [event(now, actor_external_id="ann"), event(now, actor="zed@a.example")],
    )
    evaluate(tenant_a)
    [alert] = _alerts(tenant_a)
    assert alert.title == "Only travellers"
    with tenant_context(tenant_a):
        assert list(alert.users.all()) == [ann]


def test_a_failure_half_way_leaves_nothing_and_the_retry_evaluates_once(
    tenant_a, app_a, monkeypatch
):
    policy(tenant_a, name="Everything", filters={})
    now = logdata.base_time()
    ingest_events(tenant_a, app_a, [event(now), event(now, actor="bob@a.example")])
    real = evaluation.raising.raise_alerts
    calls = {"n": 0}

    def crash_after_writing(**kwargs):
        real(**kwargs)  # alerts are written, then the worker "dies"
        calls["n"] += 1
        raise RuntimeError("worker lost")

    monkeypatch.setattr(evaluation.raising, "raise_alerts", crash_after_writing)
    with pytest.raises(RuntimeError):
        evaluate(tenant_a)
    assert calls["n"] == 1
    assert _alerts(tenant_a) == []  # rolled back with the batch still queued
    monkeypatch.setattr(evaluation.raising, "raise_alerts", real)
    evaluate(tenant_a)
    evaluate(tenant_a)  # a duplicate delivery of the task finds nothing left
    assert len(_alerts(tenant_a)) == 2
    assert [a.trigger_count for a in _alerts(tenant_a)] == [1, 1]


def test_the_tenant_lock_keeps_a_second_evaluator_out(tenant_a, app_a):
    policy(tenant_a, filters={})
    ingest_events(tenant_a, app_a, [event(logdata.base_time())])
    alias = tenant_a.db_alias
    if connections[alias].vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    import psycopg

    settings_dict = connections[alias].settings_dict
    other = psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
        autocommit=False,
    )
    try:
        key = int.from_bytes(tenant_a.id.bytes[:4], "big") & 0x7FFFFFFF
        other.execute("SELECT pg_advisory_xact_lock(%s, %s)", [evaluation._LOCK_NAMESPACE, key])
        assert evaluate(tenant_a).busy is True
    finally:
        other.rollback()
        other.close()
    assert evaluate(tenant_a).alerts_created == 1


def test_other_tenants_batches_are_not_touched(tenant_a, tenant_b, app_a):
    app_b = logdata.app(tenant_b)
    policy(tenant_a, filters={})
    policy(tenant_b, filters={})
    ingest_events(tenant_a, app_a, [event(logdata.base_time())])
    ingest_events(tenant_b, app_b, [event(logdata.base_time())])
    evaluate(tenant_a)
    assert len(_alerts(tenant_a)) == 1
    assert _alerts(tenant_b) == []
    with tenant_context(tenant_b):
        assert EvaluationBatch.objects.count() == 1


def test_a_policy_judges_only_what_arrives_after_it(tenant_a, app_a):
    now = logdata.base_time()
    ingest_events(tenant_a, app_a, [event(now)])  # queued before the policy exists
    policy(tenant_a, name="Late policy", filters={})
    evaluate(tenant_a)
    assert _alerts(tenant_a) == []
    ingest_events(tenant_a, app_a, [event(now + dt.timedelta(minutes=1))])
    evaluate(tenant_a)
    assert [a.title for a in _alerts(tenant_a)] == ["Late policy"]


def test_batches_evaluated_together_still_respect_when_a_policy_was_made(tenant_a, app_a):
    now = logdata.base_time()
    ingest_events(tenant_a, app_a, [event(now, actor="early@a.example")])
    policy(tenant_a, name="Middle policy", filters={})
    ingest_events(tenant_a, app_a, [event(now, actor="late@a.example")])
    stats = evaluate(tenant_a)  # both batches in one group
    assert stats.batches == 2 and stats.activities == 2
    [alert] = _alerts(tenant_a)
    assert "late@a.example" in alert.description


def test_ingestion_enqueues_the_evaluation_task_which_evaluates(
    tenant_a, app_a, django_capture_on_commit_callbacks, settings
):
    import json

    import redis

    from apps.alerts import tasks

    queue = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue.delete("celery")
    policy(tenant_a, name="Everything", filters={})
    with django_capture_on_commit_callbacks(execute=True):
        ingest_events(tenant_a, app_a, [event(logdata.base_time())])
    # One message per committed chunk on the real broker, carrying the tenant's id only.
    messages = [json.loads(m) for m in queue.lrange("celery", 0, -1)]
    sent = [m["headers"] for m in messages if m["headers"]["task"] == "alerts.evaluate"]
    assert len(sent) == 1 and sent[0]["argsrepr"] == repr((str(tenant_a.id),))
    queue.delete("celery")
    answer = tasks.evaluate.apply(args=[str(tenant_a.id)]).get()  # as a worker runs it
    assert answer["activities"] == 1 and answer["alerts_created"] == 1
    assert [a.title for a in _alerts(tenant_a)] == ["Everything"]
