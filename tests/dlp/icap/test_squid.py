"""T16: Squid (Debian package squid) as the ICAP client in front of our server, on loopback.

curl-like uploads go through Squid to a local HTTP server: a clean upload reaches it, a file
with a card number gets the tenant's block page (depends on the file policy module's `apply()`
honouring `tuning.block`), and with the ICAP server down Squid fails closed (bypass=0).
Skipped when squid is absent, except under CI=true where that fails."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from apps.dlp.models import FileRecord, Verdict
from apps.tenants.scoping import tenant_context
from tests.dlp.icap import client as ic
from tests.dlp.icap.conftest import SETS_UP_DATABASES, need, start_server


@SETS_UP_DATABASES
def test_the_binary_is_there():
    assert need("squid")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        Upstream.received.append(self.rfile.read(length))
        self.send_response(201)
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"stored\n")

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"hello\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    Upstream.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


CONFIG = """\
http_port 127.0.0.1:{http_port}
pid_filename {dir}/squid.pid
cache_log {dir}/cache.log
access_log stdio:{dir}/access.log
coredump_dir {dir}
netdb_filename none
pinger_enable off
cache deny all
cache_mem 8 MB
acl localnet src 127.0.0.0/8
http_access allow localnet
http_access deny all
shutdown_lifetime 0 seconds
icap_enable on
icap_send_client_ip on
icap_preview_enable on
icap_preview_size 1024
icap_persistent_connections on
adaptation_meta X-ICAP-Secret "{secret}"
icap_service casb_req reqmod_precache icap://127.0.0.1:{icap_port}/{slug}/reqmod bypass=0
adaptation_access casb_req allow all
"""


def start_squid(directory: Path, **values) -> subprocess.Popen:
    binary = need("squid")
    conf = directory / "squid.conf"
    conf.write_text(CONFIG.format(dir=directory, **values))
    if os.geteuid() == 0:  # squid drops to the 'proxy' user
        proxy = pwd.getpwnam("proxy")
        for path in (directory, *directory.iterdir()):
            os.chown(path, proxy.pw_uid, proxy.pw_gid)
    process = subprocess.Popen(
        [binary, "-N", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", values["http_port"]), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                log = (
                    (directory / "cache.log").read_text()
                    if (directory / "cache.log").exists()
                    else ""
                )
                raise AssertionError(f"squid exited: {log[-2000:]}") from None
            time.sleep(0.1)
    process.kill()
    raise AssertionError("squid did not start listening")


def test_uploads_through_squid(icap_db, blocking, upstream):
    need("squid")
    server, stop, thread = start_server(idle_timeout=5.0)
    directory = Path(tempfile.mkdtemp(prefix="casb-squid-"))
    directory.chmod(0o755)
    http_port = _free_port()
    squid = start_squid(
        directory, http_port=http_port, icap_port=server.port, slug=blocking.slug,
        secret=blocking.secret,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{upstream.server_port}/upload"
        with httpx.Client(proxy=f"http://127.0.0.1:{http_port}", timeout=20) as web:
            # A GET has no body (REQMOD with null-body): passed on, nothing recorded.
            assert web.get(url).text == "hello\n"
            clean = web.post(url, files={"file": ("notes.txt", ic.CLEAN_TEXT, "text/plain")})
            assert clean.status_code == 201 and clean.text == "stored\n"
            assert len(Upstream.received) == 1 and ic.CLEAN_TEXT in Upstream.received[0]
            big = web.post(url, files={"file": ("card.txt", ic.CARD_TEXT * 50, "text/plain")})
            assert big.status_code == 403
            assert "Stop: &lt;card&gt; numbers &amp; secrets stay inside." in big.text
            small = web.post(url, content=ic.CARD_TEXT, headers={"Content-Type": "text/plain"})
            assert small.status_code == 403
            assert len(Upstream.received) == 1  # the blocked files never reached it
            with tenant_context(blocking.tenant):
                verdicts = list(
                    FileRecord.objects.order_by("first_seen_at").values_list("name", "verdict")
                )
            assert verdicts == [
                ("notes.txt", Verdict.CLEAN), ("card.txt", Verdict.BLOCKED),
                ("upload", Verdict.BLOCKED),
            ]  # fmt: skip
            # The ICAP server goes down: Squid fails closed.
            stop.set()
            thread.join(timeout=10)
            down = web.post(url, files={"file": ("notes.txt", ic.CLEAN_TEXT, "text/plain")})
            assert down.status_code == 500 and len(Upstream.received) == 1
    finally:
        stop.set()
        squid.terminate()
        try:
            squid.wait(timeout=10)
        except subprocess.TimeoutExpired:
            squid.kill()
        shutil.rmtree(directory, ignore_errors=True)
