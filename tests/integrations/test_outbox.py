"""The outbox: producers append in commit order, a destination's cursor delivers at least once,
in order, backs off while the receiver is down and loses nothing; refused items go to the dead
letters; private activities never leave."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections, transaction

from apps.activities import partitions
from apps.activities.ingestion import ingest
from apps.activities.models import Activity
from apps.alerts.models import Alert, Severity
from apps.integrations import outbox, services
from apps.integrations.delivery import DeliveryError, push
from apps.integrations.models import (
    DeadLetter,
    Destination,
    DestinationKind,
    DestinationStatus,
    EventKind,
    OutboxEvent,
)
from apps.tenants.scoping import tenant_context
from tests.activities.ingest_factories import event, make_app, recent

pytestmark = pytest.mark.django_db(databases="__all__")

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Recorder:
    """Stands in for the receiver (the outside world): records, or fails as told."""

    def __init__(self, batch_size: int = 100):
        self.batch_size = batch_size
        self.received: list[str] = []
        self.down = False
        self.refuse: set[str] = set()

    def send(self, items) -> None:
        if self.down:
            raise DeliveryError("connection refused by 127.0.0.1:6514")
        for item in items:
            if item.ref in self.refuse:
                raise DeliveryError("the receiver answered HTTP 400", permanent=True)
        self.received.extend(item.ref for item in items)


def _destination(tenant, kinds=("alert", "activities"), **filters) -> Destination:
    with tenant_context(tenant):
        destination, _ = services.create_destination(
            kind=DestinationKind.WEBHOOK,
            name=f"Receiver {len(kinds)} {sorted(filters)}",
            data_kinds=list(kinds),
            config={"url": "https://receiver.example/hook"},
            filters=filters,
        )
        return destination


def _alert(tenant, n: int, severity=Severity.MEDIUM) -> Alert:
    with tenant_context(tenant):
        return Alert.objects.create(
            number=n,
            title=f"Alert {n}",
            alert_type="activity_policy",
            severity=severity,
            category="threat_detection",
            first_triggered_at=NOW,
            last_triggered_at=NOW,
        )


def _append_alerts(tenant, alerts) -> None:
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        outbox.append(EventKind.ALERT, [a.pk for a in alerts])


def test_nothing_is_appended_without_a_destination(tenant_a):
    alert = _alert(tenant_a, 1)
    _append_alerts(tenant_a, [alert])
    with tenant_context(tenant_a):
        assert not OutboxEvent.objects.exists()


def test_events_are_numbered_in_order_and_delivered_in_order(tenant_a):
    destination = _destination(tenant_a)
    alerts = [_alert(tenant_a, n) for n in range(1, 6)]
    for alert in alerts:
        _append_alerts(tenant_a, [alert])
    receiver = Recorder()
    with tenant_context(tenant_a):
        assert list(OutboxEvent.objects.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
        result = push(destination, sender=receiver, now=NOW)
        destination.refresh_from_db()
    assert receiver.received == [str(a.pk) for a in alerts]
    assert result.delivered == 5 and destination.cursor == 5
    assert destination.status == DestinationStatus.CONNECTED


def test_a_receiver_down_for_an_hour_gets_the_whole_backlog_in_order(tenant_a):
    destination = _destination(tenant_a)
    receiver = Recorder()
    receiver.down = True
    alerts = []
    with tenant_context(tenant_a):
        for minute in range(0, 60, 5):  # an hour of alerts while the receiver is down
            alert = _alert(tenant_a, minute + 1)
            alerts.append(alert)
            _append_alerts(tenant_a, [alert])
            push(destination, sender=receiver, now=NOW + timedelta(minutes=minute))
            destination.refresh_from_db()
            assert destination.status == DestinationStatus.ERROR
            assert "connection refused" in destination.status_reason
            assert destination.cursor == 0 and destination.next_attempt_at is not None
        assert destination.consecutive_failures == 12
        # Backoff doubles from 30 s and stops at 15 minutes (±10 %).
        wait = destination.next_attempt_at - NOW - timedelta(minutes=55)
        assert timedelta(minutes=13) < wait < timedelta(minutes=17)
        receiver.down = False
        push(destination, sender=receiver, now=NOW + timedelta(hours=1))
        destination.refresh_from_db()
    assert receiver.received == [str(a.pk) for a in alerts]
    assert destination.cursor == 12 and destination.consecutive_failures == 0


def test_an_item_refused_for_good_becomes_a_dead_letter_and_the_rest_moves_on(tenant_a):
    destination = _destination(tenant_a)
    first, bad, last = (_alert(tenant_a, n) for n in (1, 2, 3))
    _append_alerts(tenant_a, [first, bad, last])
    receiver = Recorder(batch_size=1)
    receiver.refuse = {str(bad.pk)}
    with tenant_context(tenant_a):
        for attempt in range(5):
            push(destination, sender=receiver, now=NOW + timedelta(minutes=attempt))
            destination.refresh_from_db()
        letter = DeadLetter.objects.get()
        assert letter.ref == str(bad.pk) and letter.attempts == 5 and "400" in letter.error
        assert receiver.received == [str(first.pk), str(last.pk)]
        assert destination.cursor == 1
        # Sent again from the console: a new event, delivered once the receiver accepts it.
        receiver.refuse = set()
        services.resend_dead_letter(letter)
        push(destination, sender=receiver, now=NOW + timedelta(minutes=10))
    assert receiver.received[-1] == str(bad.pk)


def test_a_crash_half_way_sends_again_from_the_last_saved_batch_never_skips(tenant_a):
    destination = _destination(tenant_a)
    alerts = [_alert(tenant_a, n) for n in range(1, 5)]
    _append_alerts(tenant_a, alerts)

    class Crashing(Recorder):
        def send(self, items):
            if str(alerts[2].pk) in [i.ref for i in items]:
                raise RuntimeError("worker killed")
            super().send(items)

    crashing = Crashing(batch_size=1)
    with tenant_context(tenant_a):
        with pytest.raises(RuntimeError):
            push(destination, sender=crashing, now=NOW)
        destination.refresh_from_db()
        assert destination.cursor == 0 and destination.cursor_offset == 2
        receiver = Recorder(batch_size=1)
        push(destination, sender=receiver, now=NOW)
    assert crashing.received + receiver.received == [str(a.pk) for a in alerts]


def test_filters_and_kinds_decide_what_a_destination_receives(tenant_a):
    high_only = _destination(tenant_a, kinds=("alert",), min_severity=Severity.HIGH)
    low, high = _alert(tenant_a, 1, Severity.LOW), _alert(tenant_a, 2, Severity.HIGH)
    _append_alerts(tenant_a, [low, high])
    receiver = Recorder()
    with tenant_context(tenant_a):
        push(high_only, sender=receiver, now=NOW)
    assert receiver.received == [str(high.pk)]


def test_ingested_activities_are_queued_and_private_ones_never_sent(tenant_a):
    destination = _destination(tenant_a, kinds=("activities",))
    partitions.forget()
    app = make_app(tenant_a)
    ingest(tenant=tenant_a, app_instance=app, events=[event(n) for n in (1, 2, 3)], source="push")
    with tenant_context(tenant_a):
        assert OutboxEvent.objects.filter(kind="activities").count() == 1
        activities = list(Activity.objects.all())
        assert len(activities) == 3
        secret = activities[0]
        Activity.objects.filter(pk=secret.pk).update(is_private=True)
        receiver = Recorder()
        push(destination, sender=receiver, now=NOW)
    assert sorted(receiver.received) == sorted(str(a.pk) for a in activities[1:])
    assert str(secret.pk) not in receiver.received


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_one_pusher_per_destination_at_a_time(tenant_a):
    destination = _destination(tenant_a)
    _append_alerts(tenant_a, [_alert(tenant_a, 1)])
    started, release = threading.Event(), threading.Event()
    results = {}

    class Slow(Recorder):
        def send(self, items):
            started.set()
            release.wait(5)
            super().send(items)

    def run():
        try:
            with tenant_context(tenant_a):
                results["first"] = push(
                    Destination.objects.get(pk=destination.pk), sender=Slow(), now=NOW
                )
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(5)
    with tenant_context(tenant_a):
        second = push(destination, sender=Recorder(), now=NOW)
    release.set()
    thread.join(10)
    assert second.busy and results["first"].delivered == 1


def test_another_tenants_events_never_reach_a_destination(tenant_a, tenant_b):
    destination = _destination(tenant_a)
    _destination(tenant_b)
    _append_alerts(tenant_b, [_alert(tenant_b, 1)])
    mine = _alert(tenant_a, 1)
    _append_alerts(tenant_a, [mine])
    receiver = Recorder()
    with tenant_context(tenant_a):
        push(destination, sender=receiver, now=NOW)
    assert receiver.received == [str(mine.pk)]


def test_delivered_events_are_pruned(tenant_a):
    destination = _destination(tenant_a)
    _append_alerts(tenant_a, [_alert(tenant_a, 1)])
    _append_alerts(tenant_a, [_alert(tenant_a, 2)])
    with tenant_context(tenant_a):
        assert services.prune_outbox(now=NOW) == 0
        push(destination, sender=Recorder(), now=NOW)
        assert services.prune_outbox(now=NOW) == 2
        assert not OutboxEvent.objects.exists()


def test_a_new_siem_agent_back_fills_two_days_once_then_follows_the_outbox(tenant_a):
    partitions.forget()
    app = make_app(tenant_a)
    ingest(
        tenant=tenant_a,
        app_instance=app,
        events=[event(1), event(2), event(3, occurred_at=recent(60 * 24 * 3))],  # 3 days ago
        source="push",
    )
    with tenant_context(tenant_a):
        old = list(Activity.objects.order_by("occurred_at"))
        agent, _ = services.create_destination(
            kind=DestinationKind.SIEM,
            name="SIEM",
            data_kinds=["activities"],
            config={"host": "127.0.0.1", "port": 514, "transport": "tcp"},
        )
        assert agent.backfill_pending
    ingest(tenant=tenant_a, app_instance=app, events=[event(4)], source="push")
    receiver = Recorder(batch_size=2)
    with tenant_context(tenant_a):
        push(agent, sender=receiver)
        agent.refresh_from_db()
        new = Activity.objects.get(source_event_id="evt-4")
    # The two activities of the last two days (oldest first), then the outbox's new one.
    assert receiver.received == [str(old[1].pk), str(old[2].pk), str(new.pk)]
    assert not agent.backfill_pending
    with tenant_context(tenant_a):
        push(agent, sender=receiver)
    assert len(receiver.received) == 3


def test_file_policy_alerts_are_queued_too(tenant_a):
    from apps.alerts.models import Policy, PolicyKind
    from apps.dlp.models import FileSource
    from apps.dlp.services import scan_file

    destination = _destination(tenant_a, kinds=("alert",))
    with tenant_context(tenant_a):
        Policy.objects.create(
            kind=PolicyKind.FILE,
            name="Cards anywhere",
            category="dlp",
            filters={"sensitive_types": ["payment_card"], "min_matches": 1},
        )
        scan_file(name="a.txt", data=b"card 4111 1111 1111 1111", source=FileSource.API)
        alert = Alert.objects.get()
        receiver = Recorder()
        push(destination, sender=receiver, now=NOW)
    assert receiver.received == [str(alert.pk)]
