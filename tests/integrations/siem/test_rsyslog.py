"""T23/T24 with a real receiver: CEF lines sent to rsyslog over UDP, TCP (imtcp and imptcp,
octet counting) and TLS (gtls, RFC 5425) arrive byte for byte and parse with `cefp` back to the
fields we sent; a receiver restart mid-stream loses nothing."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil

import cefp
import pytest

from apps.integrations.siem.cef import CefActivity, CefAlert, CefEvent, CefFormatter
from apps.integrations.siem.syslog import (
    SyslogError,
    SyslogFormat,
    SyslogSender,
    TimeFormat,
    syslog_severity,
)
from tests.fakes.tls import make_tls

from .rsyslog import Rsyslog, rsyslogd_or_skip
from .test_cef import SAMPLES, event_from_sample

PIECES = ["|", "\\", "=", "\n", "\r", " ", "caf\u00e9", "\u65e5\u672c", "\U0001f512", "a=b", "x"]


@pytest.fixture(scope="module")
def rsyslog(tmp_path_factory):
    binary = rsyslogd_or_skip()
    directory = tmp_path_factory.mktemp("rsyslog")
    receiver = Rsyslog(binary, directory, make_tls(directory / "pki"))
    receiver.start()
    yield receiver
    receiver.stop()


def nasty(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))).strip()


def events(count: int, seed: int) -> list[CefEvent]:
    rng = random.Random(seed)
    base = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    made: list[CefEvent] = []
    for n in range(count):
        common = {
            "id": f"{n:08d}-0000-4000-8000-{seed:012d}",
            "timestamp": base + dt.timedelta(seconds=n, milliseconds=rng.randint(0, 999)),
            "description": nasty(rng),
            "user": f"{nasty(rng)}@alpha.test",
            "app_name": nasty(rng),
            "app_ids": [nasty(rng), "APPID_BOX"],
            "portal_url": f"https://casb.example/t/alpha/a?id={n}",
            "policy_ids": [nasty(rng)],
        }
        if n % 2:
            made.append(
                CefAlert(
                    **common,
                    alert_type=f"ALERT_{nasty(rng)}",
                    policy_name=nasty(rng),
                    severity=rng.randint(0, 10),
                    risk_score=rng.randint(0, 100),
                    client_ip=f"198.51.100.{n % 250}",
                )
            )
        else:
            made.append(
                CefActivity(
                    **common,
                    category="EVENT_CATEGORY_DOWNLOAD_FILE",
                    action=nasty(rng),
                    user_agent=nasty(rng),
                    target_objects=[nasty(rng), nasty(rng)],
                    client_ip=f"2001:db8::{n:x}",
                )
            )
    return made


FORMATS = {
    # The reference product's layout (no PRI, RFC 5424 time), as in the spec's samples.
    "tcp": SyslogFormat(time_format=TimeFormat.RFC5424),
    # A full RFC 5424 header.
    "ptcp": SyslogFormat(app_name="opencasb", hostname="casb-host", facility=20),
    "udp": SyslogFormat(time_format=TimeFormat.RFC3164, include_pri=True, hostname="casb-host"),
    "tls": SyslogFormat(time_format=TimeFormat.RFC3164_YEAR, include_pri=True, hostname="casb"),
}


def deliver(rsyslog: Rsyslog, name: str, evts: list[CefEvent], formatter: CefFormatter, **kw):
    syslog = FORMATS[name]
    messages = [
        syslog.frame(
            formatter.format(e),
            timestamp=e.timestamp,
            severity=syslog_severity(formatter.header(e)[2]),
        )
        for e in evts
    ]
    transport = {"udp": "udp", "tls": "tls"}.get(name, "tcp")
    with SyslogSender("127.0.0.1", rsyslog.ports[name], transport=transport, **kw) as sender:
        sender.send_many(messages)
    return [m.decode() for m in messages]


def check_parsed(lines: list[str], evts: list[CefEvent], formatter: CefFormatter) -> None:
    for line, event in zip(lines, evts, strict=True):
        parsed = cefp.parse(line[line.index("CEF:0|") :])
        assert parsed["extension"] == dict(formatter.fields(event))
        signature, name, severity = formatter.header(event)
        assert parsed["device"]["event_class_id"] == signature.replace("\n", " ").replace("\r", " ")
        assert parsed["name"] == name.replace("\n", " ").replace("\r", " ")
        assert parsed["severity"] == str(severity)


@pytest.mark.parametrize("name", ["tcp", "ptcp"])
def test_tcp_octet_counted_lines_arrive_intact(rsyslog, name):
    formatter = CefFormatter()
    evts = events(300, seed=1 if name == "tcp" else 2)
    sent = deliver(rsyslog, name, evts, formatter)
    received = rsyslog.wait_for(name, len(sent))
    assert received == sent
    check_parsed(received, evts, formatter)


def test_udp_lines_arrive_intact(rsyslog):
    formatter = CefFormatter()
    evts = events(100, seed=3)
    sent = deliver(rsyslog, "udp", evts, formatter)
    received = rsyslog.wait_for("udp", len(sent))
    assert sorted(received) == sorted(sent)  # loopback UDP, no loss expected
    by_line = dict(zip(sent, evts, strict=True))
    check_parsed(received, [by_line[line] for line in received], formatter)


def test_tls_lines_arrive_intact(rsyslog):
    formatter = CefFormatter()
    evts = events(200, seed=4)
    ca = str(rsyslog.directory / "pki" / "ca.pem")
    sent = deliver(rsyslog, "tls", evts, formatter, ca_file=ca, server_name="localhost")
    received = rsyslog.wait_for("tls", len(sent))
    assert received == sent
    check_parsed(received, evts, formatter)


def test_tls_to_rsyslog_with_an_unknown_ca_sends_nothing(rsyslog, tmp_path):
    other = make_tls(tmp_path / "other")
    before = len(rsyslog.read("tls"))
    sender = SyslogSender(
        "127.0.0.1", rsyslog.ports["tls"], transport="tls", ca_file=str(other.ca_bundle)
    )
    with pytest.raises(SyslogError, match="certificate was refused"):
        sender.send(b"<134>Nov 28 2026 12:00:00 casb CEF:0|x|y|1|s|n|0|msg=secret")
    assert len(rsyslog.wait_for("tls", before + 1, timeout=0.5)) == before


def test_reference_samples_survive_rsyslog_byte_for_byte(rsyslog):
    before = rsyslog.read("tcp")
    sent: list[str] = []
    with SyslogSender("127.0.0.1", rsyslog.ports["tcp"]) as sender:
        for line in SAMPLES:
            event, version, host, _ = event_from_sample(line)
            cef = CefFormatter(version=version, reference_compat=True).format(event)
            framed = SyslogFormat(hostname=host).frame(cef, timestamp=event.timestamp)
            sender.send(framed)
            sent.append(framed.decode())
    assert sent == SAMPLES
    assert rsyslog.wait_for("tcp", len(before) + len(SAMPLES))[len(before) :] == SAMPLES


def test_octet_counting_keeps_a_raw_line_break_in_one_record(rsyslog):
    before = len(rsyslog.read("tcp"))
    with SyslogSender("127.0.0.1", rsyslog.ports["tcp"]) as sender:
        sender.send(b"<134>Nov 28 12:00:00 casb first line\nsecond line")
    assert rsyslog.wait_for("tcp", before + 1)[before:] == [
        "<134>Nov 28 12:00:00 casb first line#012second line"
    ]


def test_receiver_restart_mid_stream_loses_nothing(rsyslog):
    formatter = CefFormatter()
    evts = events(100, seed=5)
    syslog = FORMATS["ptcp"]
    messages = [syslog.frame(formatter.format(e), timestamp=e.timestamp) for e in evts]
    before = len(rsyslog.read("ptcp"))
    sender = SyslogSender("127.0.0.1", rsyslog.ports["ptcp"], timeout=2)
    try:
        sender.send_many(messages[:50])
        assert len(rsyslog.wait_for("ptcp", before + 50)) == before + 50
        rsyslog.stop()
        with pytest.raises(SyslogError, match="connection was refused"):
            sender.send(messages[50])
        rsyslog.start()
        sender.send_many(messages[50:])  # the caller resends from its cursor
    finally:
        sender.close()
    received = rsyslog.wait_for("ptcp", before + 100)[before:]
    assert received == [m.decode() for m in messages]


def test_missing_rsyslogd_skips_but_fails_under_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda *args: False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"rsyslogd is not installed.*CI=true requires"):
        rsyslogd_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="rsyslogd is not installed"):
        rsyslogd_or_skip()
