"""Day partitions of the activity table (PostgreSQL only; SQLite keeps one plain table).

The table is `PARTITION BY RANGE (occurred_at)` with one partition per UTC day, named
`activities_activity_pYYYYMMDD`. There is no default partition: ingestion makes sure the days of
a batch exist before writing, and Celery beat creates the coming days ahead. Retention drops
whole partitions instead of deleting rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import connections

TABLE = "activities_activity"
_known: dict[str, set[date]] = {}
_lock = threading.Lock()


def is_partitioned(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def existing_days(alias: str) -> set[date]:
    """Days that have a partition, read from the catalogue."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname FROM pg_inherits
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE parent.relname = %s
            """,
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    prefix = f"{TABLE}_p"
    return {
        datetime.strptime(name[len(prefix) :], "%Y%m%d").replace(tzinfo=UTC).date()
        for name in names
        if name.startswith(prefix)
    }


def ensure_days(alias: str, days: Iterable[date]) -> int:
    """Create the partitions of `days` that are missing; returns how many were created."""
    if not is_partitioned(alias):
        return 0
    wanted = set(days)
    known = _known.get(alias)
    if known is not None and wanted <= known:
        return 0
    present = existing_days(alias)
    created = 0
    with connections[alias].cursor() as cursor:
        for day in sorted(wanted - present):
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            cursor.execute(
                f'CREATE TABLE IF NOT EXISTS "{partition_name(day)}" PARTITION OF "{TABLE}" '
                "FOR VALUES FROM (%s) TO (%s)",
                [start, start + timedelta(days=1)],
            )
            created += 1
    with _lock:
        _known[alias] = present | wanted
    return created


def ensure_ahead(alias: str, days_ahead: int = 7, today: date | None = None) -> int:
    today = today or datetime.now(UTC).date()
    return ensure_days(alias, (today + timedelta(days=n) for n in range(-1, days_ahead + 1)))


def forget() -> None:
    """Drop the cache of known partitions (tests that recreate databases)."""
    with _lock:
        _known.clear()


# --- Retention (apps.compliance.retention) ------------------------------------------------------


def days_before(alias: str, day: date) -> list[date]:
    """Days with a partition strictly before `day`, oldest first (retention drops these)."""
    if not is_partitioned(alias):
        return []
    return sorted(d for d in existing_days(alias) if d < day)


def rows_per_tenant(alias: str, day: date) -> dict[str, int]:
    """Rows of one day partition per tenant id (a sequential scan of that one partition).

    Locks the partition against writes (reads go on) until the caller's transaction ends, so
    a drop in the same transaction removes exactly what was counted.
    """
    with connections[alias].cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{partition_name(day)}" IN SHARE MODE')
        cursor.execute(
            # The name is built from a date, never from input.
            f'SELECT tenant_id, count(*) FROM "{partition_name(day)}" GROUP BY tenant_id'  # noqa: S608
        )
        return {str(tenant_id): count for tenant_id, count in cursor.fetchall()}


def drop_partition(alias: str, day: date) -> None:
    """Drop one day partition (in the caller's transaction: it commits or rolls back with it).

    DROP of a partition locks the parent table briefly; it is a catalogue change, so its cost
    and its WAL do not grow with the rows it holds (bench/retention.py measures it).
    """
    with connections[alias].cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{partition_name(day)}"')
    with _lock:
        known = _known.get(alias)
        if known is not None:
            known.discard(day)
