"""Syslog framing and the sender, against real sockets on loopback (tests/integrations/siem/
receiver.py): UDP, TCP with octet counting and line feeds, TLS (1.2 or newer, CA and host name
checks), reconnection, deadlines, and errors worded for people."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
import warnings

import pytest

from apps.integrations.siem.syslog import (
    SyslogError,
    SyslogFormat,
    SyslogSender,
    TimeFormat,
    octet_count,
    syslog_severity,
)
from tests.fakes.tls import make_tls

from .receiver import Receiver

WHEN = dt.datetime(2023, 3, 2, 21, 10, 2, 22_000, tzinfo=dt.UTC)
CEF = "CEF:0|OpenCASB|CASB|0.1.0|EVENT_CATEGORY_LOGIN|Log on|0|msg=caf\u00e9 a\\=b"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("siem-tls"))


@pytest.fixture(scope="module")
def other_tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("siem-other-ca"))


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(*args, **kwargs) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.stop()


# -- framing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_format", "stamp"),
    [
        (TimeFormat.RFC5424, "2023-03-02T21:10:02.022Z"),
        (TimeFormat.RFC3164, "Mar  2 21:10:02"),
        (TimeFormat.RFC3164_YEAR, "Mar 02 2023 21:10:02"),
    ],
)
def test_time_formats(time_format, stamp):
    assert SyslogFormat(time_format=time_format).frame(CEF, timestamp=WHEN) == (
        f"{stamp} {CEF}".encode()
    )


def test_pri_and_host_name_are_optional():
    plain = SyslogFormat()
    assert plain.frame("m", timestamp=WHEN) == b"2023-03-02T21:10:02.022Z m"
    full = SyslogFormat(include_pri=True, facility=20, hostname="LAB-EUW-ARCTEST")
    assert full.frame("m", timestamp=WHEN, severity=4) == (
        b"<164>2023-03-02T21:10:02.022Z LAB-EUW-ARCTEST m"
    )
    late = dt.datetime(2023, 12, 24, 1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert SyslogFormat(time_format="rfc3164", include_pri=True).frame(
        "m", timestamp=late, severity=6
    ) == (b"<134>Dec 23 23:02:03 m")


def test_full_rfc5424_header_with_an_application_name():
    framed = SyslogFormat(app_name="casb", hostname="casb-host").frame("m", timestamp=WHEN)
    assert framed == b"<134>1 2023-03-02T21:10:02.022Z casb-host casb - - - m"
    assert (
        SyslogFormat(app_name="casb")
        .frame("m", timestamp=WHEN)
        .startswith(b"<134>1 2023-03-02T21:10:02.022Z - casb ")
    )


def test_bad_framing_settings_are_refused_in_plain_words():
    with pytest.raises(ValueError, match="host name must be 1 to 255 printable ASCII"):
        SyslogFormat(hostname="two words")
    with pytest.raises(ValueError, match="needs the RFC 5424 time format"):
        SyslogFormat(time_format=TimeFormat.RFC3164, app_name="casb")
    with pytest.raises(ValueError, match="facility must be 0 to 23"):
        SyslogFormat(facility=24)
    with pytest.raises(ValueError, match="time zone"):
        SyslogFormat().frame("m", timestamp=dt.datetime(2023, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="severity must be 0 to 7"):
        SyslogFormat().frame("m", timestamp=WHEN, severity=8)


def test_octet_counting_counts_bytes_not_characters():
    assert octet_count("é\n".encode()) == b"3 \xc3\xa9\n"
    assert [syslog_severity(s) for s in (0, 3, 5, 8, 10)] == [6, 5, 4, 3, 2]


# -- plain transports ------------------------------------------------------------------------


def test_tcp_octet_counting_keeps_line_breaks_inside_a_message(receiver):
    server = receiver("tcp")
    messages = [SyslogFormat().frame(CEF, timestamp=WHEN), b"line one\nline two", "é".encode()]
    with SyslogSender("127.0.0.1", server.port, transport="tcp") as sender:
        assert sender.send_many(messages) == 3
        sender.send(b"last")
    assert server.wait_for(4) == [*messages, b"last"]
    assert server.connections == 1


def test_tcp_newline_framing(receiver):
    server = receiver("tcp", octet_counting=False)
    with SyslogSender("127.0.0.1", server.port, octet_counting=False) as sender:
        sender.send_many([b"one", b"two"])
        with pytest.raises(SyslogError, match="line break cannot be sent with newline framing"):
            sender.send(b"a\nb")
    assert server.wait_for(2) == [b"one", b"two"]


def test_udp_one_datagram_per_message(receiver):
    server = receiver("udp")
    with SyslogSender("127.0.0.1", server.port, transport="udp") as sender:
        assert sender.send_many([b"one", b"two\nlines"]) == 2
        with pytest.raises(SyslogError, match="does not fit in one UDP datagram"):
            sender.send(b"x" * 70_000)
    assert sorted(server.wait_for(2)) == [b"one", b"two\nlines"]


def test_reconnects_when_the_receiver_dropped_the_connection(receiver):
    server = receiver("tcp")
    with SyslogSender("127.0.0.1", server.port) as sender:
        sender.send(b"before")
        assert server.wait_for(1) == [b"before"]
        server.drop_clients()
        time.sleep(0.05)
        sender.send_many([b"after-1", b"after-2"])
    assert server.wait_for(3) == [b"before", b"after-1", b"after-2"]
    assert server.connections == 2


def test_refused_connection_is_reported_quickly():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(SyslogError) as caught:
        SyslogSender("127.0.0.1", port, timeout=2).send(b"m")
    assert str(caught.value) == (
        f"could not connect to 127.0.0.1:{port} (TCP): the connection was refused "
        "(nothing listens there)"
    )
    assert time.monotonic() - started < 2


def test_a_receiver_that_stops_reading_cannot_hang_the_sender():
    """The listener never accepts nor reads: the kernel's buffers fill, then the deadline."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        sender = SyslogSender("127.0.0.1", listener.getsockname()[1], timeout=0.5, deadline=3)
        started = time.monotonic()
        with pytest.raises(SyslogError, match=r"no answer within 0\.5 seconds|took longer than"):
            sender.send_many(b"x" * 1000 for _ in range(100_000))
        assert time.monotonic() - started < 4
        sender.close()
    finally:
        listener.close()


