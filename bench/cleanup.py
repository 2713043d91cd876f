"""Deleted-account cleanup benchmark: stripping the activities of accounts deleted in their app.

    .venv/bin/python bench/cleanup.py                     # 1,000,000 activities, 20 accounts
    .venv/bin/python bench/cleanup.py --rows 200000 --deleted 5

Creates a scratch database next to DATABASE_URL's (default postgres://postgres@127.0.0.1:5432/
casb; dropped at the end), migrates it, makes one tenant with 3,000 people, one account each,
and N activities over 90 UTC days spread evenly over the accounts (loaded by COPY into the day
partitions). K of the accounts are then marked deleted in their app three years ago, and:

1. the real cleanup (`apps.compliance.subjects.cleanup_deleted_accounts`, as beat runs it)
   strips them: seconds, seconds per account, activities stripped;
2. on an identical table, the baseline: one UPDATE of all K accounts' activities at once
   (`account_id = ANY(...)`, the same SET as the cleanup, nothing else), the least any
   cleanup could do;
3. prints both and their ratio. Not a test: nothing asserts, it reports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scratch import (  # noqa: E402  (bench/ is sys.path[0])
    copy_activities,
    fresh_activity_table,
    scratch_database,
    setup_django,
)

DAYS = 90
PEOPLE = 3000
START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
GENERATE = f"""
COPY (
  SELECT gen_random_uuid(), %(t)s::uuid,
         %(start)s::timestamptz + (g::float8 / %(n)s) * interval '{DAYS} days',
         %(start)s::timestamptz + (g::float8 / %(n)s) * interval '{DAYS} days' + interval '2 min',
         'connector', 'evt-' || g, 'user' || mod(g, {PEOPLE}) || '@contoso.test', 'FileAccessed',
         'view', false, true, ('10.' || mod(g, 250) || '.' || mod(g, 200) || '.7')::inet, 'GB',
         'London', 'Example ISP', 1, '[]'::jsonb, 'Mozilla/5.0 Chrome/120.0', 'desktop',
         'Windows', 'Chrome',
         '/personal/user' || mod(g, {PEOPLE}) || '/Documents/report ' || mod(g, 500) || '.docx',
         'file', 'obj-' || mod(g, 100000), '{{"Operation": "FileAccessed"}}'::jsonb,
         (%(accounts)s::uuid[])[mod(g, {PEOPLE}) + 1], %(app)s::uuid,
         (%(users)s::uuid[])[mod(g, {PEOPLE}) + 1], false
  FROM generate_series(0, %(n)s - 1) AS g
) TO STDOUT
"""
STRIP = (
    "UPDATE activities_activity SET account_id = NULL, actor = '', ip = NULL, user_agent = '', "
    "raw = '{}'::jsonb WHERE tenant_id = %s AND account_id = ANY(%s::uuid[])"
)


def _fresh_table(cursor) -> None:
    fresh_activity_table(cursor, (START.date() + timedelta(days=n) for n in range(DAYS + 1)))


def _mark_deleted(tenant, accounts: list, k: int) -> list:
    from apps.accounts.models import Account, AccountStatus
    from apps.tenants.scoping import tenant_context

    chosen = [a.pk for a in accounts[:k]]
    with tenant_context(tenant):
        Account.objects.filter(pk__in=chosen).update(
            status=AccountStatus.DELETED, deleted_seen_at=START - timedelta(days=3 * 365)
        )
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--deleted", type=int, default=20, help="accounts deleted in their app")
    args = parser.parse_args()

    with scratch_database() as url:
        _measure(args, url)


def _measure(args, url: str) -> None:
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    from apps.accounts.models import Account, CloudUser
    from apps.compliance import subjects
    from apps.connectors.models import AppInstance
    from apps.tenants.models import Tenant
    from apps.tenants.scoping import tenant_context

    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.create(name="Bench", slug="bench", geo="eu")
    with tenant_context(tenant):
        app = AppInstance.objects.create(vendor="push", name="Bench app")
        users = CloudUser.objects.bulk_create(
            CloudUser(identity=f"user{i}@contoso.test", email=f"user{i}@contoso.test")
            for i in range(PEOPLE)
        )
        accounts = Account.objects.bulk_create(
            Account(
                app_instance=app,
                external_id=f"ext-{i}",
                username=f"user{i}@contoso.test",
                email=f"user{i}@contoso.test",
                user=users[i],
            )
            for i in range(PEOPLE)
        )
    params = {
        "t": str(tenant.id),
        "start": START,
        "n": args.rows,
        "app": str(app.pk),
        "accounts": [str(a.pk) for a in accounts],
        "users": [str(u.pk) for u in users],
    }
    with tempfile.NamedTemporaryFile(suffix=".copy") as data, connection.cursor() as dj:
        cursor = dj.cursor
        with cursor.copy(GENERATE, params) as c:
            for block in c:
                data.write(block)
        data.flush()
        _fresh_table(cursor)
        copy_activities(cursor, data.name)
        chosen = _mark_deleted(tenant, accounts, args.deleted)
        started = time.perf_counter()
        outcome = subjects.cleanup_deleted_accounts()
        cleanup = time.perf_counter() - started
        with tenant_context(tenant):
            left = Account.objects.filter(pk__in=chosen).count()
        print(f"  cleanup: {cleanup:.2f} s for {args.deleted} accounts ({outcome}; {left} left)")

        _fresh_table(cursor)
        copy_activities(cursor, data.name)
        started = time.perf_counter()
        cursor.execute(STRIP, [tenant.id, [str(pk) for pk in chosen]])
        stripped = cursor.rowcount
        baseline = time.perf_counter() - started
        print(f"  baseline: one UPDATE of all {args.deleted} accounts: {baseline:.2f} s")

    per = cleanup / max(args.deleted, 1)
    print(
        f"\n{args.rows:,} activities, {args.deleted} deleted accounts "
        f"({stripped:,} of their activities)\n"
        f"  cleanup (per account, as beat runs it) {cleanup:8.2f} s   {per:.3f} s per account\n"
        f"  baseline (one UPDATE of all accounts)  {baseline:8.2f} s\n"
        f"  ratio cleanup / baseline               {cleanup / max(baseline, 1e-9):8.1f}x"
    )


if __name__ == "__main__":
    main()
