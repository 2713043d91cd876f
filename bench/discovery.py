"""Benchmark: Cloud Discovery parse + match + aggregate, against a bare split loop.

    .venv/bin/python bench/discovery.py                    # 1,000,000 lines of each format
    .venv/bin/python bench/discovery.py --lines 200000 --memory-lines 0

For each format (Squid native and Zscaler NSS CSV) it writes a synthetic log of N lines (3,000
people each with their own address and ~25 usual hosts among catalog apps and unknown sites,
7 days, time-ordered, visits of 1-8 requests to one host), then times in the same run:

1. the baseline: a bare Python loop that reads the file and splits each line;
2. `pipeline.Run`: parse every line with the format's parser, match hosts to the catalog,
   aggregate per day/app/user/IP (what an upload does, without the database);
3. the whole upload through `pipeline.process` on a scratch PostgreSQL database: spooling
   (encrypting) the file, reading it back, decrypting, parsing, matching, aggregating and
   writing the aggregates in one transaction.

It prints lines/s of each and their ratio to the baseline. With `--memory-lines M` (default
10,000,000) it also runs step 2 on a file of M lines and on one of N lines in child processes and
prints each one's peak resident memory: flat memory means the two are close.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import scratch_urls, setup_django

FORMATS = ("squid_native", "zscaler")
DAYS = 7
UNKNOWN_SITES = 400


class Traffic:
    """Deterministic synthetic traffic: who goes where, when, with how many bytes."""

    def __init__(self, seed: int = 7, people: int = 3000) -> None:
        from apps.discovery.catalog import apps

        rng = random.Random(seed)
        domains = sorted(d for app in apps().values() for d in app.domains)
        hosts = [f"www.{d}" for d in domains] + [f"api.{d}" for d in domains[::3]]
        hosts += [f"cdn{n}.site-{n % 97}.example-{n}.net" for n in range(UNKNOWN_SITES)]
        self.rng = rng
        self.people = []
        for n in range(people):
            usual = rng.sample(hosts, 25)
            ip = f"10.{n // 250 % 256}.{n % 250}.{rng.randint(1, 254)}"
            self.people.append((f"user{n}@contoso.com", ip, usual))

    def rows(self, count: int):
        """(ts, user, ip, host, up, down, blocked) in time order over the last DAYS days.

        Requests come in visits: a person opens a host and makes 1-8 requests to it in a row
        (a page and its resources), as proxy logs show.
        """
        rng = self.rng
        start = int(time.time()) - DAYS * 86400 + 600
        step = DAYS * 86400 / count
        people = self.people
        n = 0
        while n < count:
            user, ip, usual = people[rng.randrange(len(people))]
            host = usual[rng.randrange(25)]
            for _ in range(min(rng.randint(1, 8), count - n)):
                yield (
                    start + int(n * step),
                    user if n % 10 else "-",
                    ip,
                    host,
                    rng.randrange(100, 5000),
                    rng.randrange(500, 200000),
                    n % 50 == 0,
                )
                n += 1


def squid_native(row) -> str:
    ts, user, ip, host, _up, down, blocked = row
    result = "TCP_DENIED/403" if blocked else "TCP_MISS/200"
    return (
        f"{ts}.123 57 {ip} {result} {down} GET https://{host}/index.html {user} "
        "DIRECT/203.0.113.9 text/html\n"
    )


def zscaler(row) -> str:
    """An NSS web log line in the 31-field order of apps/discovery/parsers/zscaler.py."""
    ts, user, ip, host, up, down, blocked = row
    when = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(ts))
    action = "Blocked" if blocked else "Allowed"
    login = "" if user == "-" else user
    return (
        f'"{when}","{login}","HTTPS","{host}/index.html","{action}","General Browsing",'
        f'"General Browsing","{up}","{down}","Business Use","Internet Communication",'
        f'"Web Search","None","None","0","None","None","HQ","Sales","{ip}","203.0.113.9",'
        f'"GET","200","Mozilla/5.0 (Windows NT 10.0; Win64; x64)","None","None","None",'
        f'"text/html","None","{login.partition("@")[0]}","LAPTOP-01"\n'
    )


WRITERS = {"squid_native": squid_native, "zscaler": zscaler}


def write_log(path: Path, fmt: str, count: int) -> None:
    traffic = Traffic()
    line = WRITERS[fmt]
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        batch = []
        for row in traffic.rows(count):
            batch.append(line(row))
            if len(batch) >= 10000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))


def baseline(path: Path, fmt: str) -> float:
    separator = "," if fmt == "zscaler" else None
    started = time.perf_counter()
    fields = 0
    with open(path, encoding="utf-8") as source:
        for line in source:
            fields += len(line.split(separator))
    return time.perf_counter() - started


def in_memory(path: Path, fmt: str):
    from apps.discovery.catalog import Matcher
    from apps.discovery.parsers import formats, make_parser
    from apps.discovery.pipeline import Run

    run = Run(
        parser_factory=lambda: make_parser(fmt),
        matcher=Matcher({}),
        pseudonymizer=None,
        label=formats()[fmt].label,
    )
    started = time.perf_counter()
    with open(path, encoding="utf-8") as source:
        run.feed(source, path.name)
    aggregates = run.finish()
    elapsed = time.perf_counter() - started
    return elapsed, run.tally, aggregates


def through_database(path: Path, fmt: str, tenant) -> tuple[float, float, object]:
    from apps.discovery import pipeline, services
    from apps.discovery.models import Upload
    from apps.tenants.scoping import tenant_context

    def chunks():
        with open(path, "rb") as source:
            while block := source.read(1 << 20):
                yield block

    with tenant_context(tenant):
        started = time.perf_counter()
        upload = services.create_snapshot(
            name=f"bench {fmt}",
            log_format=fmt,
            files=[services.IncomingFile(path.name, chunks())],
            actor="bench",
            anonymize=False,
        )
        spooled = time.perf_counter() - started
        started = time.perf_counter()
        pipeline.process(upload.pk)
        elapsed = time.perf_counter() - started
        return spooled, elapsed, Upload.objects.get(pk=upload.pk)


def child_memory(fmt: str, lines: int, folder: str) -> None:
    """Child process: make a file of `lines` lines, run the pipeline on it, print peak RSS."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casb.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("CASB_VAR_DIR", folder)
    import django

    django.setup()
    path = Path(folder) / f"memory-{fmt}-{lines}.log"
    write_log(path, fmt, lines)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    elapsed, tally, _ = in_memory(path, fmt)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = path.stat().st_size
    path.unlink()
    print(f"{lines} {size} {before} {peak} {elapsed:.2f} {tally.parsed}")