# -- TLS -------------------------------------------------------------------------------------


def test_tls_delivers_with_ca_and_host_name_checks(receiver, tls):
    server = receiver("tcp", tls=tls)
    sender = SyslogSender(
        "127.0.0.1", server.port, transport="tls", ca_file=str(tls.ca_bundle), server_name=None
    )
    with sender:
        sender.send_many([b"over tls 1", b"over tls 2\nstill 2"])
        time.sleep(0.05)  # TLS 1.3 session tickets arrive: the stream is readable, yet alive
        sender.send(b"over tls 3")
        assert sender.tls_version in {"TLSv1.2", "TLSv1.3"}
    assert server.wait_for(3) == [b"over tls 1", b"over tls 2\nstill 2", b"over tls 3"]
    assert server.connections == 1


def test_tls_1_2_is_accepted(receiver, tls):
    server = receiver("tcp", tls=tls, tls_versions=(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))
    with SyslogSender("localhost", server.port, transport="tls", ca_file=str(tls.ca_bundle)) as s:
        s.send(b"twelve")
        assert s.tls_version == "TLSv1.2"
    assert server.wait_for(1) == [b"twelve"]


def test_tls_older_than_1_2_is_refused(receiver, tls):
    server = receiver("tcp", tls=tls, tls_versions=(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1))
    sender = SyslogSender("127.0.0.1", server.port, transport="tls", ca_file=str(tls.ca_bundle))
    with pytest.raises(SyslogError) as caught:
        sender.send(b"must not leave")
    assert str(caught.value) == (
        f"could not connect to 127.0.0.1:{server.port} (TLS): the receiver offers only TLS "
        "older than 1.2, which is refused"
    )
    assert server.wait_for(1, timeout=0.3) == []
    # The server does speak TLS 1.1 to a client that allows it: the refusal is ours.
    lax = ssl.create_default_context(cafile=str(tls.ca_bundle))
    lax.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lax.minimum_version = ssl.TLSVersion.TLSv1
    with lax.wrap_socket(
        socket.create_connection(("127.0.0.1", server.port), timeout=5), server_hostname="localhost"
    ) as old:
        assert old.version() == "TLSv1.1"


def test_tls_untrusted_certificate_is_refused_without_falling_back(receiver, tls, other_tls):
    server = receiver("tcp", tls=tls)
    sender = SyslogSender(
        "127.0.0.1", server.port, transport="tls", ca_file=str(other_tls.ca_bundle)
    )
    refused = r"certificate was refused \(self-signed certificate in certificate chain\)"
    with pytest.raises(SyslogError, match=refused):
        sender.send(b"secret")
    assert server.wait_for(1, timeout=0.3) == []


def test_tls_host_name_is_checked(receiver, tls):
    server = receiver("tcp", tls=tls)
    sender = SyslogSender(
        "127.0.0.1",
        server.port,
        transport="tls",
        ca_file=str(tls.ca_bundle),
        server_name="siem.example.org",
    )
    with pytest.raises(SyslogError, match=r"certificate was refused \(Hostname mismatch"):
        sender.send(b"secret")
    assert server.wait_for(1, timeout=0.3) == []


def test_tls_missing_ca_file_is_reported(tmp_path):
    with pytest.raises(SyslogError, match=r"the CA file .*nope\.pem could not be read"):
        SyslogSender("127.0.0.1", 6514, transport="tls", ca_file=str(tmp_path / "nope.pem"))


def test_a_tls_receiver_that_stops_reading_cannot_hang_the_sender(tls):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls.cert), str(tls.key))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    held: list[socket.socket] = []

    def handshake_then_never_read() -> None:
        client, _ = listener.accept()
        held.append(context.wrap_socket(client, server_side=True))

    thread = threading.Thread(target=handshake_then_never_read, daemon=True)
    thread.start()
    try:
        sender = SyslogSender(
            "localhost",
            listener.getsockname()[1],
            transport="tls",
            ca_file=str(tls.ca_bundle),
            timeout=0.5,
            deadline=3,
        )
        started = time.monotonic()
        with pytest.raises(SyslogError, match=r"no answer within 0\.5 seconds|took longer than"):
            sender.send_many(b"x" * 1000 for _ in range(100_000))
        assert time.monotonic() - started < 4
        sender.close()
    finally:
        thread.join(1)
        for sock in held:
            sock.close()
        listener.close()


def test_tls_handshake_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    try:
        sender = SyslogSender("127.0.0.1", listener.getsockname()[1], transport="tls", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(SyslogError, match=r"no answer within 0\.5 seconds"):
            sender.send(b"m")
        assert time.monotonic() - started < 2
    finally:
        thread.join(1)
        for sock in accepted:
            sock.close()
        listener.close()
