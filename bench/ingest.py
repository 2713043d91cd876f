"""Ingestion benchmark: end-to-end `ingest()` of N synthetic activities vs a raw COPY.

    .venv/bin/python bench/ingest.py --events 1000000

Creates a scratch database next to DATABASE_URL's (default postgres://postgres@127.0.0.1:5432/
casb), migrates it, makes a tenant with four connected apps and a few IP ranges, then:

1. streams N synthetic events (a realistic mix: a few thousand people, thousands of addresses
   in several countries and some IPv6, a dozen user agents, a dozen activity types, some
   actors known only by id) through `apps.activities.ingestion.ingest()`: validation,
   enrichment (geo, ISP, city, IP ranges, user agent), actor resolution and account creation,
   COPY into staging and INSERT ... ON CONFLICT into the day-partitioned table;
2. dumps the rows it stored to a file and times a raw `COPY ... FROM STDIN` of those same rows
   into an identical, empty partitioned table (same columns, key, indexes, day partitions):
   the database's own ceiling, with no Python work per row;
3. prints events/s of both, the ratio (target >= 30%), and resident memory along the way
   (it should stay flat: ingestion streams), then drops the scratch database.

Event generation runs inside the timed ingestion (it is the event source); its own cost is
measured apart and printed too. Not a test: nothing asserts, it reports.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scratch import scratch_database, setup_django, timed  # noqa: E402  (bench/ is sys.path[0])


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Synthetic events ---------------------------------------------------------------------------

ACTIONS = [  # (app operation, our type, weight)
    ("UserLoggedIn", "login", 22),
    ("UserLoginFailed", "failed_login", 4),
    ("FileAccessed", "view", 25),
    ("FileDownloaded", "download", 14),
    ("FileUploaded", "upload", 8),
    ("FileModified", "edit", 10),
    ("FileDeleted", "delete", 3),
    ("SharingSet", "share", 4),
    ("AnonymousLinkCreated", "share", 1),
    ("AddedToGroup", "permission_change", 2),
    ("Set-Mailbox", "mail_forwarding", 1),
    ("Add user.", "create_user", 1),
    ("Change user password.", "password_change", 1),
    ("UserLoggedOut", "logout", 4),
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.97",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0.0.0 Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
    "OneDriveSync/23.226.1031.0001 (Windows 10 Pro)",
    "python-requests/2.31.0",
    "",
]
# Public prefixes of several countries (their first two or three octets), plus some IPv6.
V4_PREFIXES = [
    "81.2.69",  # GB
    "8.8.8",  # US
    "128.101.101",  # US
    "2.16.0",  # EU/DE
    "89.160.20",  # SE
    "175.16.199",  # CN
    "200.160.0",  # BR
    "41.0.0",  # ZA
    "103.5.140",  # IN/AU
    "31.13.64",  # IE
]
V6_PREFIXES = ["2001:4860:4860", "2a02:c7f:1234", "2606:4700:4700", "2001:db8:ffff"]


BENCH_RANGES = [
    ("London office", ["81.2.69.0/26"], 1, ["HQ"]),
    ("VPN egress", ["81.2.69.192/26", "2a02:c7f:1234::/48"], 4, ["VPN", "Remote"]),
    ("Admins", ["128.101.101.0/28"], 2, []),
    ("Cloud", ["8.8.8.0/24", "2606:4700:4700::/48"], 5, ["Google", "Cloudflare"]),
    ("Internal", ["10.0.0.0/8"], 1, ["LAN"]),
]


class Synth:
    """Deterministic event stream: cheap per event (pools drawn once)."""

    def __init__(self, seed: int, users: int, addresses: int, days: int):
        from apps.activities.events import EventIn

        self.EventIn = EventIn
        rng = random.Random(seed)
        self.rng = rng
        self.users = [f"user{n:05d}@contoso.example" for n in range(users)]
        pool = []
        for n in range(addresses):
            if n % 10 == 9:
                prefix = rng.choice(V6_PREFIXES)
                pool.append(f"{prefix}::{rng.randrange(1, 65535):x}")
            elif n % 10 == 8:
                pool.append(f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
            else:
                prefix = rng.choice(V4_PREFIXES)
                pool.append(f"{prefix}.{rng.randrange(1, 255)}")
        self.addresses = pool
        # Each person mostly uses a few addresses and one or two devices.
        self.home = {u: [rng.choice(pool) for _ in range(3)] for u in self.users}
        self.agents = {u: [rng.choice(USER_AGENTS) for _ in range(2)] for u in self.users}
        weights = [w for _, _, w in ACTIONS]
        self.actions = rng.choices(ACTIONS, weights=weights, k=4096)
        self.start = datetime.now(UTC) - timedelta(days=days)
        self.span = days * 86400

    def events(self, app_tag: str, count: int):
        rng, users, EventIn = self.rng, self.users, self.EventIn
        actions, start, span = self.actions, self.start, self.span
        step = span / max(count, 1)
        for n in range(count):
            user = users[int(rng.random() * len(users))]
            action, kind, _ = actions[n & 4095]
            home = self.home[user]
            ip = home[n % 3] if n % 17 else self.addresses[n % len(self.addresses)]
            yield EventIn(
                source_event_id=f"{app_tag}-{n:09d}",
                occurred_at=start + timedelta(seconds=n * step + rng.random()),
                action_type=action,
                activity_type=kind,
                actor=user if n % 50 else "",
                actor_external_id=f"id-{user[:9]}" if n % 50 == 0 else "",
                ip=ip,
                user_agent=self.agents[user][n & 1],
                succeeded=kind != "failed_login",
                is_admin=kind in ("create_user", "mail_forwarding"),
                object_name=f"/sites/team{n % 40}/Shared Documents/report-{n % 997}.xlsx",
                object_type="File",
                object_id=f"obj-{n % 100003}",
                raw={
                    "Id": f"{app_tag}-{n:09d}",
                    "Operation": action,
                    "UserId": user,
                    "ClientIP": ip,
                    "Workload": "SharePoint",
                    "RecordType": 6,
                    "ObjectId": f"/sites/team{n % 40}/report-{n % 997}.xlsx",
                },
            )


# --- The run ----------------------------------------------------------------------------------


def bench_tenant(app_count: int):
    """The benchmarks' tenant: `app_count` Microsoft 365 apps and the BENCH_RANGES."""
    from apps.activities.iprange_services import create_range
    from apps.connectors.models import AppInstance, Vendor
    from apps.tenants.scoping import tenant_context
    from apps.tenants.services import create_tenant

    tenant = create_tenant(name="Bench", slug="bench", geo="eu")
    with tenant_context(tenant):
        apps = [
            AppInstance.objects.create(vendor=Vendor.OFFICE365, name=f"Bench app {n}")
            for n in range(app_count)
        ]
        for name, cidrs, category, tags in BENCH_RANGES:
            create_range(
                tenant=tenant, actor=None, name=name, cidrs=cidrs, category=category, tags=tags
            )
    return tenant, apps


