"""Generic W3C extended log parser."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records_follow_each_fields_directive():
    assert records(make("w3c"), fixture_lines("w3c.log")) == [
        (1591783337, "10.0.5.93", "CONTOSO\\alice", "www.dropbox.com", "162.125.66.18", 1520, 4310, False),
        (1591783380, "10.0.5.95", "", "mega.nz", "31.216.148.11", 310, 0, True),  # s-action Denied
        (1591783440, "2001:db8:10::15", "", "", "2620:117:bff0::1", 640, 9000, False),  # anonymous
        (1591783500, "10.0.5.96", "Carol Smith", "slack.com", "", 512, 2048, False),  # quoted
    ]  # fmt: skip


def test_tab_separated_records():
    parser = make("w3c")
    parser.parse("#Fields: date\ttime\tc-ip\tcs-username\tcs-host\tsc-bytes\tcs-bytes")
    line = "2020-06-10\t10:02:17\t10.0.5.93\tJohn Smith\tBox.com\t10\t20"
    assert parser.parse(line) == (
        1591783337,
        "10.0.5.93",
        "John Smith",
        "box.com",
        "",
        20,
        10,
        False,
    )


def test_bad_lines():
    parser = make("w3c")
    assert bad(parser, "2020-06-10 10:02:17 10.0.5.93") == "a record before any #Fields directive"
    parser.parse("#Fields: date time c-ip cs-host")
    assert bad(parser, "2020-06-10 10:02:17 10.0.5.93 -") == "no destination host or address"
    assert bad(parser, "2020-13-10 10:02:17 10.0.5.93 a.com") == (
        "the date or time is not in the expected format"
    )
    parser.parse("#Fields: time c-ip cs-host")
    assert bad(parser, "10:02:17 10.0.5.93 a.com") == "the #Fields directive has no date and time"
