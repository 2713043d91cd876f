"""Ingestion: validate, enrich, resolve actors and bulk-write activities, chunk by chunk.

`ingest(tenant=..., app_instance=..., events=..., source=...)` is the one way activities enter
the database, for connector polls and the push API alike (contract: `apps.activities.events`).

- Streams: events are read `CHUNK_SIZE` at a time from any iterable, so memory stays flat
  whatever the input size.
- Validates every event and rejects it with a plain reason (missing id, naive or absurd time,
  bad IP, over-long field, unknown activity type...); valid events of the same batch land.
- Enriches offline (`apps.activities.enrichment`) and resolves actors to accounts and people
  in bulk (`apps.accounts.resolve`), creating accounts first seen in activities.
- Writes on PostgreSQL with COPY into a temporary staging table, then
  `INSERT ... SELECT ... ON CONFLICT (app_instance_id, source_event_id, occurred_at) DO NOTHING`
  into the day-partitioned table: the conflicts are the duplicates, counted, never rewritten
  (`apps.activities.ingest_writers`). `bulk_create` would reach under a tenth of COPY's rate
  (DESIGN.md, "Storage and speed"). SQLite (the demo) takes a portable path, same outcome.
- Scoped deployment and activity privacy (`apps.compliance.scope`, read once per call): once a
  chunk's actors are resolved, the activities of people out of scope are dropped before the
  write, so they are neither stored nor queued for policy evaluation, and counted
  (`IngestResult.out_of_scope`); those of people in a privacy group are stored private.
- All or nothing per chunk: a chunk's accounts, activities and the app's newest-event time
  commit together. Should the database refuse a chunk for its data, the chunk is split until
  the one event it refuses is found and rejected with the database's reason; the rest land.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.resolve import ActorIn, ActorKey, ActorResolver, actor_key
from apps.alerts import evaluation
from apps.alerts.tasks import evaluate
from apps.compliance.inventory import retention_days
from apps.compliance.models import DataKind
from apps.compliance.scope import IngestionScope, ScopeDecision, sub_app_of
from apps.integrations import outbox
from apps.integrations.models import EventKind
from apps.tenants.gate import refuse_when_collection_stopped
from apps.tenants.scoping import current_tenant_or_none, tenant_context
from apps.tenants.tasking import enqueue_on_commit

from . import enrichment, partitions
from .categories import ACTIVITY_TYPES, is_known
from .events import EventIn, IngestResult, Rejection
from .ingest_writers import STAGING_COLUMNS, writer_for
from .models import ActivitySource

log = logging.getLogger(__name__)

CHUNK_SIZE = 5000
MAX_FUTURE = timedelta(days=1)
MAX_RAW_CHARS = 64 * 1024
MAX_USER_AGENT = 2000
# Write remembered last-seen times of accounts and people every this many chunks (and at the end).
LAST_SEEN_EVERY_CHUNKS = 100
_IP_CACHE_LIMIT = 50_000

_ACCOUNT, _USER = STAGING_COLUMNS.index("account_id"), STAGING_COLUMNS.index("user_id")
_PRIVATE = STAGING_COLUMNS.index("is_private")


class _Reject(Exception):
    """An event is refused; the message is the reason given back."""


# --- Validation and enrichment of one event ----------------------------------------------------


def _text(value, limit: int, name: str) -> str:
    """`value` as storable text: PostgreSQL refuses NUL and invalid UTF-8 (lone surrogates)."""
    if not value:
        if value is None or value == "":
            return ""
        raise _Reject(f"{name} must be text")
    if not isinstance(value, str):
        raise _Reject(f"{name} must be text")
    if len(value) > limit:
        raise _Reject(f"{name} is longer than {limit} characters")
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode()
    return value


def _storable(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


_JSON_OPTIONS = {"ensure_ascii": False, "separators": (",", ":"), "default": str}
# One encoder for every event: json.dumps() with options builds a new one per call.
_ENCODE = json.JSONEncoder(**_JSON_OPTIONS, allow_nan=False).encode


def _raw_json(raw) -> str:
    if raw is None:
        return "{}"
    if not isinstance(raw, dict):
        raise _Reject("raw must be a JSON object")
    try:
        text = _ENCODE(raw)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _Reject(f"raw cannot be stored as JSON ({exc})") from exc
    if len(text) > MAX_RAW_CHARS:
        raise _Reject(f"raw is larger than {MAX_RAW_CHARS // 1024} KB")
    if "\\u0000" in text:  # jsonb refuses NUL even escaped
        text = json.dumps(_storable(raw), **_JSON_OPTIONS)
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode()
    return text


_INVALID = object()
_NO_IP = (None, "", "", "", None, "[]")


@dataclass
class _Chunk:
    """One chunk of valid events, ready to write: staging rows and what goes with them."""

    rows: list[list] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)  # position of each row in the input
    keys: list[ActorKey | None] = field(default_factory=list)
    actors: dict[ActorKey, ActorIn] = field(default_factory=dict)
    days: set[date] = field(default_factory=set)
    sub_apps: list[str] = field(default_factory=list)  # only when scope rules name sub-apps

    def part(self, start: int, stop: int) -> _Chunk:
        keys = self.keys[start:stop]
        return _Chunk(
            sub_apps=self.sub_apps[start:stop],
            rows=self.rows[start:stop],
            indexes=self.indexes[start:stop],
            keys=keys,
            actors={key: self.actors[key] for key in keys if key is not None},
            days={row[0].date() for row in self.rows[start:stop]},
        )


class _Ingestion:
    """State of one `ingest()` call: caches, actor resolver, writer."""

    def __init__(self, tenant, app_instance, source: str):
        self.tenant = tenant
        self.app_instance = app_instance
        self.source = source
        self.alias = tenant.db_alias
        self.resolver = ActorResolver(app_instance)
        self.ranges = enrichment.range_table(tenant)
        self.ip_cache: dict = {}
        now = timezone.now()
        # The tenant's own activity retention: older events would go at the next purge.
        self.retention_days = retention_days(DataKind.ACTIVITIES)
        self.oldest = now - timedelta(days=self.retention_days)
        self.latest = now + MAX_FUTURE
        self.writer = writer_for(self.alias, tenant.id, app_instance.pk, source)
        self.scope = IngestionScope(ScopeDecision.load(tenant), app_instance.pk)

    # --- Per event ---------------------------------------------------------------------------

    def _ip(self, raw) -> tuple:
        facts = self.ip_cache.get(raw)
        if facts is None:
            address = enrichment.parse_ip(raw) if isinstance(raw, str) else None
            if address is None:
                facts = _INVALID
            else:
                geo = enrichment.geo_of(address.text) if address.is_global else enrichment.Geo()
                hit = self.ranges.match(address) if self.ranges else None
                if hit is None:
                    facts = (address.text, geo.country, geo.city, geo.isp, None, "[]")
                else:
                    isp = hit.isp_override or geo.isp
                    facts = (address.text, geo.country, geo.city, isp, hit.category, hit.tags_json)
            if len(self.ip_cache) >= _IP_CACHE_LIMIT:
                self.ip_cache.clear()
            self.ip_cache[raw] = facts
        return facts

    def prepare(self, events: list, offset: int, result: IngestResult) -> _Chunk:
        chunk = _Chunk()
        oldest, latest = self.oldest, self.latest
        sub_apps = chunk.sub_apps if self.scope.needs_sub_app else None
        for position, event in enumerate(events, start=offset):
            try:
                if not isinstance(event, EventIn):
                    raise _Reject("not an event")
                event_id = event.source_event_id
                if not isinstance(event_id, str) or not event_id.strip():
                    raise _Reject("source_event_id is missing")
                event_id = _text(event_id, 200, "source_event_id")
                when = event.occurred_at
                if not isinstance(when, datetime):
                    raise _Reject("occurred_at is missing or not a date and time")
                if when.tzinfo is not UTC:
                    if when.tzinfo is None or when.utcoffset() is None:
                        raise _Reject("occurred_at has no time zone (give an offset, e.g. Z)")
                    when = when.astimezone(UTC)
                if when < oldest:
                    raise _Reject(
                        f"occurred_at {when:%Y-%m-%d} is older than the "
                        f"{self.retention_days}-day activity retention"
                    )
                if when > latest:
                    raise _Reject("occurred_at is more than 1 day in the future")
                action = _text(event.action_type, 120, "action_type")
                if not action.strip():
                    raise _Reject("action_type is missing")
                activity_type = event.activity_type
                if not isinstance(activity_type, str) or not is_known(activity_type):
                    raise _Reject(
                        f"activity_type {activity_type!r} is unknown; use one of: "
                        + ", ".join(ACTIVITY_TYPES)
                    )
                actor = _text(event.actor, 254, "actor")
                external_id = _text(event.actor_external_id, 200, "actor_external_id")
                display = _text(event.actor_display_name, 200, "actor_display_name")
                ip = event.ip
                if ip is None or ip == "":
                    ip_facts = _NO_IP
                else:
                    ip_facts = self._ip(ip)
                    if ip_facts is _INVALID:
                        shown = ip if isinstance(ip, str) else type(ip).__name__
                        raise _Reject(f"ip {str(shown)[:60]!r} is not an IPv4 or IPv6 address")
                user_agent = _text(event.user_agent, MAX_USER_AGENT, "user_agent")
                agent = enrichment.parse_user_agent(user_agent)
                succeeded = event.succeeded
                if succeeded is not None and succeeded is not True and succeeded is not False:
                    raise _Reject("succeeded must be true, false or null")
                is_admin = event.is_admin
                if is_admin is not True and is_admin is not False:
                    raise _Reject("is_admin must be true or false")
                object_name = _text(event.object_name, 500, "object_name")
                object_type = _text(event.object_type, 60, "object_type")
                object_id = _text(event.object_id, 300, "object_id")
                raw = _raw_json(event.raw)
            except _Reject as exc:
                result.rejected.append(Rejection(position, str(exc)))
                continue
            chunk.rows.append(
                [
                    when,
                    event_id,
                    actor,
                    action,
                    activity_type,
                    is_admin,
                    succeeded,
                    *ip_facts,
                    user_agent,
                    agent.device_type,
                    agent.os,
                    agent.browser,
                    object_name,
                    object_type,
                    object_id,
                    raw,
                    None,
                    None,
                    False,
                ]
            )
            if sub_apps is not None:
                sub_apps.append(sub_app_of(event.raw))
            chunk.indexes.append(position)
            chunk.days.add(when.date())
            if actor or external_id:
                key = actor_key(external_id, actor)
                chunk.keys.append(key)
                if key not in chunk.actors:
                    chunk.actors[key] = ActorIn(external_id.strip(), actor, display)
            else:
                chunk.keys.append(None)
        return chunk

    # --- Per chunk ---------------------------------------------------------------------------

    def write(self, chunk: _Chunk, result: IngestResult) -> None:
        if not chunk.rows:
            return
        newest = max(row[0] for row in chunk.rows)
        try:
            inserted, dropped = self._commit(chunk, newest)
        except self.writer.data_errors as exc:
            if self.writer.is_missing_partition(exc):
                raise
            if len(chunk.rows) == 1:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
                log.warning("ingest: event %s refused by the database: %s", chunk.indexes[0], exc)
                result.rejected.append(
                    Rejection(chunk.indexes[0], f"the database refused this event: {reason}")
                )
                return
            middle = len(chunk.rows) // 2
            self.write(chunk.part(0, middle), result)
            self.write(chunk.part(middle, len(chunk.rows)), result)
            return
        result.accepted += inserted
        result.out_of_scope += dropped
        result.duplicates += len(chunk.rows) - dropped - inserted
        if result.newest_event_at is None or newest > result.newest_event_at:
            result.newest_event_at = newest

    def _commit(self, chunk: _Chunk, newest: datetime) -> tuple[int, int]:
        """Write one chunk in one transaction: (rows inserted, rows dropped as out of scope)."""
        for attempt in (1, 2):
            partitions.ensure_days(self.alias, chunk.days)
            try:
                with transaction.atomic(using=self.alias):
                    self.resolver.resolve(chunk.actors)
                    resolve = self.resolver.get
                    for row, key in zip(chunk.rows, chunk.keys, strict=True):
                        if key is not None:
                            resolved = resolve(key)
                            row[_ACCOUNT] = resolved.account_id
                            row[_USER] = resolved.user_id
                    rows = chunk.rows
                    if self.scope.active:
                        rows = self.scope.filter(
                            rows,
                            account_at=_ACCOUNT,
                            user_at=_USER,
                            private_at=_PRIVATE,
                            sub_apps=chunk.sub_apps,
                        )
                    self._saw(chunk, rows)
                    written = self.writer.write(rows, timezone.now()) if rows else []
                    self._advance_latest_event(newest)
                    # Queued for policy evaluation in the same transaction: exactly once.
                    evaluation.record_batch(
                        tenant_id=self.tenant.id,
                        app_instance_id=self.app_instance.pk,
                        written=written,
                    )
                    if written and settings.POLICY_EVALUATION:
                        enqueue_on_commit(evaluate, str(self.tenant.id), using=self.alias)
                    # Last statement: the outbox numbers the chunk under a row lock held
                    # until this commits (see apps.integrations.outbox).
                    outbox.append(EventKind.ACTIVITIES, [pk for pk, _ in written])
            except Exception as exc:
                self.resolver.discard()
                if attempt == 1 and self.writer.is_missing_partition(exc):
                    # The partition cache outlived a rolled-back CREATE (tests, a restore).
                    partitions.forget()
                    continue
                raise
            self.resolver.commit()
            inserted = len(written)
            latest = self.app_instance.latest_event_at
            if latest is None or newest > latest:
                self.app_instance.latest_event_at = newest
            return inserted, len(chunk.rows) - len(rows)
        raise AssertionError("unreachable")

    def _saw(self, chunk: _Chunk, rows: list[list]) -> None:
        """Remember when each actor was last active, from the rows stored and shown only: an
        activity out of scope tells nothing about its actor, and a private one's time is not
        shown to everyone as the person's "last seen"."""
        resolve = self.resolver.get
        last_seen: dict[ActorKey, datetime] = {}
        if rows is chunk.rows:
            pairs = zip(chunk.rows, chunk.keys, strict=True)
        else:
            kept = {id(row) for row in rows}
            pairs = (
                (row, key)
                for row, key in zip(chunk.rows, chunk.keys, strict=True)
                if id(row) in kept
            )
        for row, key in pairs:
            if row[_PRIVATE]:
                continue
            if key is not None and (key not in last_seen or row[0] > last_seen[key]):
                last_seen[key] = row[0]
        for key, when in last_seen.items():
            self.resolver.saw(resolve(key), when)

    def _advance_latest_event(self, newest: datetime) -> None:
        from apps.connectors.models import AppInstance

        AppInstance.objects.filter(pk=self.app_instance.pk).filter(
            Q(latest_event_at__isnull=True) | Q(latest_event_at__lt=newest)
        ).update(latest_event_at=newest)

    def flush_last_seen(self) -> None:
        with transaction.atomic(using=self.alias):
            self.resolver.flush_last_seen(self.alias)


