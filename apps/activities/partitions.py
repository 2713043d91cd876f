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
