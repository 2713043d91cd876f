"""Cisco ASA syslog parser."""

from __future__ import annotations

import time

from apps.discovery.parsers.base import epoch, guess_year
from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("cisco_asa"), fixture_lines("cisco_asa.log")) == [
        # 302013 Built is not a record; its Teardown is, with the bytes
        (1591783367, "10.0.5.93", "", "", "162.125.66.18", 0, 5830, False),
        (1591783380, "10.0.5.95", "", "", "31.216.148.11", 0, 0, True),  # 106023 Deny
        (1591783440, "10.0.5.94", "", "", "8.8.8.8", 0, 212, False),  # UDP, syslog header
        (1591783500, "10.0.5.96", "", "", "13.107.6.152", 0, 9000, False),  # well-known port side
        (1591783560, "2001:db8:10::15", "", "", "2620:117:bff0::1", 0, 9640, False),
        (1591783620, "198.51.100.7", "", "", "203.0.113.5", 0, 0, True),  # 106001 denied
    ]  # 111008 (a command) is not a record


def test_rfc3164_header_without_year():
    line = (
        "<166>Jun 10 10:02:47 asa-hq %ASA-6-302014: Teardown TCP connection 1 for "
        "outside:1.1.1.1/443 to inside:10.0.0.1/50000 duration 0:00:01 bytes 10 TCP FINs"
    )
    year = guess_year(6, 10)
    assert year in (time.gmtime().tm_year, time.gmtime().tm_year - 1)
    assert make("cisco_asa").parse(line)[0] == epoch(year, 6, 10, 10, 2, 47)


def test_bad_lines():
    parser = make("cisco_asa")
    assert bad(parser, "Jun 10 2020 10:02:47: hello") == "no %ASA- message tag"
    assert bad(parser, "Jun 10 2020 10:02:47: %ASA-6-302014: Teardown nonsense") == (
        "a Teardown message in an unexpected layout"
    )
    assert bad(parser, "%ASA-4-106023: Deny tcp src in:10.0.0.1/1 dst out:1.1.1.1/2 by x") == (
        "no timestamp before the %ASA message"
    )
