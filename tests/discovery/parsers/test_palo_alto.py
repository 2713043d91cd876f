"""Palo Alto Networks parser: CSV export with a header, and syslog (positional fields)."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records

JUN10, JUN9, JUN8 = 1591747200, 1591660800, 1591574400


def test_spec_sample_csv_export():
    got = records(make("palo_alto"), fixture_lines("palo_alto.csv"))
    assert len(got) == 8
    assert got[0] == (
        JUN10,
        "10.0.5.93",
        "Jovani@contoso.com",
        "www.clearbooks.co.uk",
        "",
        2727,
        3306,
        False,
    )
    assert got[3][:3] == (JUN9, "10.0.10.178", "Cindy@contoso.com")
    assert got[4][0] == JUN8
    assert [r[3] for r in got[5:]] == ["mc.tune.com", "insights.newrelic.com", "www.xero.com"]  # fmt: skip


def test_syslog_traffic_and_url_logs():
    assert records(make("palo_alto"), fixture_lines("palo_alto_syslog.log")) == [
        (1591783337, "10.0.5.93", "contoso\\alice", "", "162.125.66.18", 1520, 4310, False),
        (1591783380, "10.0.5.95", "", "", "31.216.148.11", 74, 0, True),  # action deny
        (
            1591783440,
            "10.0.5.94",
            "contoso\\bob",
            "contoso-my.sharepoint.com",
            "13.107.6.152",
            0,
            0,
            False,
        ),
        (1591783500, "2001:db8:10::15", "", "", "2620:117:bff0::1", 640, 9000, False),
    ]  # fmt: skip  (the SYSTEM log is not a record)


def test_export_with_destination_and_quoted_fields():
    parser = make("palo_alto")
    header = '"Receive Time","Source address","Destination address","Action","Bytes"'
    assert parser.parse(header) is None
    line = '"2020/06/10 10:02:17","10.0.5.93","162.125.66.18","reset-both","900"'
    assert parser.parse(line) == (1591783337, "10.0.5.93", "", "", "162.125.66.18", 0, 900, True)


def test_bad_lines():
    parser = make("palo_alto")
    assert bad(parser, "hello, world") == "the fourth field is not a PAN-OS log type"
    assert (
        bad(parser, "1,2020/06/10 10:02:17,0128,TRAFFIC,end") == "fewer than 31 PAN-OS log fields"
    )
    parser.parse("Generate Time,Source address,URL")
    assert bad(parser, "2020/06/10 00:00:00,10.0.5.900,a.com") == (
        "the source address is not an IP address"
    )
    assert (
        bad(parser, "2020-06-10,10.0.5.9,a.com") == "the date or time is not in the expected format"
    )
    assert bad(parser, "2020/06/10 00:00:00,10.0.5.9,") == "no destination address or URL"
