"""T17: a malformed corpus gets ICAP 400 and the server keeps serving; limits hold; idle and
slow clients are dropped; persistent connections and pipelining work."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from apps.dlp.icap.protocol import chunked
from tests.dlp.icap import client as ic
from tests.dlp.icap.conftest import SETS_UP_DATABASES, start_server


@SETS_UP_DATABASES
def test_chunked_writer():
    assert chunked(b"abc") == b"3\r\nabc\r\n0\r\n\r\n"
    assert chunked(b"") == b"0\r\n\r\n"


def _head(slug: str, secret: str, encapsulated: str, extra: str = "") -> bytes:
    return (
        f"REQMOD icap://127.0.0.1/{slug}/reqmod ICAP/1.0\r\nHost: x\r\nX-ICAP-Secret: {secret}\r\n"
        f"Allow: 204\r\nEncapsulated: {encapsulated}\r\n{extra}\r\n"
    ).encode()


def corpus(slug: str, secret: str) -> dict[str, bytes]:
    http = ic.upload_head("a.txt", 5)
    n = len(http)
    good = _head(slug, secret, f"req-hdr=0, req-body={n}")
    return {
        "garbage": b"\x00\x01\x02 hello\r\n\r\n",
        "http not icap": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "bad version": b"OPTIONS icap://x/a/reqmod ICAP/2.0\r\n\r\n",
        "bad uri": b"OPTIONS /a/reqmod ICAP/1.0\r\n\r\n",
        "header without colon": b"OPTIONS icap://x/a/reqmod ICAP/1.0\r\nbroken\r\n\r\n",
        "folded header": b"OPTIONS icap://x/a/reqmod ICAP/1.0\r\nA: b\r\n c\r\n\r\n",
        "missing encapsulated": _head(slug, secret, "x").replace(b"Encapsulated: x\r\n", b""),
        "two encapsulated": _head(slug, secret, f"req-hdr=0, req-body={n}",
                                  f"Encapsulated: req-hdr=0, null-body={n}\r\n") + http,
        "bad chunk size": good + http + b"zz\r\nhello\r\n0\r\n\r\n",
        "negative chunk size": good + http + b"-5\r\nhello\r\n0\r\n\r\n",
        "huge chunk size": good + http + b"fffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "chunk without crlf": good + http + b"5\r\nhelloXX0\r\n\r\n",
        "offset too small": _head(slug, secret, f"req-hdr=0, req-body={n - 4}") + http
        + b"5\r\nhello\r\n0\r\n\r\n",
        "offset too large": _head(slug, secret, f"req-hdr=0, req-body={n + 3}") + http
        + b"abc5\r\nhello\r\n0\r\n\r\n",
        "offsets out of order": _head(slug, secret, f"req-body=0, req-hdr={n}") + http,
        "no body entity": _head(slug, secret, "req-hdr=0") + http,
        "respmod entity in reqmod": _head(slug, secret, f"res-hdr=0, res-body={n}") + http,
        "bad preview": _head(slug, secret, f"req-hdr=0, req-body={n}", "Preview: many\r\n") + http,
        "conflicting content-length": _head(slug, secret, f"req-hdr=0, req-body={n + 19}")
        + http[:-2] + b"Content-Length: 9\r\n\r\n" + b"5\r\nhello\r\n0\r\n\r\n",
        "64 KB header": b"OPTIONS icap://x/a/reqmod ICAP/1.0\r\nX-Big: " + b"a" * 70000
        + b"\r\n\r\n",
        "many headers": b"OPTIONS icap://x/a/reqmod ICAP/1.0\r\n" + b"X-A: b\r\n" * 9000 + b"\r\n",
    }  # fmt: skip


@pytest.fixture(scope="module")
def small_server(icap_db):
    server, stop, thread = start_server(max_header_bytes=16384, idle_timeout=1.0)
    yield server
    stop.set()
    thread.join(timeout=10)


def test_malformed_corpus_gets_400_and_the_server_stays_healthy(small_server, service):
    statuses = {}
    for name, data in corpus(service.slug, service.secret).items():
        c = ic.Client(small_server.port)
        c.send(data)
        reply = c.read()
        statuses[name] = reply.status
        assert reply.headers.get("connection") == "close", name
        c.close()
    assert statuses.pop("bad version") == 505  # ICAP Version Not Supported
    expected_413 = {"64 KB header", "many headers"}
    assert {k: v for k, v in statuses.items() if k in expected_413} == dict.fromkeys(
        expected_413, 413
    )
    others = {k: v for k, v in statuses.items() if k not in expected_413}
    assert set(others.values()) == {400}, others
    # Healthy after: a real request works.
    reply = ic.Client(small_server.port).call(ic.reqmod(service.slug, service.secret, b"hello"))
    assert reply.status == 204


def test_truncated_body_and_silence_time_out(small_server, service):
    started = time.monotonic()
    c = ic.Client(small_server.port)
    request = ic.reqmod(service.slug, service.secret, ic.CLEAN_TEXT)
    c.send(request[:-20])  # cut inside the chunked body
    c.sock.settimeout(5)
    assert c.sock.recv(100) == b""  # closed by the server after its idle timeout
    assert time.monotonic() - started < 3
    idle = socket.create_connection(("127.0.0.1", small_server.port))
    idle.settimeout(5)
    assert idle.recv(100) == b""


def test_ieof_zero_and_duplicate_equal_content_length(small_server, service):
    # c-icap-client sends two equal Content-Length headers on REQMOD: accepted.
    head = ic.upload_head("a.txt", 5, extra="Content-Length: 5\r\n")
    reply = ic.Client(small_server.port).call(
        ic.reqmod(service.slug, service.secret, b"hello", head=head, preview=0)
    )
    assert reply.status == 100
    # `0; ieof` in a preview of an empty body: answered at once.
    reply = ic.Client(small_server.port).call(
        ic.reqmod(service.slug, service.secret, b"", preview=0)
    )
    assert reply.status == 204


def test_slowloris_does_not_pin_the_server(small_server, service):
    slow = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", small_server.port))
        s.sendall(b"OPTIONS icap://x/")
        slow.append(s)
    started = time.monotonic()
    for _ in range(4):  # keep trickling, one byte every 0.4 s (under the idle timeout)
        reply = ic.Client(small_server.port).call(ic.options(service.slug))
        assert reply.status == 200
        assert time.monotonic() - started < 2.5
        for s in slow:
            with contextlib.suppress(OSError):
                s.sendall(b"a")
        time.sleep(0.4)
    # The header deadline (the idle timeout) passed: every slow client has been dropped.
    time.sleep(0.5)
    for s in slow:
        s.settimeout(2)
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        assert data == b""
        s.close()


def test_persistent_connection_and_1000_pipelined_options(small_server, service):
    c = ic.Client(small_server.port)
    for _ in range(3):
        assert c.call(ic.reqmod(service.slug, service.secret, ic.CLEAN_TEXT)).status == 204
    c.send(ic.options(service.slug) * 1000)
    replies = [c.read() for _ in range(1000)]
    assert {r.status for r in replies} == {200}
    assert c.call(ic.options(service.slug)).status == 200
    c.close()


def test_connection_limit_answers_503(icap_db, service):
    server, stop, thread = start_server(max_connections=2, idle_timeout=1.0)
    try:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
        time.sleep(0.2)
        reply = ic.Client(server.port).read()
        assert reply.status == 503
        for s in held:
            s.close()
        time.sleep(0.3)
        assert ic.Client(server.port).call(ic.options(service.slug)).status == 200
    finally:
        stop.set()
        thread.join(timeout=10)