def scope_rules(tenant, apps, users: int) -> None:
    """A scoped deployment like spec 9.1's example, over the synthetic people.

    Every person has an account in the first app (as a directory sync would make), in groups
    "Staff" (95%), "Sales" (every third) and "Germany" (every twentieth). Rules: exclude Germany
    (all apps); include Staff in the first app; include Sales in the second app's SharePoint
    (the events' Workload, so sub-apps are read); Sales is also an activity-privacy group. About
    5% of the events of each app and 70% of the second app's are then out of scope.
    """
    import uuid

    from apps.accounts.models import Account, CloudUser, GroupMembership, UserGroup
    from apps.compliance.models import PrivacySettings, ScopeRule
    from apps.tenants.scoping import tenant_context

    with tenant_context(tenant):
        people = CloudUser.objects.bulk_create(
            CloudUser(identity=f"user{n:05d}@contoso.example") for n in range(users)
        )
        accounts = Account.objects.bulk_create(
            Account(
                app_instance=apps[0],
                user=person,
                external_id=f"id-{person.identity[:9]}",
                username=person.identity,
            )
            for person in people
        )
        staff, sales, germany = (
            UserGroup.objects.create(app_instance=apps[0], external_id=uuid.uuid4().hex, name=name)
            for name in ("Staff", "Sales", "Germany")
        )
        GroupMembership.objects.bulk_create(
            [GroupMembership(group=staff, account=a) for n, a in enumerate(accounts) if n % 20]
            + [GroupMembership(group=sales, account=a) for a in accounts[::3]]
            + [GroupMembership(group=germany, account=a) for a in accounts[::20]]
        )
        second = apps[1] if len(apps) > 1 else apps[0]
        ScopeRule.objects.create(name="Germany", kind="exclude", groups=[str(germany.pk)])
        ScopeRule.objects.create(
            name="Staff", kind="include", groups=[str(staff.pk)], apps=[str(apps[0].pk)]
        )
        ScopeRule.objects.create(
            name="Sales in SharePoint",
            kind="include",
            groups=[str(sales.pk)],
            apps=[f"{second.pk}:SharePoint"],
        )
        PrivacySettings.objects.create(private_groups=[str(sales.pk)])
    print("scope rules: exclude Germany; include Staff (app 1); include Sales (app 2 SharePoint)")


