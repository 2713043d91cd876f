"""Cisco IronPort WSA access log parser."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from tests.discovery.helpers import squid_line
from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("cisco_ironport_wsa"), fixture_lines("cisco_ironport_wsa.log")) == [
        (1591783337, "10.0.5.93", "alice", "www.dropbox.com", "162.125.66.18", 0, 4310, False),
        (1591783380, "10.0.5.95", "bob", "mega.nz", "", 0, 0, True),  # BLOCK_WEBCAT
        (1591783440, "10.0.5.94", "", "app.box.com", "", 0, 1520, False),  # upstream is a name
        (1591783500, "2001:db8:10::15", "carol@contoso.com", "login.salesforce.com", "2001:db8:99::5", 0, 9000, False),
    ]  # fmt: skip


def test_bad_lines():
    parser = make("cisco_ironport_wsa")
    assert bad(parser, squid_line()) == "fewer than 11 fields (no ACL decision tag)"
    line = fixture_lines("cisco_ironport_wsa.log")[0]
    assert bad(parser, line.replace("DEFAULT_CASE_12", "default")) == (
        "the 11th field is not a WSA ACL decision tag"
    )
    assert bad(parser, line.replace("1591783337.123", "yesterday")) == (
        "the first field is not a Unix time"
    )
    assert bad(parser, line.replace(" 10.0.5.93 ", " pc-1 ")) == (
        "the source address is not an IP address"
    )
