"""Delivering the outbox to one destination: at least once, in order, with backoff.

`push(destination, sender=..., now=..., max_seconds=...)` reads the events after the
destination's cursor in number order, loads what each refers to (as it is *now*: private
activities are left out through `apps.activities.privacy.shareable`, deleted rows are gone),
keeps what the destination's filter accepts, and hands it to the `Sender` in batches. The cursor
(and the position inside an event) moves only after the sender returned, and is saved after
every batch: a crash re-sends at most one batch (at-least-once), never skips one.

When the sender fails:
- a failure of the receiver or the network (`DeliveryError(permanent=False)`) leaves the cursor
  where it is, marks the destination in error with the reason, and backs off (30 s doubling to
  15 minutes); the beat push tries again when it is due, so a receiver that is down for an
  hour gets the whole backlog, in order, when it returns;
- a refusal of one item (`permanent=True`, e.g. a webhook answering 400 to that body) is tried
  again up to `MAX_ITEM_ATTEMPTS` times, then the item goes to the dead letters (visible in the
  console, can be sent again) and the backlog moves on.

One pusher per destination at a time: a PostgreSQL advisory lock (session level) keyed by the
destination; a second push of the same destination returns at once.
"""

from __future__ import annotations

import logging
import random
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import connections
from django.db.models import Q
from django.utils import timezone

from apps.activities.models import Activity
from apps.activities.privacy import shareable
from apps.alerts.models import Alert

from .models import (
    DeadLetter,
    Destination,
    DestinationStatus,
    EventKind,
    OutboxEvent,
)

log = logging.getLogger(__name__)

EVENTS_PER_ROUND = 50
MAX_ITEM_ATTEMPTS = 5
BACKOFF_FIRST = 30  # seconds
BACKOFF_MAX = 15 * 60
_LOCK_NAMESPACE = 0x4F555442  # "OUTB"


