"""ICAP over TLS: 1.2 or newer only, no stunnel needed."""

from __future__ import annotations

import socket
import ssl

import pytest

from apps.dlp.icap.server import tls_context
from tests.dlp.icap import client as ic
from tests.dlp.icap.conftest import SETS_UP_DATABASES, start_server
from tests.fakes.tls import make_tls


@SETS_UP_DATABASES
def test_the_server_context_refuses_old_versions(tmp_path):
    tls = make_tls(tmp_path)
    assert tls_context(str(tls.cert), str(tls.key)).minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.fixture
def tls_server(icap_db, tmp_path):
    files = make_tls(tmp_path)
    server, stop, thread = start_server(tls=tls_context(str(files.cert), str(files.key)))
    yield server, files
    stop.set()
    thread.join(timeout=10)


def _client(files, *, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(files.ca_bundle))
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    return context


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_12_works_and_tls_11_is_refused(tls_server, service):
    server, files = tls_server
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock = _client(files, version=version).wrap_socket(raw, server_hostname="localhost")
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        reply = ic.Client(0, sock=sock).call(ic.reqmod(service.slug, service.secret, b"hi"))
        assert reply.status == 204
        sock.close()
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    with pytest.raises(ssl.SSLError) as refused:
        _client(files, version=ssl.TLSVersion.TLSv1_1).wrap_socket(raw, server_hostname="localhost")
    # The server said no (an alert), not our own client library.
    assert "ALERT_PROTOCOL_VERSION" in str(refused.value).upper() or "alert" in str(refused.value)
    # Plain ICAP on the TLS port gets nothing useful, and the server keeps serving.
    plain = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    plain.sendall(ic.options(service.slug))
    try:
        answer = plain.recv(100)
    except ConnectionResetError:
        answer = b""
    assert not answer.startswith(b"ICAP/1.0")
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock = _client(files, version=ssl.TLSVersion.TLSv1_2).wrap_socket(
        raw, server_hostname="localhost"
    )
    assert ic.Client(0, sock=sock).call(ic.options(service.slug)).status == 200
