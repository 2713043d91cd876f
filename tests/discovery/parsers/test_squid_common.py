"""Squid common log format parser."""

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("squid_common"), fixture_lines("squid_common.log")) == [
        (1591783337, "10.0.5.93", "alice@contoso.com", "www.dropbox.com", "", 0, 4310, False),
        (1591783338, "10.0.5.94", "", "app.box.com", "", 0, 1520, False),  # +0200 -> UTC
        (1591783500, "10.0.5.95", "bob", "mega.nz", "", 0, 3987, True),  # TCP_DENIED
        (1591783560, "2001:db8:10::15", "", "www.salesforce.com", "", 0, 77, False),
        (1591783620, "10.0.5.93", "alice@contoso.com", "slack.com", "", 0, 0, False),  # syslog
        (1591783680, "10.0.5.96", "", "example.org", "", 0, 1043, False),  # plain httpd CLF
    ]


def test_bad_lines():
    parser = make("squid_common")
    assert parser.parse("# comment") is None
    assert parser.parse("\n") is None
    assert bad(parser, "hello world") == "not a common log format line"
    line = '10.0.0.300 - - [10/Jun/2020:10:02:17 +0000] "GET http://a.com/ HTTP/1.1" 200 1'
    assert bad(parser, line) == "the source address is not an IP address"
    line = '10.0.0.3 - - [10/Foo/2020:10:02:17 +0000] "GET http://a.com/ HTTP/1.1" 200 1'
    assert bad(parser, line) == "the date or time is not in the expected format"