def memory_report(fmt: str, small: int, large: int, folder: str) -> None:
    results = []
    for lines in (small, large):
        out = subprocess.run(
            [sys.executable, __file__, "--child-memory", fmt, str(lines), folder],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        results.append(out)
    for lines, size, before, peak, elapsed, parsed in results:
        print(
            f"  memory {fmt}: {int(lines):>11,} lines ({int(size) / 2**20:,.0f} MiB): peak RSS "
            f"{int(peak) / 1024:,.0f} MiB (after generating the file: {int(before) / 1024:,.0f} "
            f"MiB), {int(parsed) / float(elapsed):,.0f} lines/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--memory-lines", type=int, default=10_000_000)
    parser.add_argument("--no-db", action="store_true", help="skip the full upload step")
    parser.add_argument("--child-memory", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        fmt, lines, folder = args.child_memory
        child_memory(fmt, int(lines), folder)
        return

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casb")
    admin_url, url = scratch_urls(base, f"casb_bench_{os.getpid()}")
    folder = tempfile.mkdtemp(prefix="casb-bench-discovery-")
    os.environ["CASB_VAR_DIR"] = folder
    os.environ["DISCOVERY_SPOOL_DIR"] = str(Path(folder) / "spool")
    os.environ["CELERY_BROKER_URL"] = "memory://"  # the upload's task message goes nowhere
    tenant = None
    if not args.no_db:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "casb_bench_{os.getpid()}"')
    try:
        setup_django(url if not args.no_db else "sqlite:///" + str(Path(folder) / "x.sqlite3"))
        if not args.no_db:
            from django.core.management import call_command

            from apps.tenants.services import create_tenant

            call_command("migrate", verbosity=0)
            tenant = create_tenant(name="Bench", slug="bench", geo="eu")
        from apps.discovery.catalog import apps

        print(f"catalog: {len(apps())} apps; {args.lines:,} lines per format, {DAYS} days")
        for fmt in args.formats.split(","):
            path = Path(folder) / f"{fmt}.log"
            started = time.perf_counter()
            write_log(path, fmt, args.lines)
            size = path.stat().st_size
            print(
                f"\n{fmt}: {size / 2**20:,.0f} MiB written in {time.perf_counter() - started:.1f} s"
            )
            base_s = baseline(path, fmt)
            print(f"  baseline (read + split each line): {args.lines / base_s:>11,.0f} lines/s")
            elapsed, tally, aggregates = in_memory(path, fmt)
            rate = tally.lines / elapsed
            print(
                f"  parse + match + aggregate:         {rate:>11,.0f} lines/s  "
                f"ratio {base_s / elapsed:.2f} of the baseline  "
                f"({tally.parsed:,} parsed, {tally.skipped:,} skipped; "
                f"{len(aggregates.apps):,} app-days, {len(aggregates.users):,} user-days, "
                f"{len(aggregates.ips):,} IP-days)"
            )
            if tenant is not None:
                spooled, total, upload = through_database(path, fmt, tenant)
                print(
                    f"  whole upload (decrypt, decompress, parse, match, aggregate, write): "
                    f"{upload.lines_done / total:,.0f} lines/s ({total:.1f} s, "
                    f"ratio {base_s / total:.2f}); spooling it first took {spooled:.1f} s; "
                    f"status {upload.status}"
                )
            path.unlink()
            if args.memory_lines:
                memory_report(fmt, args.lines, args.memory_lines, folder)
    finally:
        if not args.no_db:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "casb_bench_{os.getpid()}" WITH (FORCE)')


if __name__ == "__main__":
    main()
