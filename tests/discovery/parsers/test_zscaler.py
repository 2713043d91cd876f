"""Zscaler NSS web log (CSV) parser."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_fixture_records():
    assert records(make("zscaler"), fixture_lines("zscaler.csv")) == [
        (1591783337, "10.0.5.93", "alice@contoso.com", "www.dropbox.com", "162.125.66.18", 1520, 4310, False),
        (1591783380, "10.0.5.95", "bob@contoso.com", "mega.nz", "31.216.148.11", 310, 0, True),
        # a doubled quote inside a value: read through the csv module
        (1591783440, "2001:db8:10::15", "carol@contoso.com", "app.box.com", "2620:117:bff0::1", 640, 9000, False),
        # no user, no server address ("None"), a comma inside a quoted value, a padded day
        (1591174800, "10.0.5.96", "", "slack.com", "", 100, 200, False),
    ]  # fmt: skip


def test_syslog_header_is_tolerated():
    line = fixture_lines("zscaler.csv")[0]
    assert make("zscaler").parse(f"<134>Jun 10 10:02:17 nss-01 {line}")[:4] == (
        1591783337, "10.0.5.93", "alice@contoso.com", "www.dropbox.com"
    )  # fmt: skip


def test_bad_lines():
    parser = make("zscaler")
    good = fixture_lines("zscaler.csv")[0].strip()
    fields = good[1:-1].split('","')
    assert bad(parser, '"a","b"') == "fewer than 31 CSV fields"
    assert bad(parser, '"a","b' + '","x' * 40) == "the line's quotes are not balanced"

    def with_field(index, value):
        changed = list(fields)
        changed[index] = value
        return '"' + '","'.join(changed) + '"'

    assert (
        bad(parser, with_field(0, "yesterday")) == "the date or time is not in the expected format"
    )
    assert bad(parser, with_field(19, "laptop")) == "the client address (cip) is not an IP address"
    assert bad(parser, with_field(7, "lots")) == "reqsize or respsize is not a number"
    assert bad(parser, with_field(3, "").replace("162.125.66.18", "None")) == (
        "no destination host or address"
    )
