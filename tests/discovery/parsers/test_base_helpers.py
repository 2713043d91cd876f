"""The helpers added to parsers/base.py for the vendor parsers."""

from __future__ import annotations

import pytest

from apps.discovery.parsers.base import (
    BadLine,
    epoch,
    guess_year,
    iso_epoch,
    key_values,
    split_csv,
    syslog_message,
    syslog_time,
)


def test_guess_year_puts_a_future_date_last_year():
    jan_5_2021 = epoch(2021, 1, 5)
    assert guess_year(12, 31, now=jan_5_2021) == 2020
    assert guess_year(1, 5, now=jan_5_2021) == 2021
    assert guess_year(1, 6, now=jan_5_2021) == 2021  # within a day: clock skew, not last year


def test_iso_epoch_and_syslog_time():
    assert iso_epoch("2020-06-10T10:02:17.123Z") == 1591783337
    assert iso_epoch("2020-06-10T12:02:17+02:00") == 1591783337
    assert iso_epoch("2020-06-10 10:02:17") == 1591783337
    with pytest.raises(BadLine):
        iso_epoch("10/06/2020")
    assert syslog_time("<14>1 2020-06-10T10:02:17Z host app - - - msg") == 1591783337
    assert syslog_time("<14>1 - host app - - - msg") is None
    assert syslog_time("2020-06-10T10:02:17Z host msg") == 1591783337
    assert syslog_time("plain text") is None


def test_key_values_and_split_csv():
    assert key_values('a=1 b="two words" c="x\\"y" d=') == {
        "a": "1",
        "b": "two words",
        "c": 'x"y',
        "d": "",
    }
    assert split_csv('1,"a, b",c\n') == ["1", "a, b", "c"]
    assert split_csv("1;2", ";") == ["1", "2"]


def test_syslog_message_removes_the_tag_too():
    assert syslog_message("<134>Jun 10 10:07:00 proxy squid[12]: 10.0.0.1 -") == "10.0.0.1 -"
    assert syslog_message("10.0.0.1 - x: y") == "10.0.0.1 - x: y"
