"""The log collector for real: syslog over UDP and TCP sockets on loopback feeds data sources.

These tests commit (the collector runs in another thread or process, with its own database
connection), so they use a transactional database; one source lives in a US tenant, whose data
is in the US geo database (the collector is a cross-tenant, cross-geo job).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

from apps.discovery import pipeline
from apps.discovery.collector import Collector, CollectorError, load_feeds
from apps.discovery.models import AppDay, Receiver, Upload, UploadStatus
from apps.tenants.scoping import tenant_context
from tests.discovery.helpers import squid_line
from tests.discovery.ingest.helpers import make_source
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rfc3164(line: str, tag: str = "") -> str:
    return f"<134>{time.strftime('%b %d %H:%M:%S')} proxy1 {tag}{line}"


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def uploads_of(tenant, source) -> list[Upload]:
    with tenant_context(tenant):
        return list(Upload.objects.filter(report__data_source=source).order_by("created_at"))


def process_all(tenant, uploads) -> None:
    with tenant_context(tenant):
        for upload in uploads:
            pipeline.process(upload.pk)


def test_udp_and_tcp_syslog_reach_their_sources(tenant_a):
    tenant_b = make_tenant("Liberty", geo="us")
    udp_port, tcp_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    udp = make_source(tenant_a, "UDP proxy", receiver=Receiver.SYSLOG_UDP, port=udp_port)
    tcp = make_source(tenant_b, "TCP proxy", receiver=Receiver.SYSLOG_TCP, port=tcp_port)
    collector = Collector(load_feeds(), bind="127.0.0.1", batch_lines=3, batch_seconds=60)
    collector.open()
    stop = threading.Event()

    def run():
        try:
            collector.serve(stop)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for n in range(3):  # one datagram, one message; the third fills the batch
                tag = "squid[812]: " if n else ""  # as Squid's own syslog output has it
                line = rfc3164(squid_line(url="https://slack.com/", size=100 + n), tag)
                sender.sendto(line.encode(), ("127.0.0.1", udp_port))
        wait_for(lambda: len(uploads_of(tenant_a, udp)) == 1)

        octet = rfc3164(squid_line(url="https://www.dropbox.com/", user="ann")).encode()
        with socket.create_connection(("127.0.0.1", tcp_port)) as sender:
            sender.sendall(rfc3164(squid_line(url="https://app.box.com/")).encode() + b"\n")
            sender.sendall(b"%d " % len(octet) + octet)  # RFC 6587 octet counting
            sender.sendall(rfc3164(squid_line(url="https://mega.nz/"))[:20].encode())
            time.sleep(0.2)  # a message split across two segments
            sender.sendall(rfc3164(squid_line(url="https://mega.nz/"))[20:].encode() + b"\n")
        feed = next(f for f in collector.feeds if f.port == tcp_port)
        wait_for(lambda: len(feed.lines) == 3 or uploads_of(tenant_b, tcp))
    finally:
        stop.set()  # shutdown uploads what is buffered
        thread.join(10)
    assert not thread.is_alive()

    (first,) = uploads_of(tenant_a, udp)
    assert first.source == "collector" and first.created_by_label == "log collector"
    process_all(tenant_a, [first])
    (second,) = uploads_of(tenant_b, tcp)
    process_all(tenant_b, [second])
    with tenant_context(tenant_a):
        first.refresh_from_db()
        assert (first.status, first.lines_parsed, first.lines_skipped) == ("done", 3, 0)
        assert AppDay.objects.get(app="slack").transactions == 3
    with tenant_context(tenant_b):
        second.refresh_from_db()
        assert (second.status, second.lines_parsed, second.lines_skipped) == ("done", 3, 0)
        assert {r.app for r in AppDay.objects.all()} == {"box", "dropbox", "mega"}


def test_batches_are_also_cut_by_time(tenant_a):
    port = free_port(socket.SOCK_DGRAM)
    source = make_source(tenant_a, "Timed", receiver=Receiver.SYSLOG_UDP, port=port)
    collector = Collector(load_feeds(), bind="127.0.0.1", batch_lines=1000, batch_seconds=0.3)
    collector.open()
    stop = threading.Event()
    thread = threading.Thread(target=lambda: (collector.serve(stop), connections.close_all()))
    thread.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(rfc3164(squid_line()).encode(), ("127.0.0.1", port))
        wait_for(lambda: len(uploads_of(tenant_a, source)) == 1)
    finally:
        stop.set()
        thread.join(10)
    assert len(uploads_of(tenant_a, source)) == 1  # nothing left to flush at shutdown


def test_two_sources_on_one_port_are_refused(tenant_a, tenant_b):
    make_source(tenant_a, "One", receiver=Receiver.SYSLOG_UDP, port=5599)
    make_source(tenant_b, "Two", receiver=Receiver.SYSLOG_TCP, port=5599)
    with pytest.raises(CollectorError, match="Port 5599 is configured for two data sources"):
        load_feeds()


def test_the_command_with_logger_as_a_real_peer(tenant_a, discovery_spool):
    """`manage.py logcollector` in a process of its own; util-linux `logger` sends RFC 5424
    octet-counted syslog over TCP; SIGTERM uploads what is buffered, then the command exits."""
    if shutil.which("logger") is None:
        pytest.skip("util-linux logger is not installed")
    port = free_port(socket.SOCK_STREAM)
    source = make_source(tenant_a, "Edge", receiver=Receiver.SYSLOG_TCP, port=port)
    db = django_settings.DATABASES
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "casb.test_settings",
        "DATABASE_URL": f"postgres://{db['default']['USER']}@{db['default']['HOST']}:"
        f"{db['default']['PORT']}/{db['default']['NAME']}",
        "DATABASE_URL_GEO_US": f"postgres://{db['geo_us']['USER']}@{db['geo_us']['HOST']}:"
        f"{db['geo_us']['PORT']}/{db['geo_us']['NAME']}",
        "DISCOVERY_SPOOL_DIR": str(discovery_spool),
        "DISCOVERY_COLLECTOR_BIND": "127.0.0.1",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    root = Path(__file__).resolve().parents[3]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "logcollector", "--batch-seconds", "600"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in process.stdout:  # wait until it listens
            if "next restart" in line:
                break
        for url in ("https://slack.com/", "https://www.dropbox.com/"):
            subprocess.run(
                [
                    "logger",
                    "--server",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--tcp",
                    "--rfc5424",
                    "--octet-count",
                    "-t",
                    "squid",
                    "--",
                    squid_line(url=url),
                ],
                check=True,
                timeout=10,
            )
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "1 upload(s) handed to the pipeline" in output
    (upload,) = uploads_of(tenant_a, source)
    process_all(tenant_a, [upload])
    with tenant_context(tenant_a):
        upload.refresh_from_db()
        assert upload.status == UploadStatus.DONE, upload.error
        assert (upload.lines_parsed, upload.lines_skipped) == (2, 0)
