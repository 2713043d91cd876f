"""FortiGate key=value parser."""

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("fortigate"), fixture_lines("fortigate.log")) == [
        # eventtime in nanoseconds wins over date/time
        (1591783337, "10.0.5.93", "alice", "www.dropbox.com", "162.125.66.18", 1520, 4310, False),
        # no eventtime: date/time with tz="+0200", action deny
        (1591783380, "10.0.5.95", "", "", "31.216.148.11", 0, 0, True),
        # web filter, syslog PRI, unauthuser, action blocked, host from hostname
        (1591783440, "10.0.5.94", "bob", "wetransfer.com", "104.16.100.29", 517, 0, True),
        # eventtime in microseconds, IPv6
        (1591783500, "2001:db8:10::15", "", "", "2620:117:bff0::1", 640, 9000, False),
    ]


def test_bad_lines():
    parser = make("fortigate")
    assert bad(parser, "some text") == "no srcip= field (not a FortiGate log line)"
    assert bad(parser, "srcip=10.0.0.1 dstip=1.1.1.1") == "no date/time or eventtime field"
    assert bad(parser, "date=2020-06-10 time=25h srcip=10.0.0.1") == (
        "the date or time is not in the expected format"
    )
    assert bad(parser, "eventtime=1591783337 srcip=host1 dstip=1.1.1.1") == (
        "the source address is not an IP address"
    )
    assert bad(parser, "eventtime=1591783337 srcip=10.0.0.1") == (
        "no destination address or host name"
    )
    assert bad(parser, "eventtime=1591783337 srcip=10.0.0.1 dstip=1.1.1.1 sentbyte=x") == (
        "sentbyte is not a number"
    )