def _create_copy_target(cursor, days) -> None:
    """An empty table identical to activities_activity: columns, key, partitions, indexes."""
    from importlib import import_module

    from apps.activities import partitions

    migration = import_module("apps.activities.migrations.0001_initial")
    cursor.execute(
        "CREATE TABLE bench_copy (" + migration.COLUMNS + ", PRIMARY KEY (id, occurred_at))"
        " PARTITION BY RANGE (occurred_at)"
    )
    # Added after 0001 (migration 0002): keep the copy target's columns those of the table.
    cursor.execute("ALTER TABLE bench_copy ADD COLUMN IF NOT EXISTS is_private boolean NOT NULL")
    for day in sorted(days):
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        cursor.execute(
            f"CREATE TABLE bench_copy_p{day:%Y%m%d} PARTITION OF bench_copy "
            "FOR VALUES FROM (%s) TO (%s)",
            [start, start + timedelta(days=1)],
        )
    for sql in migration.INDEXES:
        cursor.execute(
            sql.replace(partitions.TABLE, "bench_copy").replace(" activities_activity_", " bc_")
        )


def _time_phases(ingestion) -> dict[str, float]:
    """Wrap the stages of one ingestion with timers (for the printed breakdown only)."""
    phases = {
        "validate+enrich": 0.0,
        "actors": 0.0,
        "COPY+INSERT": 0.0,
        "chunk commit (all)": 0.0,
        "last seen": 0.0,
    }

    from apps.accounts.resolve import ActorResolver
    from apps.activities import ingest_writers

    timed(ingestion._Ingestion, "prepare", "validate+enrich", phases)
    timed(ActorResolver, "resolve", "actors", phases)
    timed(ingest_writers.PostgresWriter, "write", "COPY+INSERT", phases)
    timed(ingestion._Ingestion, "_commit", "chunk commit (all)", phases)
    timed(ingestion._Ingestion, "flush_last_seen", "last seen", phases)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--apps", type=int, default=4)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--addresses", type=int, default=8000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--chunk", type=int, default=None, help="events per chunk")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--scope-rules",
        action="store_true",
        help="configure a scoped deployment first (see scope_rules()): an exclude rule, include "
        "rules per app and per sub-app, a privacy group, over pre-synced groups",
    )
    args = parser.parse_args()

    with scratch_database(keep=args.keep) as url:
        _run(args, url)


