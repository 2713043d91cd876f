"""Check Point parser (Log Exporter syslog and key=value)."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("checkpoint"), fixture_lines("checkpoint.log")) == [
        (1591783337, "10.0.5.93", "", "", "162.125.66.18", 0, 0, False),
        (1591783380, "10.0.5.95", "", "", "31.216.148.11", 0, 0, True),  # Drop
        (1591783440, "2001:db8:10::15", "", "", "2620:117:bff0::1", 0, 0, False),
        (1591783500, "10.0.5.94", "", "", "104.16.100.29", 0, 0, True),  # key=value, Reject
    ]  # the management log-in line is not a record


def test_time_from_the_syslog_header_when_no_time_field():
    line = '<134>1 2020-06-10T12:02:17+02:00 gw CheckPoint 1 - [action:"Accept"; src:"10.0.0.1"; dst:"1.1.1.1"]'
    assert make("checkpoint").parse(line)[0] == 1591783337


def test_bad_lines():
    parser = make("checkpoint")
    assert bad(parser, "nothing here") == "no Check Point fields (action, src)"
    assert bad(parser, 'action="Accept" src="pc-1" dst="1.1.1.1" time="1"') == (
        "the source address is not an IP address"
    )
    assert bad(parser, 'action="Accept" src="10.0.0.1" dst="1.1.1.1"') == (
        "no time field and no syslog time"
    )
