"""Benchmark: CEF delivery rate over TCP (format + syslog frame + send) against a bare loop.

    .venv/bin/python bench/cef.py                   # 200,000 events
    .venv/bin/python bench/cef.py --events 50000 --repeat 3

Pure Python, no database. Builds N synthetic alerts and activities (half each: realistic
field sizes, a few characters that need escaping), starts a plain socket reader in a separate
process on loopback (it reads, counts and hashes the bytes of each connection and reports when
it has them all), then times in the same run, on fresh connections:

1. the baseline: the same lines, pre-formatted (CEF + RFC 5424-time syslog header + RFC 6587
   octet count), written with ``sock.sendall(frame)`` in a bare loop, one call per line;
2. the pipeline, one event at a time: `CefFormatter.format`, `SyslogFormat.frame` and
   `SyslogSender.send` per event (each send checks the connection and writes its frame);
3. the pipeline, batched: the same work fed lazily to `SyslogSender.send_many`, which joins
   frames into 64 KiB writes (how the outbox pushes a backlog).

Each rate counts until the reader has received every byte; the reader's SHA-256 of what
arrived must equal that of the pre-formatted lines (else the run aborts). Prints events/s of
each, the pipeline's ratios to the baseline, and the format-only and frame-only rates.
Not a test: nothing asserts beyond the byte check, it reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import multiprocessing as mp
import random
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.integrations.siem.cef import CefActivity, CefAlert, CefEvent, CefFormatter  # noqa: E402
from apps.integrations.siem.syslog import (  # noqa: E402
    SyslogFormat,
    SyslogSender,
    octet_count,
    syslog_severity,
)

APPS = [("Microsoft 365", "APPID_O365"), ("Box", "APPID_BOX"), ("Salesforce", "APPID_SALESFORCE")]
ACTIONS = [
    ("EVENT_CATEGORY_DOWNLOAD_FILE", "Download file"),
    ("EVENT_CATEGORY_LOGIN", "Log on"),
    ("EVENT_CATEGORY_SHARE_FILE", "Share file"),
]


def make_events(count: int, seed: int) -> list[CefEvent]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    events: list[CefEvent] = []
    for n in range(count):
        app, app_id = rng.choice(APPS)
        user = f"user{rng.randint(1, 3000)}@contoso.test"
        when = start + dt.timedelta(milliseconds=n * 37)
        ident = f"{n:08x}-{rng.getrandbits(16):04x}-4000-8000-{rng.getrandbits(48):012x}"
        # A few thousand distinct client addresses, as a tenant's people use.
        ip = f"203.0.113.{rng.randint(1, 254)}" if n % 3 else f"2001:db8::{rng.randint(1, 3000):x}"
        if n % 2:
            events.append(
                CefAlert(
                    id=ident,
                    timestamp=when,
                    alert_type="ALERT_CABINET_EVENT_MATCH_AUDIT",
                    policy_name=f"Mass download | {app}",
                    severity=rng.choice((3, 6, 8)),
                    risk_score=rng.randint(1, 10),
                    description=f"Activity policy 'Mass download' was triggered by '{user}'",
                    user=user,
                    app_name=app,
                    app_ids=[app_id],
                    client_ip=ip,
                    portal_url=f"https://casb.example/t/contoso/alerts/{ident}",
                    related_activities=[f"{n - 1:08x}-act", f"{n - 2:08x}-act"],
                    policy_ids=["9b3f2c1e-policy"],
                )
            )
        else:
            category, action = rng.choice(ACTIONS)
            events.append(
                CefActivity(
                    id=ident,
                    timestamp=when,
                    category=category,
                    action=action,
                    description=f"{action}: Q{n % 4 + 1} plan=final.xlsx",
                    user=user,
                    app_name=app,
                    app_ids=[app_id],
                    client_ip=ip,
                    user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
                    portal_url=f"https://casb.example/t/contoso/activities/{ident}",
                    target_objects=[f"/Shared/Finance/Q{n % 4 + 1} plan.xlsx", user],
                )
            )
    return events


def reader(port_out, jobs, results) -> None:
    """Accepts one connection per job (the expected byte count), reads it all, reports."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port_out.put(listener.getsockname()[1])
    while (expected := jobs.get()) is not None:
        conn, _ = listener.accept()
        digest, got = hashlib.sha256(), 0
        view = bytearray(1 << 20)
        while got < expected:
            n = conn.recv_into(view)
            if not n:
                break
            digest.update(memoryview(view)[:n])
            got += n
        results.put((got, digest.hexdigest()))
        conn.close()
    listener.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    formatter = CefFormatter()
    syslog = SyslogFormat(include_pri=True, hostname="casb-host")
    events = make_events(args.events, args.seed)

    def framed(event: CefEvent) -> bytes:
        return syslog.frame(
            formatter.format(event),
            timestamp=event.timestamp,
            severity=syslog_severity(formatter.header(event)[2]),
        )

    t0, c0 = time.perf_counter(), time.process_time()
    lines = [formatter.format(e) for e in events]
    t_format, c_format = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    messages = [
        syslog.frame(line, timestamp=e.timestamp) for line, e in zip(lines, events, strict=True)
    ]
    t_frame, c_frame = time.perf_counter() - t0, time.process_time() - c0
    frames = [octet_count(framed(e)) for e in events]
    total = sum(map(len, frames))
    digest = hashlib.sha256(b"".join(frames)).hexdigest()
    del messages

    ctx = mp.get_context("fork")
    port_q, jobs, results = ctx.Queue(), ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=reader, args=(port_q, jobs, results), daemon=True)
    proc.start()
    port = port_q.get(timeout=10)

    def run(send) -> tuple[float, float]:
        """(wall seconds until the reader has every byte, CPU seconds of this process)."""
        jobs.put(total)
        started, cpu = time.perf_counter(), time.process_time()
        send()
        got, seen = results.get(timeout=600)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if (got, seen) != (total, digest):
            raise SystemExit(f"receiver got {got} of {total} bytes, or different bytes")
        return elapsed, cpu

    def bare() -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for frame in frames:
                sock.sendall(frame)

    def one_by_one() -> None:
        with SyslogSender("127.0.0.1", port) as sender:
            for event in events:
                sender.send(framed(event))

    def batched() -> None:
        with SyslogSender("127.0.0.1", port) as sender:
            sender.send_many(framed(e) for e in events)

    n = len(events)
    print(
        f"{n:,} events ({total / n:.0f} bytes per framed line on average), "
        f"TCP loopback, reader in its own process"
    )
    print("(wall-clock rate; in brackets, per CPU-second of the sending process)")
    print(
        f"format only (CefFormatter.format)           {n / t_format:>9,.0f}/s [{n / c_format:,.0f}]"
    )
    print(f"frame only (SyslogFormat.frame)            {n / t_frame:>9,.0f}/s [{n / c_frame:,.0f}]")
    for attempt in range(1, args.repeat + 1):
        (t_bare, c_bare), (t_one, c_one), (t_batch, c_batch) = (
            run(bare),
            run(one_by_one),
            run(batched),
        )
        print(f"-- run {attempt}")
        print(
            f"baseline: bare sendall loop, pre-formatted {n / t_bare:>9,.0f}/s [{n / c_bare:,.0f}]"
        )
        for label, t, c in (
            ("format + frame + send(), one by one       ", t_one, c_one),
            ("format + frame + send_many(), batched     ", t_batch, c_batch),
        ):
            print(
                f"{label}{n / t:>9,.0f}/s [{n / c:,.0f}]  ratio {t_bare / t:.3f} [{c_bare / c:.3f}]"
            )
    jobs.put(None)
    proc.join(5)


if __name__ == "__main__":
    main()
