"""Generic CEF parser."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from apps.discovery.parsers.cef import extension
from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("cef"), fixture_lines("cef.log")) == [
        (1591783337, "10.0.5.93", "alice@contoso.com", "www.dropbox.com", "162.125.66.18", 1520, 4310, False),
        # syslog header, text rt, request wins over dhost, act blocked
        (1591783380, "10.0.5.95", "LDAP://contoso/bob", "mega.nz", "31.216.148.11", 310, 0, True),
        # escaped | in the header, escaped = and \\ in a value, dhost only, IPv6
        (1591783440, "2001:db8:10::15", "", "app.box.com", "", 640, 9000, False),
        (1591783500, "10.0.5.96", "", "", "13.107.6.152", 0, 0, True),  # start=, act Drop
    ]  # fmt: skip


def test_extension_escapes_and_values_with_spaces():
    assert extension(r"msg=a\=b c d\\e cs1=File Sharing src=10.0.0.1") == {
        "msg": "a=b c d\\e",
        "cs1": "File Sharing",
        "src": "10.0.0.1",
    }


def test_bad_lines():
    parser = make("cef")
    assert bad(parser, "hello") == "no CEF: header"
    assert bad(parser, "CEF:0|a|b|c") == "a CEF header with fewer than 8 fields"
    assert bad(parser, "CEF:0|a|b|1|2|n|3|dst=1.1.1.1 rt=1591783337000") == (
        "no src (source address) in the extension"
    )
    assert bad(parser, "CEF:0|a|b|1|2|n|3|src=10.0.0.1 dst=1.1.1.1") == (
        "no event time (rt, end or start)"
    )
    assert bad(parser, "CEF:0|a|b|1|2|n|3|src=10.0.0.1 dst=1.1.1.1 rt=soon") == (
        "the event time is not in a CEF time format"
    )
