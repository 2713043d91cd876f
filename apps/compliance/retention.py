"""The retention purge (writes; reads are in retention_selectors, the tenant's own periods in
retention_settings).

What goes, per geo database (`geo_aliases()`), daily from Celery beat:

1. Activities on PostgreSQL: every day partition wholly older than the deployment maximum is
   DROPPED. The partitions hold every tenant of the database, so before each drop the rows are
   counted per tenant and each tenant's `PurgeRun` (method partition_drop) is bumped in the
   same transaction as the DROP: the drop and its record commit together or not at all.
2. Activities of a tenant with a shorter period of its own (and, for everyone, the rows of the
   boundary day older than the exact cutoff) are deleted in bounded batches, per partition
   table. On SQLite (the demo) there are no partitions: all activities go in batches.
3. What the anomaly detections remember of a person (`alerts.DetectorState`: places, IPs and
   times) and repeated-activity match times (`alerts.MatchWindow`) are derived from activities:
   a memory not updated within the tenant's activity period goes with them, in batches, counted
   in the activities record (a person seen again starts a new learning period).
4. Discovery data, alerts (with their link rows first), finished governance actions and file
   records (with their matches first, in the same batch) are deleted in bounded batches per
   tenant. A file record ages by when it was last scanned, or, never scanned, by when it was
   first seen.

Every batch is its own transaction and adds what it removed to the tenant's running
`PurgeRun` of that kind (`removed`, `details.by_table`) in that same transaction. A purge killed
half-way therefore loses nothing: the rows of the batches that committed are counted, the
batch that was running rolled back whole. Decision: the next run *continues* the newest
`running` record of that tenant, kind and method (moving its cutoff forward) and marks it done,
so one interrupted purge reads as one record rather than two halves. A record is only written
when something is due: a day with nothing to remove leaves no record. Running it again at
once removes nothing (idempotent).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from apps.activities import partitions
from apps.tenants.models import Tenant
from apps.tenants.routing import geo_aliases
from apps.tenants.tasking import OutOfTime

from . import inventory
from .models import DataKind, PurgeMethod, PurgeRun, PurgeStatus, RetentionSettings

log = logging.getLogger(__name__)

# --- Purge: bookkeeping ------------------------------------------------------------------------


@dataclass
class Tally:
    """What one purge removed, for the beat task's return value and the command's output."""

    removed: dict[str, int]
    partitions_dropped: int = 0
    errors: int = 0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "removed": dict(self.removed),
            "partitions_dropped": self.partitions_dropped,
            "errors": self.errors,
            "skipped": list(self.skipped),
        }


def _bump(
    alias: str,
    tenant_id: uuid.UUID,
    kind: str,
    method: str,
    cutoff: datetime,
    by_table: dict[str, int],
    partition: str | None = None,
) -> None:
    """Add one batch's counts to the tenant's running record (in the caller's transaction).

    The newest running record of (tenant, kind, method) is continued, with a row lock so two
    purges never both bump it; with none, one is created.
    """
    now = timezone.now()
    run = (
        PurgeRun.unscoped_objects.using(alias)
        .select_for_update()
        .filter(tenant_id=tenant_id, kind=kind, method=method, status=PurgeStatus.RUNNING)
        .order_by("-started_at")
        .first()
    )
    if run is None:
        run = PurgeRun(tenant_id=tenant_id, kind=kind, method=method, started_at=now)
        run.details = {"by_table": {}}
    run.cutoff = cutoff
    details = dict(run.details or {})
    tables = dict(details.get("by_table") or {})
    for table, count in by_table.items():
        tables[table] = tables.get(table, 0) + count
        run.removed += count
    details["by_table"] = tables
    if partition is not None:
        details["partitions"] = [*details.get("partitions", []), partition]
    run.details = details
    run.save(using=alias)


def _finish(
    alias: str, tenant_id: uuid.UUID | None, kind: str, method: str, error: str = ""
) -> None:
    """Close the running record(s) of (tenant, kind, method); tenant None: every tenant's."""
    runs = PurgeRun.unscoped_objects.using(alias).filter(
        kind=kind, method=method, status=PurgeStatus.RUNNING
    )
    if tenant_id is not None:
        runs = runs.filter(tenant_id=tenant_id)
    runs.update(
        status=PurgeStatus.FAILED if error else PurgeStatus.DONE,
        error=error[:500],
        finished_at=timezone.now(),
    )


def tenants_by_alias() -> dict[str, list[tuple[Tenant, RetentionSettings | None]]]:
    """Every tenant (any status: retention holds for all) with its own settings, per geo alias."""
    grouped: dict[str, list[tuple[Tenant, RetentionSettings | None]]] = {}
    tenants = list(Tenant.objects.using("default").order_by("slug"))
    for alias in sorted(geo_aliases()):
        own = {
            row.tenant_id: row
            for row in RetentionSettings.unscoped_objects.using(alias).filter(
                tenant_id__in=[t.id for t in tenants if t.db_alias == alias]
            )
        }
        grouped[alias] = [(t, own.get(t.id)) for t in tenants if t.db_alias == alias]
    return grouped


def cutoff_for(kind: str, retention: RetentionSettings | None, now: datetime) -> datetime:
    """Everything of `kind` older than this is due."""
    return now - timedelta(days=inventory.effective_days(kind, retention))


def utc_day(moment: datetime) -> date:
    """The UTC day of a moment (partitions and per-day tables are UTC days)."""
    return moment.astimezone(UTC).date()


# --- Purge: activities -------------------------------------------------------------------------


def drop_activity_partitions(alias: str, *, now: datetime, tally: Tally) -> None:
    """Drop the day partitions wholly older than the deployment maximum (PostgreSQL only).

    One transaction per partition: count its rows per tenant, bump each tenant's partition_drop
    record, drop. Killed between two drops, the dropped ones are counted and the rest go next
    time. Rows of a tenant that no longer exists are dropped without a record (it has no
    console to show one in).
    """
    cutoff = now - timedelta(days=inventory.max_days(DataKind.ACTIVITIES))
    known = set(Tenant.objects.using("default").values_list("id", flat=True))
    for day in partitions.days_before(alias, utc_day(cutoff)):
        with transaction.atomic(using=alias):
            with connections[alias].cursor() as cursor:
                # Wait a little for the parent's lock, never queue ingestion behind us for long.
                cursor.execute("SET LOCAL lock_timeout = '30s'")
            counts = partitions.rows_per_tenant(alias, day)
            for tenant_id, count in counts.items():
                if uuid.UUID(tenant_id) not in known:
                    continue
                _bump(
                    alias,
                    uuid.UUID(tenant_id),
                    DataKind.ACTIVITIES,
                    PurgeMethod.PARTITION_DROP,
                    cutoff,
                    {"activities.Activity": count},
                    partition=partitions.partition_name(day),
                )
            partitions.drop_partition(alias, day)
        tally.partitions_dropped += 1
        tally.removed[DataKind.ACTIVITIES] += sum(counts.values())
    _finish(alias, None, DataKind.ACTIVITIES, PurgeMethod.PARTITION_DROP)


def _activity_batches(
    alias: str, tenant_id: uuid.UUID, cutoff: datetime, size: int, *, now: datetime
):
    """Yield one callable per partition (or one for the plain SQLite table) that deletes up to
    `size` of the tenant's due activities there and returns how many it removed.

    Partitions older than the deployment maximum are left to the drop, even if a drop failed
    (e.g. its lock wait timed out): deleting a whole day row by row is what the drop avoids.
    """
    if partitions.is_partitioned(alias):
        floor = utc_day(now - timedelta(days=inventory.max_days(DataKind.ACTIVITIES)))
        days = partitions.days_before(alias, utc_day(cutoff) + timedelta(days=1))
        for day in (d for d in days if d >= floor):
            table = partitions.partition_name(day)

            def delete(table: str = table) -> int:
                # Straight at the partition: no pruning to plan, the (tenant_id, occurred_at)
                # index finds the rows, their ctids delete them.
                sql = (
                    f'DELETE FROM "{table}" WHERE ctid = ANY(ARRAY(SELECT ctid FROM "{table}" '  # noqa: S608 (a name built from a date)
                    "WHERE tenant_id = %s AND occurred_at < %s LIMIT %s))"
                )
                with connections[alias].cursor() as cursor:
                    cursor.execute(sql, [tenant_id, cutoff, size])
                    return cursor.rowcount

            yield delete
    else:
        from apps.activities.models import Activity

        def delete() -> int:
            rows = Activity.unscoped_objects.using(alias).filter(
                tenant_id=tenant_id, occurred_at__lt=cutoff
            )
            ids = list(rows.values_list("id", flat=True)[:size])
            return Activity.unscoped_objects.using(alias).filter(id__in=ids).delete()[0]

        yield delete


def purge_activities(
    alias: str, tenant: Tenant, retention: RetentionSettings | None, *, now: datetime, tally: Tally
) -> None:
    """The tenant's activities older than its period, then the memories derived from them."""
    kind = DataKind.ACTIVITIES
    cutoff = cutoff_for(kind, retention, now)
    size = settings.RETENTION_BATCH_SIZE
    for delete in _activity_batches(alias, tenant.id, cutoff, size, now=now):
        while True:
            with transaction.atomic(using=alias):
                removed = delete()
                if removed:
                    _bump(
                        alias,
                        tenant.id,
                        kind,
                        PurgeMethod.BATCHED_DELETE,
                        cutoff,
                        {"activities.Activity": removed},
                    )
            tally.removed[kind] += removed
            if removed < size:
                break
    _run_steps(alias, tenant.id, kind, cutoff, tally=tally)


# --- Purge: the other kinds --------------------------------------------------------------------


def _model(label: str):
    return inventory.model(label)


def _batch_of(label: str, alias: str, tenant_id: uuid.UUID, size: int, **filters) -> list:
    """Ids of up to `size` due rows, oldest first (the kind's age index serves the order)."""
    age = next(iter(filters)).split("__")[0]
    return list(
        _model(label)
        .unscoped_objects.using(alias)
        .filter(tenant_id=tenant_id, **filters)
        .order_by(age, "id")
        .values_list("id", flat=True)[:size]
    )


def _delete_ids(label: str, alias: str, ids: list) -> int:
    # Callers have removed or unlinked whatever references these rows, so Django's collector
    # finds nothing more to cascade and this is one DELETE ... WHERE id IN (...).
    return _model(label).unscoped_objects.using(alias).filter(id__in=ids).delete()[0]


def due_filters(kind: str, cutoff: datetime) -> list[tuple[str, dict]]:
    """The tables of one kind purged in batches (besides the activity log itself, which
    purge_activities drops or deletes) and the filter of their due rows."""
    from apps.discovery.models import UploadStatus
    from apps.governance.models import FINISHED_STATUSES

    day = utc_day(cutoff)
    if kind == DataKind.ACTIVITIES:
        # A memory is rewritten (updated_at) when a new activity changes it, at least daily
        # while its person is active: one older than the cutoff rests on purged activities.
        # The tenant-wide memories (subject "tenant", e.g. how many people travel to a
        # country) count people, not activities, and expire on their own: they stay.
        return [
            # Not "tenant" (a filter, not an exclude: the callers pass filters only; both
            # PostgreSQL's and Python's regex dialects have the negative lookahead).
            ("alerts.DetectorState", {"updated_at__lt": cutoff, "subject__regex": r"^(?!tenant$)"}),
            ("alerts.MatchWindow", {"updated_at__lt": cutoff}),
        ]
    if kind == DataKind.DISCOVERY:
        return [
            ("discovery.AppDay", {"day__lt": day}),
            ("discovery.AppUserDay", {"day__lt": day}),
            ("discovery.AppIpDay", {"day__lt": day}),
            # Only uploads that finished: a queued or parsing one is still being worked on.
            (
                "discovery.Upload",
                {
                    "created_at__lt": cutoff,
                    "status__in": [UploadStatus.DONE, UploadStatus.FAILED],
                },
            ),
        ]
    if kind == DataKind.ALERTS:
        return [
            ("alerts.Alert", {"last_triggered_at__lt": cutoff}),
            ("alerts.PolicyDay", {"day__lt": day}),
        ]
    if kind == DataKind.GOVERNANCE:
        # Finished actions only: pending, in-progress and retrying ones are still at work.
        return [
            (
                "governance.GovernanceAction",
                {"created_at__lt": cutoff, "status__in": list(FINISHED_STATUSES)},
            )
        ]
    if kind == DataKind.FILES:
        # The first key orders the batch (see _batch_of): scanned_at, then first_seen_at.
        return [
            ("dlp.FileRecord", {"scanned_at__lt": cutoff}),
            ("dlp.FileRecord", {"first_seen_at__lt": cutoff, "scanned_at__isnull": True}),
        ]
    raise ValueError(kind)


Step = Callable[[str, uuid.UUID, int], tuple[int, dict[str, int]]]


def _step(label: str, filters: dict) -> Step:
    """One batch of one table: unlink or delete what references the due rows, then them.

    Alerts: their link rows go first and governance actions keep their row with the alert
    link cleared (the model says SET_NULL). Governance actions: a retry pointing at one keeps
    its row with `retry_of` cleared (SET_NULL). File records: their matches go first, in the
    same transaction. Nothing else references these tables.
    """

    def step(alias: str, tenant_id: uuid.UUID, size: int) -> tuple[int, dict[str, int]]:
        ids = _batch_of(label, alias, tenant_id, size, **filters)
        if not ids:
            return 0, {}
        counts: dict[str, int] = {}
        if label == "alerts.Alert":
            for link in ALERT_LINKS:
                rows = _model(link).unscoped_objects.using(alias).filter(alert_id__in=ids)
                counts[link] = rows.delete()[0]
            _model("governance.GovernanceAction").unscoped_objects.using(alias).filter(
                alert_id__in=ids
            ).update(alert=None)
        if label == "dlp.FileRecord":
            matches = _model("dlp.Match").unscoped_objects.using(alias).filter(file_id__in=ids)
            counts["dlp.Match"] = matches.delete()[0]
        if label == "governance.GovernanceAction":
            _model(label).unscoped_objects.using(alias).filter(retry_of_id__in=ids).update(
                retry_of=None
            )
        removed = counts[label] = _delete_ids(label, alias, ids)
        return removed, counts

    return step


ALERT_LINKS = ("alerts.AlertActivity", "alerts.AlertUser", "alerts.AlertAccount", "alerts.AlertApp")


def steps_for(kind: str, cutoff: datetime) -> list[Step]:
    """The batch steps of one kind, each deleting one batch of one table's due rows."""
    return [_step(label, filters) for label, filters in due_filters(kind, cutoff)]


def purge_batched(
    alias: str,
    tenant: Tenant,
    retention: RetentionSettings | None,
    kind: str,
    *,
    now: datetime,
    tally: Tally,
) -> None:
    _run_steps(alias, tenant.id, kind, cutoff_for(kind, retention, now), tally=tally)


def _run_steps(
    alias: str, tenant_id: uuid.UUID, kind: str, cutoff: datetime, *, tally: Tally
) -> None:
    """Every batch step of `kind`, one transaction per batch, until each table is done."""
    size = settings.RETENTION_BATCH_SIZE
    for step in steps_for(kind, cutoff):
        while True:
            with transaction.atomic(using=alias):
                main, counts = step(alias, tenant_id, size)
                counts = {table: n for table, n in counts.items() if n}
                if counts:
                    _bump(alias, tenant_id, kind, PurgeMethod.BATCHED_DELETE, cutoff, counts)
            tally.removed[kind] += sum(counts.values())
            # Fewer than a full batch from the step's own table: that table is done.
            if main < size:
                break


# --- Purge: all --------------------------------------------------------------------------------


# One purge per database at a time: a second one (a late beat run, an operator's command)
# skips the database rather than racing the first over the same running records.
_LOCK_KEY = 0x5245544E  # "RETN"


@contextmanager
def _exclusive(alias: str) -> Iterator[bool]:
    if connections[alias].vendor != "postgresql":
        yield True
        return
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        mine = cursor.fetchone()[0]
    try:
        yield mine
    finally:
        if mine:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def _purge_database(alias: str, tenants: list, *, now: datetime, tally: Tally) -> None:
    if partitions.is_partitioned(alias):
        try:
            drop_activity_partitions(alias, now=now, tally=tally)
        except OutOfTime:
            raise  # the task's time is up: what committed stays, the next run carries on
        except Exception as exc:
            log.exception("retention: dropping partitions in %s failed", alias)
            tally.errors += 1
            _finish(alias, None, DataKind.ACTIVITIES, PurgeMethod.PARTITION_DROP, str(exc))
    for tenant, retention in tenants:
        for kind in inventory.KINDS:
            try:
                if kind == DataKind.ACTIVITIES:
                    purge_activities(alias, tenant, retention, now=now, tally=tally)
                else:
                    purge_batched(alias, tenant, retention, kind, now=now, tally=tally)
            except OutOfTime:
                raise
            except Exception as exc:
                log.exception("retention: %s of tenant %s failed", kind, tenant.id)
                tally.errors += 1
                _finish(alias, tenant.id, kind, PurgeMethod.BATCHED_DELETE, str(exc))
            else:
                _finish(alias, tenant.id, kind, PurgeMethod.BATCHED_DELETE)


def purge_all(*, now: datetime | None = None) -> dict:
    """Purge everything due in every geo database; returns what was removed per kind.

    A failure of one tenant's kind is recorded on its run (status failed) and logged; the
    others carry on, so one bad table never holds everyone's retention back. A database where
    another purge is running is skipped (listed under "skipped").
    """
    now = now or timezone.now()
    tally = Tally(removed={str(kind): 0 for kind in inventory.KINDS})
    for alias, tenants in tenants_by_alias().items():
        with _exclusive(alias) as mine:
            if not mine:
                log.warning("retention: another purge is running in %s; skipped", alias)
                tally.skipped.append(alias)
                continue
            _purge_database(alias, tenants, now=now, tally=tally)
    summary = tally.as_dict()
    log.info("retention purge: %s", summary)
    return summary
