"""Juniper SRX structured-syslog parser."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("juniper_srx"), fixture_lines("juniper_srx.log")) == [
        (1591783367, "10.0.5.93", "", "", "162.125.66.18", 1520, 4310, False),  # CLOSE
        (1591783380, "10.0.5.95", "", "", "31.216.148.11", 0, 0, True),  # DENY, +02:00 time
        (1591783500, "2001:db8:10::15", "carol", "", "2620:117:bff0::1", 640, 9000, False),
    ]  # SESSION_CREATE is not a record


def test_bad_lines():
    parser = make("juniper_srx")
    assert bad(parser, "hello") == "not a Junos RT_FLOW message"
    assert bad(parser, "<14>1 2020-06-10T10:02:17Z srx RT_FLOW - RT_FLOW_SESSION_CLOSE x") == (
        "no structured data (use the sd-syslog log format)"
    )
    assert bad(
        parser, '<14>1 - srx RT_FLOW - RT_FLOW_SESSION_CLOSE [j source-address="10.0.0.1"]'
    ) == ("no source-address or destination-address")
    line = '<14>1 - srx RT_FLOW - RT_FLOW_SESSION_DENY [j source-address="10.0.0.1" destination-address="1.1.1.1"]'
    assert bad(parser, line) == "no time in the syslog header"
