"""Generic LEEF (1.0 and 2.0) parser."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from apps.discovery.parsers.leef import java_format
from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("leef"), fixture_lines("leef.log")) == [
        # LEEF 1.0, tabs, devTime with devTimeFormat
        (1591783337, "10.0.5.93", "alice@contoso.com", "www.dropbox.com", "162.125.66.18", 1520, 4310, False),
        # LEEF 2.0 with ^ as delimiter, a +0200 offset, syslog header
        (1591783380, "10.0.5.95", "bob", "mega.nz", "31.216.148.11", 310, 0, True),
        # LEEF 2.0 with a hex delimiter (x09), epoch ms devTime, totalBytes only, IPv6
        (1591783440, "2001:db8:10::15", "", "app.box.com", "", 0, 9640, False),
        # no devTime: the RFC 5424 header's time
        (1591783500, "10.0.5.96", "", "", "13.107.6.152", 100, 200, True),
    ]  # fmt: skip


def test_java_date_format():
    assert java_format("MMM dd yyyy HH:mm:ss.SSS") == "%b %d %Y %H:%M:%S.%f"
    assert java_format("yyyy-MM-dd'T'HH:mm:ssZ") == "%Y-%m-%dT%H:%M:%S%z"


def test_bad_lines():
    parser = make("leef")
    assert bad(parser, "hello") == "no LEEF: header"
    assert bad(parser, "LEEF:1.0|a|b|c") == "a LEEF 1.0 header with fewer than 5 fields"
    assert bad(parser, "LEEF:2.0|a|b|c|d|") == "a LEEF 2.0 header with fewer than 6 fields"
    assert bad(parser, "LEEF:1.0|a|b|c|d|dst=1.1.1.1") == "no src (source address) attribute"
    assert bad(parser, "LEEF:1.0|a|b|c|d|src=10.0.0.1\tdst=1.1.1.1") == (
        "no devTime attribute and no syslog time"
    )
    line = "LEEF:1.0|a|b|c|d|src=10.0.0.1\tdst=1.1.1.1\tdevTime=x\tdevTimeFormat=yyyy-MM-dd"
    assert bad(parser, line) == "the date or time is not in the expected format"
