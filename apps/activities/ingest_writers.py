"""The two ways ingestion writes a chunk of prepared rows (see `apps.activities.ingestion`).

- PostgreSQL: COPY into a per-session temporary staging table (no indexes, no WAL), then one
  `INSERT ... SELECT ... ON CONFLICT (app_instance_id, source_event_id, occurred_at) DO NOTHING`
  into the day-partitioned table. On a partitioned table every unique index must hold the
  partition key, so "one source event per app" is this index on (app, event id, event time);
  the rows it turns away are the duplicates. The constant columns (tenant, app, source,
  ingestion time, a fresh id) are added by the INSERT rather than copied per row.
- Anything else (SQLite, the demo): skip the events already stored, then one
  `bulk_create(ignore_conflicts=True)` (INSERT OR IGNORE) per batch.

Both run inside the caller's transaction (one per chunk) and return the (id, occurred_at) of the
rows that were new (policy evaluation queues them in the same transaction).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from django.db import connections

from . import partitions
from .models import Activity

# Staging columns, in COPY order; the constant columns (id, tenant, app, source, ingested_at)
# are added by the INSERT ... SELECT.
STAGING_COLUMNS = (
    "occurred_at",
    "source_event_id",
    "actor",
    "action_type",
    "activity_type",
    "is_admin",
    "succeeded",
    "ip",
    "country",
    "city",
    "isp",
    "ip_category",
    "ip_tags",
    "user_agent",
    "device_type",
    "os",
    "browser",
    "object_name",
    "object_type",
    "object_id",
    "raw",
    "account_id",
    "user_id",
    "is_private",
)
JSON_COLUMNS = {"ip_tags", "raw"}


def writer_for(alias: str, tenant_id: uuid.UUID, app_instance_id: uuid.UUID, source: str):
    """The writer of database `alias` for one app instance's rows."""
    writer = PostgresWriter if connections[alias].vendor == "postgresql" else PortableWriter
    return writer(alias, tenant_id, app_instance_id, source)


class PostgresWriter:
    """COPY into a per-session temporary staging table, then INSERT ... ON CONFLICT."""

    STAGING = "casb_ingest_staging"

    def __init__(self, alias: str, tenant_id, app_instance_id, source: str):
        import psycopg

        self.alias, self.constants = alias, (tenant_id, app_instance_id, source)
        self.data_errors = (
            psycopg.errors.DataError,
            psycopg.errors.IntegrityError,
            psycopg.errors.ProgramLimitExceeded,
            UnicodeError,
        )
        types = {
            "occurred_at": "timestamptz",
            "is_admin": "boolean",
            "succeeded": "boolean",
            "is_private": "boolean",
            "ip": "inet",
            "ip_category": "smallint",
            "account_id": "uuid",
            "user_id": "uuid",
        }
        columns = ", ".join(f"{name} {types.get(name, 'text')}" for name in STAGING_COLUMNS)
        self.create_sql = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.STAGING} ({columns}) ON COMMIT DELETE ROWS"
        )
        self.copy_sql = f"COPY {self.STAGING} ({', '.join(STAGING_COLUMNS)}) FROM STDIN"
        selected = ", ".join(
            f"{name}::jsonb" if name in JSON_COLUMNS else name for name in STAGING_COLUMNS
        )
        # Only our own table and column names are interpolated.
        self.insert_sql = (
            f"INSERT INTO {partitions.TABLE} "  # noqa: S608
            f"(id, tenant_id, app_instance_id, source, ingested_at, {', '.join(STAGING_COLUMNS)}) "
            f"SELECT gen_random_uuid(), %s, %s, %s, %s, {selected} FROM {self.STAGING} "
            "ON CONFLICT (app_instance_id, source_event_id, occurred_at) DO NOTHING "
            "RETURNING id, occurred_at"
        )

    def write(self, rows: list[list], ingested_at: datetime) -> list[tuple]:
        connection = connections[self.alias]
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            cursor.execute(self.create_sql)
            cursor.execute(f"TRUNCATE {self.STAGING}")
            with cursor.copy(self.copy_sql) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
            cursor.execute(self.insert_sql, [*self.constants, ingested_at])
            # The rows go at commit (ON COMMIT DELETE ROWS), or with the next chunk's TRUNCATE.
            return cursor.fetchall()

    @staticmethod
    def is_missing_partition(exc: Exception) -> bool:
        import psycopg

        cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
        return isinstance(cause, psycopg.errors.CheckViolation) and "no partition" in str(cause)


class PortableWriter:
    """SQLite and other databases: skip known events, then one INSERT OR IGNORE per batch."""

    def __init__(self, alias: str, tenant_id, app_instance_id, source: str):
        from django.db import DataError, IntegrityError

        self.tenant_id, self.app_instance_id, self.source = tenant_id, app_instance_id, source
        self.data_errors = (DataError, IntegrityError, UnicodeError)

    def write(self, rows: list[list], ingested_at: datetime) -> list[tuple]:
        app_id = self.app_instance_id
        existing = set()
        ids = list({row[1] for row in rows})
        for start in range(0, len(ids), 500):
            existing.update(
                Activity.objects.filter(
                    app_instance_id=app_id, source_event_id__in=ids[start : start + 500]
                ).values_list("source_event_id", "occurred_at")
            )
        fresh, seen = [], set()
        for row in rows:
            key = (row[1], row[0])
            if key in existing or key in seen:
                continue
            seen.add(key)
            values = dict(zip(STAGING_COLUMNS, row, strict=True))
            for name in JSON_COLUMNS:
                values[name] = json.loads(values[name])
            fresh.append(
                Activity(
                    tenant_id=self.tenant_id,
                    app_instance_id=app_id,
                    source=self.source,
                    ingested_at=ingested_at,
                    **values,
                )
            )
        Activity.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
        return [(activity.id, activity.occurred_at) for activity in fresh]

    @staticmethod
    def is_missing_partition(exc: Exception) -> bool:
        return False