def _run(args, url: str) -> None:
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from apps.activities import ingestion

    tenant, apps = bench_tenant(args.apps)
    if args.scope_rules:
        scope_rules(tenant, apps, args.users)

    synth = Synth(seed=7, users=args.users, addresses=args.addresses, days=args.days)
    per_app = [args.events // args.apps] * args.apps
    per_app[0] += args.events - sum(per_app)

    # The generator alone, to show what share of the ingestion time is the event source.
    started = time.perf_counter()
    for count in per_app:
        for _ in synth.events("gen", min(count, 100_000)):
            pass
    sampled = sum(min(count, 100_000) for count in per_app)
    gen_rate = sampled / (time.perf_counter() - started)

    phases = _time_phases(ingestion)
    chunk = {"chunk_size": args.chunk} if args.chunk else {}
    rss_start = _rss_mb()
    rss_samples = []
    accepted = duplicates = rejected = out_of_scope = 0
    cpu_before = os.times()
    started = time.perf_counter()
    for number, (app, count) in enumerate(zip(apps, per_app, strict=True)):

        def sampled_events(stream):
            for n, item in enumerate(stream, 1):
                if n % 50_000 == 0:
                    rss_samples.append(_rss_mb())
                yield item

        result = ingestion.ingest(
            tenant=tenant,
            app_instance=app,
            events=sampled_events(synth.events(f"a{number}", count)),
            source="connector",
            **chunk,
        )
        accepted += result.accepted
        duplicates += result.duplicates
        rejected += len(result.rejected)
        out_of_scope += result.out_of_scope
    ingest_seconds = time.perf_counter() - started
    cpu_after = os.times()
    cpu_seconds = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    ingest_rate = args.events / ingest_seconds

    # Raw COPY of the very rows stored, into an identical table, fed from a file.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date FROM activities_activity"
        )
        days = [row[0] for row in cursor.fetchall()]
        _create_copy_target(cursor, days)
    raw = connection.connection
    with tempfile.TemporaryFile() as dump:
        with (
            raw.cursor() as cursor,
            cursor.copy("COPY (SELECT * FROM activities_activity) TO STDOUT") as copy,
        ):
            for block in copy:
                dump.write(block)
        raw.commit()
        size = dump.tell()
        dump.seek(0)
        started = time.perf_counter()
        with raw.cursor() as cursor:
            with cursor.copy("COPY bench_copy FROM STDIN") as copy:
                while block := dump.read(1 << 20):
                    copy.write(block)
            raw.commit()
        copy_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_copy")
        copied = cursor.fetchone()[0]
    copy_rate = copied / copy_seconds

    print()
    print(
        f"events                 {args.events:>12,}  ({args.apps} apps, {args.users} people, "
        f"{args.addresses} addresses, {args.days} days)"
    )
    print(
        f"accepted / dup / rej   {accepted:>12,} / {duplicates:,} / {rejected:,}"
        f"  (out of scope: {out_of_scope:,})"
    )
    print(f"ingest()               {ingest_rate:>12,.0f} events/s  ({ingest_seconds:.1f} s)")
    print(
        f"raw COPY, same rows    {copy_rate:>12,.0f} rows/s    ({copy_seconds:.1f} s, "
        f"{copied:,} rows, {size / 2**20:.0f} MiB)"
    )
    print(f"ratio                  {ingest_rate / copy_rate:>12.0%} of COPY (target >= 30%)")
    print(f"CPU of this process    {cpu_seconds:>12.1f} s in ingest(); the rest is the database")
    print(f"event generator alone  {gen_rate:>12,.0f} events/s (inside the ingest() time)")
    spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())
    print(f"where ingest() spent   {spent}")
    if rss_samples:
        early = rss_samples[min(1, len(rss_samples) - 1)]
        print(
            f"RSS                    start {rss_start:.0f} MiB, after 100k events "
            f"{early:.0f} MiB, end {rss_samples[-1]:.0f} MiB, peak {_peak_mb():.0f} MiB"
        )


if __name__ == "__main__":
    main()
