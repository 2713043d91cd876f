"""What the benchmarks share: Django set up against a scratch PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def scratch_urls(base: str, name: str) -> tuple[str, str]:
    """The server's maintenance database URL and the scratch database's URL, from `base`."""
    head, _, _ = base.rpartition("/")
    return f"{head}/postgres", f"{head}/{name}"


@contextmanager
def scratch_database(prefix: str = "casb_bench", keep: bool = False) -> Iterator[str]:
    """A new database `<prefix>_<pid>` next to DATABASE_URL's (default
    postgres://postgres@127.0.0.1:5432/casb); yields its URL and drops it afterwards, closing
    Django's connections first (unless `keep`)."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casb")
    name = f"{prefix}_{os.getpid()}"
    admin_url, url = scratch_urls(base, name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    print(f"scratch database {name}")
    try:
        yield url
    finally:
        if not keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped {name}")


# The activity table's columns in table order, for the benchmarks that COPY generated rows in.
ACTIVITY_COLUMNS = (
    "id, tenant_id, occurred_at, ingested_at, source, source_event_id, actor, action_type, "
    "activity_type, is_admin, succeeded, ip, country, city, isp, ip_category, ip_tags, "
    "user_agent, device_type, os, browser, object_name, object_type, object_id, raw, "
    "account_id, app_instance_id, user_id, is_private"
)


def fresh_activity_table(cursor, days) -> None:
    """Drop every day partition of the activity table and make one per day of `days`."""
    from apps.activities import partitions

    for day in partitions.existing_days("default"):
        cursor.execute(f'DROP TABLE "{partitions.partition_name(day)}"')
    partitions.forget()
    partitions.ensure_days("default", days)


def copy_activities(cursor, path: str) -> float:
    """COPY the rows in file `path` into the activity table, then VACUUM ANALYZE; seconds of
    the COPY."""
    import time

    started = time.perf_counter()
    with (
        open(path, "rb") as f,
        cursor.copy(f"COPY activities_activity ({ACTIVITY_COLUMNS}) FROM STDIN") as c,
    ):
        while block := f.read(1 << 20):
            c.write(block)
    seconds = time.perf_counter() - started
    cursor.execute("VACUUM ANALYZE activities_activity")
    return seconds


def setup_django(url: str) -> None:
    """Point Django at the scratch database `url` (all geos in it) and set it up."""
    os.environ["DATABASE_URL"] = url
    os.environ["GEO_DATABASES"] = "eu=default,uk=default,us=default"
    os.environ.setdefault("DEBUG", "true")  # a scratch run: no production secrets needed
    os.environ["DATABASE_CONN_MAX_AGE"] = "600"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casb.settings")
    import django

    django.setup()


def timed(owner, attribute: str, phase: str, phases: dict) -> None:
    """Wrap `owner.attribute` so its time adds up in `phases[phase]` (printed breakdowns)."""
    import time

    original = getattr(owner, attribute)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            phases[phase] += time.perf_counter() - started

    setattr(owner, attribute, wrapper)
