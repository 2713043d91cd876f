"""Retention benchmark: purging 90 of 180 days of activities by partition drop vs batched DELETE.

    .venv/bin/python bench/retention.py                  # 5,000,000 and 1,000,000 rows
    .venv/bin/python bench/retention.py --rows 200000    # a quick run

Creates a scratch database next to DATABASE_URL's (default postgres://postgres@127.0.0.1:5432/
casb), migrates it and makes two tenants. For each row count N:

1. generates N activities spread evenly over 180 UTC days (half per tenant) once, into a file;
2. loads them by COPY into the day-partitioned activity table (180 partitions), VACUUM
   ANALYZE, CHECKPOINT; runs the real purge (`apps.compliance.retention.purge_all`) with a
   90-day deployment maximum: the 90 oldest partitions are dropped;
3. empties the table, loads the same file again (an identical table), and runs the real purge
   with a 180-day maximum and both tenants at 90 days of their own: the same rows go by
   batched DELETE (RETENTION_BATCH_SIZE per transaction);
4. prints, for both, seconds and WAL bytes (`pg_wal_lsn_diff(pg_current_wal_lsn() after,
   before)`), the rows removed, and the ratios; for the drop also the share spent counting rows
   per tenant (a read-only scan, for the per-tenant purge records) and in the DROPs themselves.

WAL is cluster-wide: anything else writing to the same server during a measurement is counted
too (a few kB per second on an idle server). Not a test: nothing asserts, it reports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scratch import (  # noqa: E402  (bench/ is sys.path[0])
    copy_activities,
    fresh_activity_table,
    scratch_database,
    setup_django,
    timed,
)

DAYS = 180
KEEP = 90
START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=DAYS)  # the purge's "now": the data is exactly 180 days old
# Realistic-looking rows made by the server itself (fast), then COPYed out to a file and in.
GENERATE = f"""
COPY (
  SELECT gen_random_uuid(), CASE WHEN mod(g, 2) = 0 THEN %(t1)s::uuid ELSE %(t2)s::uuid END,
         %(start)s::timestamptz + (g::float8 / %(n)s) * interval '{DAYS} days',
         %(start)s::timestamptz + (g::float8 / %(n)s) * interval '{DAYS} days' + interval '2 min',
         'connector', 'evt-' || g, 'user' || mod(g, 3000) || '@contoso.test', 'FileAccessed',
         'view', false, true, ('10.' || mod(g, 250) || '.' || mod(g, 200) || '.7')::inet, 'GB',
         'London', 'Example ISP', 1, '[]'::jsonb,
         'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537',
         'desktop', 'Windows', 'Chrome', 'Quarterly report ' || mod(g, 500) || '.docx', 'file',
         'obj-' || mod(g, 100000), '{{"Operation": "FileAccessed"}}'::jsonb, NULL,
         %(app)s::uuid, NULL, false
  FROM generate_series(0, %(n)s - 1) AS g
) TO STDOUT
"""


def _lsn(cursor) -> str:
    cursor.execute("SELECT pg_current_wal_lsn()")
    return cursor.fetchone()[0]


def _wal_since(cursor, before: str) -> int:
    cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [before])
    return int(cursor.fetchone()[0])


def _wal_ours(cursor, before: str, after: str) -> int | None:
    """WAL bytes of this database's records between two LSNs (pg_walinspect): what the purge
    itself wrote, without other databases' traffic on a shared server. A record counts when it
    touches a block of this database, or belongs to a transaction that did (its commit).
    None when the server has already recycled those WAL segments (gigabytes of WAL: then the
    cluster-wide figure is all but the purge's own anyway)."""
    import psycopg

    try:
        return _wal_records(cursor, before, after)
    except psycopg.Error:
        return None


def _wal_records(cursor, before: str, after: str) -> int:
    cursor.execute(
        """
        WITH r AS (
            SELECT xid, record_length,
                   block_ref LIKE '%%/' || (SELECT oid FROM pg_database
                                            WHERE datname = current_database()) || '/%%' AS mine
            FROM pg_get_wal_records_info(%s, %s)
        ), xids AS (SELECT DISTINCT xid FROM r WHERE mine AND xid <> '0')
        SELECT coalesce(sum(record_length), 0) FROM r
        WHERE mine OR xid IN (SELECT xid FROM xids)
        """,
        [before, after],
    )
    return int(cursor.fetchone()[0])


def _fresh_table(cursor) -> None:
    fresh_activity_table(cursor, (START.date() + timedelta(days=n) for n in range(DAYS)))


def _load(cursor, path: str) -> float:
    seconds = copy_activities(cursor, path)
    cursor.execute("CHECKPOINT")  # both methods start from the same, clean state
    return seconds


def _purge(cursor, label: str, phases: dict) -> dict:
    from apps.compliance.retention import purge_all

    phases.clear()
    before = _lsn(cursor)
    started = time.perf_counter()
    summary = purge_all(now=NOW)
    seconds = time.perf_counter() - started
    wal = _wal_since(cursor, before)
    cursor.execute("SELECT pg_current_wal_flush_lsn()")  # pg_walinspect reads flushed WAL
    after = cursor.fetchone()[0]
    ours = _wal_ours(cursor, before, after)
    shown = f"{ours:,}" if ours is not None else "n/a (recycled)"
    print(f"  {label}: {seconds:.2f} s, {wal:,} WAL bytes ({shown} of this database)")
    return {
        "label": label,
        "seconds": seconds,
        "wal": wal,
        "ours": ours,
        "ours_shown": shown,
        "summary": summary,
        **phases,
    }


def _one_size(n: int, tenants, app_id: str, batch: int, phases: dict) -> tuple[dict, dict]:
    from django.db import connection
    from django.test import override_settings

    from apps.compliance.models import RetentionSettings

    with (
        tempfile.NamedTemporaryFile(prefix="retention-", suffix=".copy") as data,
        connection.cursor() as django_cursor,
    ):
        cursor = django_cursor.cursor  # psycopg's own cursor, for COPY
        params = {
            "t1": str(tenants[0].id),
            "t2": str(tenants[1].id),
            "start": START,
            "n": n,
            "app": app_id,
        }
        started = time.perf_counter()
        with cursor.copy(GENERATE, params) as c:
            for block in c:
                data.write(block)
        data.flush()
        print(f"  generated {n:,} rows in {time.perf_counter() - started:.1f} s")

        _fresh_table(cursor)
        print(f"  loaded by COPY in {_load(cursor, data.name):.1f} s (table A)")
        with override_settings(ACTIVITY_RETENTION_DAYS=KEEP, RETENTION_BATCH_SIZE=batch):
            drop = _purge(cursor, "partition drop", phases)

        _fresh_table(cursor)
        print(f"  loaded by COPY in {_load(cursor, data.name):.1f} s (table B, identical)")
        for tenant in tenants:
            RetentionSettings.unscoped_objects.update_or_create(
                tenant_id=tenant.id, defaults={"activities_days": KEEP}
            )
        with override_settings(ACTIVITY_RETENTION_DAYS=DAYS, RETENTION_BATCH_SIZE=batch):
            delete = _purge(cursor, "batched DELETE", phases)
        RetentionSettings.unscoped_objects.all().delete()
    return drop, delete


def _ratio(top: int | None, bottom: int | None) -> str:
    return f"{top / max(bottom, 1):,.1f}x" if top is not None and bottom is not None else "n/a"


def _report(n: int, drop: dict, delete: dict) -> None:
    removed_drop = drop["summary"]["removed"]["activities"]
    removed_delete = delete["summary"]["removed"]["activities"]
    print(f"\n{n:,} activities over {DAYS} days, purge of the {DAYS - KEEP} oldest days")
    print(f"{'':18}{'seconds':>10}{'WAL bytes':>16}{'of this db':>16}{'rows removed':>15}")
    for row, removed in ((drop, removed_drop), (delete, removed_delete)):
        print(
            f"{row['label']:18}{row['seconds']:>10.2f}{row['wal']:>16,}{row['ours_shown']:>16}"
            f"{removed:>15,}"
        )
    print(
        f"{'  of which':18}  counting per tenant {drop.get('count', 0):.2f} s (read-only), "
        f"{drop['summary']['partitions_dropped']} DROPs {drop.get('drop', 0):.2f} s, "
        f"records {drop.get('records', 0):.2f} s, other kinds {drop.get('other kinds', 0):.2f} s, "
        f"boundary-day batches {drop.get('batched', 0):.2f} s"
    )
    print(
        f"{'ratio':18}{delete['seconds'] / max(drop['seconds'], 1e-9):>9.1f}x"
        f"{delete['wal'] / max(drop['wal'], 1):>15,.1f}x"
        f"{_ratio(delete['ours'], drop['ours']):>16}   (DELETE / drop)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        default="5000000,1000000",
        help="comma-separated row counts (default: 5000000,1000000)",
    )
    parser.add_argument("--batch", type=int, default=5000, help="RETENTION_BATCH_SIZE")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    sizes = [int(part) for part in args.rows.split(",") if part.strip()]

    with scratch_database(keep=args.keep) as url:
        _measure(sizes, args.batch, url)


def _measure(sizes: list[int], batch: int, url: str) -> None:
    setup_django(url)
    import uuid

    from django.core.management import call_command
    from django.db import connection

    from apps.tenants.models import Tenant

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
    tenants = [
        Tenant.objects.create(name=f"Bench {n}", slug=f"bench-{n}", geo="eu") for n in (1, 2)
    ]
    from apps.activities import partitions

    phases: dict[str, float] = defaultdict(float)
    timed(partitions, "rows_per_tenant", "count", phases)
    timed(partitions, "drop_partition", "drop", phases)
    from apps.compliance import retention

    timed(retention, "_bump", "records", phases)
    timed(retention, "purge_activities", "batched", phases)
    timed(retention, "purge_batched", "other kinds", phases)
    results = []
    for n in sizes:
        print(f"\n{n:,} rows")
        results.append((n, *_one_size(n, tenants, str(uuid.uuid4()), batch, phases)))
    for n, drop, delete in results:
        _report(n, drop, delete)
    if len(results) > 1:
        (big, big_drop, big_delete), (small, small_drop, small_delete) = results[0], results[-1]
        print(
            f"\n{big:,} vs {small:,} rows ({big / small:.1f}x): drop "
            f"{big_drop['seconds'] / small_drop['seconds']:.1f}x seconds, "
            f"{_ratio(big_drop['ours'], small_drop['ours'])} WAL of this db; batched DELETE "
            f"{big_delete['seconds'] / small_delete['seconds']:.1f}x seconds, "
            f"{_ratio(big_delete['wal'], small_delete['wal'])} WAL (cluster-wide)"
        )


if __name__ == "__main__":
    main()
