"""The tenant-defined custom parser."""

# ruff: noqa: E501 (one expected record per line reads best)

from __future__ import annotations

from tests.discovery.parsers.util import bad, fixture_lines, make, records


def test_spec_sample_rows_wider_than_the_header_are_read_from_both_ends():
    # The sample's rows have 15 fields, its header 13: two unnamed columns in the middle.
    assert records(make("custom"), fixture_lines("custom_sample.csv")) == [
        (1490096523, "10.4.18.55", "", "dropbox.com", "", 0, 8, False),
        (1490182923, "10.4.194.11", "", "box.com", "", 0, 8, False),
        (1490269323, "10.4.194.11", "", "mega.com", "", 0, 8, False),
        (1491046923, "172.29.3.2", "", "mega.com", "", 0, 8, False),
    ]


def test_tab_delimited_with_every_field_and_blocked_term():
    parser = make(
        "custom",
        delimiter="tab",
        timestamp_column="when",
        timestamp_format="epoch",
        src_ip_column="client",
        user_column="who",
        host_column="site",
        dst_ip_column="server",
        bytes_up_column="up",
        bytes_down_column="down",
        bytes_total_column="",
        action_column="verdict",
        blocked_term="Blocked",
    )
    assert records(parser, fixture_lines("custom_blocked.tsv")) == [
        (1591783337, "10.0.5.93", "alice", "www.dropbox.com", "162.125.66.18", 1520, 4310, False),
        (1591783380, "10.0.5.95", "", "mega.nz", "31.216.148.11", 310, 0, True),
        (1591783440, "2001:db8:10::15", "carol", "app.box.com", "2620:117:bff0::1", 640, 9000, False),
    ]  # fmt: skip


def test_positions_without_header_and_epoch_ms():
    parser = make(
        "custom",
        delimiter=";",
        has_header=False,
        timestamp_column="1",
        timestamp_format="epoch_ms",
        src_ip_column="2",
        host_column="3",
        dst_ip_column="",
        bytes_total_column="4",
        action_column="",
    )
    assert parser.parse("1591783337123;10.0.0.1;https://Box.com/x;99") == (
        1591783337, "10.0.0.1", "", "box.com", "", 0, 99, False
    )  # fmt: skip
    assert bad(parser, "1591783337123;10.0.0.1") == "the row has no column 3"


def test_trailing_empty_fields_are_ignored_and_short_rows_skipped():
    parser = make("custom")
    parser.parse("Timestamp,src,dst,total,Action")
    assert parser.parse("21/03/2017 11:42:03 AM,10.0.0.1,1.1.1.1,5,Accept,,")[1:] == (
        "10.0.0.1", "", "", "1.1.1.1", 0, 5, False
    )  # fmt: skip
    assert bad(parser, "21/03/2017 11:42:03 AM,10.0.0.1") == "fewer fields than the header"
    assert parser.parse("Timestamp,src,dst,total,Action") is None  # a repeated header


def test_column_names_are_case_sensitive():
    parser = make("custom", src_ip_column="SRC")
    lines = fixture_lines("custom_sample.csv")
    assert parser.parse(lines[0]) is None
    assert bad(parser, lines[1]) == (
        "the header has no column 'SRC' (see the custom parser's columns)"
    )


def test_bad_values():
    parser = make("custom")
    parser.parse("Timestamp,src,dst,total,Action")
    assert bad(parser, "21/03/2017 11:42:03,10.0.0.1,a.com,5,Accept") == (
        "the date or time is not in the expected format"
    )
    assert bad(parser, "21/03/2017 11:42:03 AM,pc-1,a.com,5,Accept") == (
        "the source address is not an IP address"
    )
    assert bad(parser, "21/03/2017 11:42:03 AM,10.0.0.1,a.com,five,Accept") == (
        "total bytes is not a number"
    )
    assert bad(parser, "21/03/2017 11:42:03 AM,10.0.0.1,,5,Accept") == (
        "no destination host or address"
    )
