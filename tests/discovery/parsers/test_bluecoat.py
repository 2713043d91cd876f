"""Blue Coat ProxySG (W3C ELFF) parser."""

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("bluecoat"), fixture_lines("bluecoat.log")) == [
        (1591783337, "10.0.5.93", "alice", "www.dropbox.com", "", 1520, 4310, False),
        (1591783380, "10.0.5.94", "", "app.box.com", "", 2200, 8800, False),
        (1591783440, "10.0.5.95", "bob", "mega.nz", "", 300, 512, True),  # DENIED
        (1591783500, "2001:db8:10::15", "", "login.salesforce.com", "", 640, 2048, False),
    ]


def test_syslog_line_without_fields_directive_uses_bcreportermain_v1():
    line = (
        "<134>Jun 10 10:02:17 sg-hq 2020-06-10 10:02:17 120 10.0.5.93 alice - - OBSERVED "
        '"Storage" - 200 TCP_NC_MISS POST application/json https www.dropbox.com 443 /upload - - '
        '"Mozilla/5.0 (X11)" 192.168.1.2 4310 1520 -'
    )
    assert make("bluecoat").parse(line) == (
        1591783337, "10.0.5.93", "alice", "www.dropbox.com", "", 1520, 4310, False
    )  # fmt: skip


def test_bad_lines():
    parser = make("bluecoat")
    assert bad(parser, "2020-06-10 10:02:17 120 10.0.5.93") == (
        "fewer fields than the #Fields directive names"
    )
    parser.parse("#Fields: date time c-ip cs-host sc-bytes cs-bytes")
    assert bad(parser, "2020-06-10 10:02:17 nobody www.a.com 1 2") == (
        "the source address is not an IP address"
    )
    assert bad(parser, "2020-06-10 10:02:17 10.0.0.1 www.a.com many 2") == (
        "sc-bytes is not a number"
    )