# --- Entry point ------------------------------------------------------------------------------


def _chunks(events: Iterable[EventIn], size: int) -> Iterator[tuple[int, list[EventIn]]]:
    iterator = iter(events)
    offset = 0
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield offset, chunk
        offset += len(chunk)


def ingest(
    *,
    tenant,
    app_instance,
    events: Iterable[EventIn],
    source: str,
    chunk_size: int = CHUNK_SIZE,
) -> IngestResult:
    """Validate, enrich and store `events` of `app_instance`; see the module docstring.

    Returns counts of accepted (new) and duplicate events and the reason of each rejection,
    by position in `events` (0-based), in order. Raises `CollectionStopped` (nothing stored)
    when the tenant's subscription does not run; otherwise only for programming errors (wrong
    tenant or source), for database outages and when `events` itself raises; chunks committed
    before that stay, and a retry of the same events counts them as duplicates.
    """
    if app_instance.tenant_id != tenant.id:
        raise ValueError("The app instance belongs to another tenant.")
    if source not in ActivitySource.values:
        raise ValueError(f"Unknown activity source {source!r}.")
    current = current_tenant_or_none()
    if current is not None and current.id != tenant.id:
        raise ValueError("ingest() called for one tenant inside another tenant's context.")
    # A cancelled (or closing) tenant takes nothing new, whichever way the events came.
    refuse_when_collection_stopped(tenant)
    result = IngestResult()
    with tenant_context(tenant):
        run = _Ingestion(tenant, app_instance, source)
        chunks = (
            (number, run.prepare(events_chunk, offset, result))
            for number, (offset, events_chunk) in enumerate(_chunks(events, chunk_size), 1)
        )
        result.merge(_write(run, chunks))
    result.rejected.sort(key=lambda rejection: rejection.index)
    return result


def _write(run: _Ingestion, chunks: Iterator[tuple[int, _Chunk]]) -> IngestResult:
    written = IngestResult()
    try:
        for number, chunk in chunks:
            run.write(chunk, written)
            if number % LAST_SEEN_EVERY_CHUNKS == 0:
                run.flush_last_seen()
    except BaseException:
        # Keep what committed chunks taught us, unless the database is what failed.
        with contextlib.suppress(Exception):
            run.flush_last_seen()
        raise
    run.flush_last_seen()
    return written