class DeliveryError(Exception):
    """A sender could not deliver; `permanent` when the receiver refused this very item."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Item:
    """One thing to send: its event, its position in the event, and the row itself."""

    seq: int
    index: int
    kind: str
    ref: str
    obj: Any


class Sender(Protocol):
    batch_size: int

    def send(self, items: list[Item]) -> None:
        """Deliver `items` in order, or raise DeliveryError."""


@dataclass
class PushResult:
    delivered: int = 0
    dead: int = 0
    events: int = 0
    busy: bool = False
    error: str = ""
    more: bool = False  # stopped on the time budget with events left
    details: dict = field(default_factory=dict)


# --- What an event holds, as it is now ---------------------------------------------------------


def _accepts_activity(destination: Destination, activity: Activity) -> bool:
    filters = destination.filters or {}
    types = filters.get("activity_types") or []
    apps = filters.get("apps") or []
    if types and activity.activity_type not in types:
        return False
    return not (apps and str(activity.app_instance_id) not in apps)


def _accepts_alert(destination: Destination, alert: Alert) -> bool:
    filters = destination.filters or {}
    return alert.severity >= int(filters.get("min_severity") or 0)


def items_of(event: OutboxEvent, destination: Destination) -> list[Item]:
    """The event's items the destination receives, in the event's order."""
    if event.kind not in (destination.data_kinds or []):
        return []
    if event.kind == EventKind.ACTIVITIES:
        rows = {
            str(a.pk): a
            for a in shareable(Activity.objects.filter(pk__in=event.refs)).select_related(
                "app_instance"
            )
        }
        accepts = _accepts_activity
    elif event.kind == EventKind.ALERT:
        rows = {
            str(a.pk): a
            for a in Alert.objects.filter(pk__in=event.refs).prefetch_related("users", "apps")
        }
        accepts = _accepts_alert
    else:
        return []
    return [
        Item(seq=event.seq, index=index, kind=event.kind, ref=ref, obj=rows[ref])
        for index, ref in enumerate(event.refs)
        if ref in rows and accepts(destination, rows[ref])
    ]


# --- Pushing -------------------------------------------------------------------------------------


@contextmanager
def _exclusive(destination: Destination) -> Iterator[bool]:
    alias = destination._state.db or "default"
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield True
        return
    key = zlib.crc32(destination.pk.bytes) & 0x7FFFFFFF
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, key])
        mine = bool(cursor.fetchone()[0])
    try:
        yield mine
    finally:
        if mine:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, key])


def backoff(failures: int) -> timedelta:
    """30 s, 60 s, 120 s ... up to 15 minutes, with ±10 % jitter."""
    seconds = min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX)
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))


_CURSOR_FIELDS = [
    "cursor",
    "cursor_offset",
    "item_attempts",
    "consecutive_failures",
    "status",
    "status_reason",
    "last_delivered_at",
    "last_error_at",
    "next_attempt_at",
    "updated_at",
]


def _failed(destination: Destination, error: DeliveryError, now: datetime) -> None:
    destination.consecutive_failures += 1
    destination.status = DestinationStatus.ERROR
    destination.status_reason = str(error)[:500]
    destination.last_error_at = now
    destination.next_attempt_at = now + backoff(destination.consecutive_failures)
    destination.save(update_fields=_CURSOR_FIELDS)


def _delivered(destination: Destination, now: datetime) -> None:
    destination.consecutive_failures = 0
    destination.status = DestinationStatus.CONNECTED
    destination.status_reason = ""
    destination.last_delivered_at = now
    destination.next_attempt_at = None
    destination.save(update_fields=_CURSOR_FIELDS)


def push(
    destination: Destination,
    *,
    sender: Sender,
    now: datetime | None = None,
    max_seconds: float = 50.0,
) -> PushResult:
    """Deliver what is due to `destination` (see the module docstring)."""
    result = PushResult()
    deadline = time.monotonic() + max_seconds
    with _exclusive(destination) as mine:
        if not mine:
            result.busy = True
            return result
        destination.refresh_from_db()
        if not destination.enabled:
            return result
        if destination.backfill_pending and not _backfill(
            destination, sender, result, now, deadline
        ):
            return result
        while True:
            events = list(
                OutboxEvent.objects.filter(seq__gt=destination.cursor).order_by("seq")[
                    :EVENTS_PER_ROUND
                ]
            )
            if not events:
                break
            for event in events:
                if not _deliver_event(destination, event, sender, result, now):
                    return result
                result.events += 1
                if time.monotonic() > deadline:
                    result.more = OutboxEvent.objects.filter(seq__gt=destination.cursor).exists()
                    return result
    return result


BACKFILL = timedelta(days=2)
BACKFILL_BATCH = 500


def _send_all(destination, sender, items: list[Item], result: PushResult, now) -> bool:
    """Send back-fill items in batches; False (and the destination in error) on a failure.
    Back-fill is best effort per item: a refusal of one item skips it (no dead letter)."""
    size = max(int(getattr(sender, "batch_size", 1)), 1)
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        try:
            sender.send(batch)
        except DeliveryError as error:
            if error.permanent and len(batch) == 1:
                continue
            _failed(destination, error, now or timezone.now())
            result.error = str(error)
            return False
        result.delivered += len(batch)
    return True


def _backfill(destination, sender, result: PushResult, now, deadline: float) -> bool:
    """Send the two days before the destination was created, once (SIEM agents): alerts
    triggered then, then activities that occurred then, in order, resuming where a failure or
    the time budget stopped it. False when it is not finished (stop this push)."""
    end = destination.created_at
    start = end - BACKFILL
    position = dict(destination.backfill_position or {})
    kinds = destination.data_kinds or []
    if EventKind.ALERT in kinds and not position.get("alerts"):
        alerts = (
            Alert.objects.filter(last_triggered_at__gte=start, created_at__lt=end)
            .order_by("last_triggered_at", "id")
            .prefetch_related("users", "apps")
        )
        items = [
            Item(seq=0, index=i, kind=EventKind.ALERT, ref=str(a.pk), obj=a)
            for i, a in enumerate(alerts)
            if _accepts_alert(destination, a)
        ]
        if not _send_all(destination, sender, items, result, now):
            return False
        position["alerts"] = True
        destination.backfill_position = position
        destination.save(update_fields=["backfill_position", "updated_at"])
    while EventKind.ACTIVITIES in kinds:
        rows = shareable(
            Activity.objects.filter(
                occurred_at__gte=start, occurred_at__lt=end, ingested_at__lt=end
            )
        ).order_by("occurred_at", "id")
        if position.get("after"):
            moment, last_id = position["after"]
            moment = datetime.fromisoformat(moment)
            rows = rows.filter(Q(occurred_at__gt=moment) | Q(occurred_at=moment, id__gt=last_id))
        batch = list(rows.select_related("app_instance")[:BACKFILL_BATCH])
        if not batch:
            break
        items = [
            Item(seq=0, index=i, kind=EventKind.ACTIVITIES, ref=str(a.pk), obj=a)
            for i, a in enumerate(batch)
            if _accepts_activity(destination, a)
        ]
        if not _send_all(destination, sender, items, result, now):
            return False
        position["after"] = [batch[-1].occurred_at.isoformat(), str(batch[-1].pk)]
        destination.backfill_position = position
        destination.save(update_fields=["backfill_position", "updated_at"])
        if time.monotonic() > deadline:
            result.more = True
            return False
    destination.backfill_pending = False
    destination.save(update_fields=["backfill_pending", "updated_at"])
    _delivered(destination, now or timezone.now())
    return True


def _deliver_event(
    destination: Destination,
    event: OutboxEvent,
    sender: Sender,
    result: PushResult,
    now: datetime | None,
) -> bool:
    """Send one event's remaining items; False when the destination failed (stop pushing)."""
    pending = [
        item for item in items_of(event, destination) if item.index >= destination.cursor_offset
    ]
    size = max(int(getattr(sender, "batch_size", 1)), 1)
    while pending:
        batch = pending[:size]
        moment = now or timezone.now()
        try:
            sender.send(batch)
        except DeliveryError as error:
            if not (error.permanent and len(batch) == 1):
                _failed(destination, error, moment)
                result.error = str(error)
                return False
            destination.item_attempts += 1
            if destination.item_attempts < MAX_ITEM_ATTEMPTS:
                _failed(destination, error, moment)
                result.error = str(error)
                return False
            item = batch[0]
            DeadLetter.objects.create(
                destination=destination,
                seq=item.seq,
                kind=item.kind,
                ref=item.ref,
                error=str(error)[:500],
                attempts=destination.item_attempts,
            )
            result.dead += 1
            log.warning(
                "integrations: %s refused %s %s for good", destination.pk, item.kind, item.ref
            )
        else:
            result.delivered += len(batch)
        destination.cursor_offset = batch[-1].index + 1
        destination.item_attempts = 0
        _delivered(destination, moment)
        pending = pending[len(batch) :]
    destination.cursor = event.seq
    destination.cursor_offset = 0
    destination.item_attempts = 0
    destination.save(update_fields=["cursor", "cursor_offset", "item_attempts", "updated_at"])
    return True
