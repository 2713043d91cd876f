"""Fortinet FortiGate (FortiOS) traffic and web-filter logs, key=value.

FortiOS writes each log (to syslog, FortiAnalyzer exports or the disk-log download) as
space-separated `key=value` pairs, strings quoted, e.g. (FortiOS Log Message Reference,
traffic/forward):

    date=2020-06-10 time=10:02:17 eventtime=1591783337123456789 tz="+0000" logid="0000000013"
    type="traffic" subtype="forward" srcip=10.0.5.93 srcport=51234 dstip=162.125.66.18
    dstport=443 action="close" user="alice" hostname="www.dropbox.com" sentbyte=1520
    rcvdbyte=4310 ...

Extracted: time (`eventtime`, in s/ms/us/ns since 1970, which FortiOS 6.2+ writes; else
`date`+`time` corrected by `tz` when present, UTC otherwise), `srcip`, `dstip`, `user` (or
`unauthuser`), `hostname` (or the host of `url`), `sentbyte` (upload), `rcvdbyte` (download);
`action` deny / blocked / block / dropped is a blocked request. Spec 5.2: destination address,
user, source address, total and upload (URL when web filtering adds a hostname).
"""

from __future__ import annotations

from .base import (
    DST_IP,
    SRC_IP,
    TOTAL,
    UPLOAD,
    USER,
    BadLine,
    Parser,
    Record,
    check_ip,
    epoch,
    host_of,
    is_blocked,
    key_values,
    to_int,
    user_of,
)


def _eventtime(value: str) -> int:
    number = int(value)
    while number > 100_000_000_000:  # ms, us or ns -> s
        number //= 1000
    return number


def _date_time(date: str, clock: str, zone: str) -> int:
    year, month, day = date.split("-")
    hour, minute, second = clock.split(":")
    value = epoch(int(year), int(month), int(day), int(hour), int(minute), int(second))
    if zone and zone[0] in "+-" and zone[1:].isdigit():
        sign = -1 if zone[0] == "+" else 1
        value += sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    return value


class FortiGate(Parser):
    """FortiOS key=value traffic and web-filter logs."""

    key = "fortigate"
    label = "Fortinet FortiGate"
    fields = frozenset({DST_IP, USER, SRC_IP, TOTAL, UPLOAD})
    description = "FortiOS traffic/web-filter logs as key=value pairs (FortiOS Log Reference)."

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text or text[0] == "#":
            return None
        values = key_values(text)
        if "srcip" not in values:
            raise BadLine("no srcip= field (not a FortiGate log line)")
        if not values.get("eventtime", "").isdigit() and not (
            "date" in values and "time" in values
        ):
            raise BadLine("no date/time or eventtime field")
        try:
            if values.get("eventtime", "").isdigit():
                ts = _eventtime(values["eventtime"])
            else:
                ts = _date_time(values["date"], values["time"], values.get("tz", ""))
        except (ValueError, IndexError, OverflowError):
            raise BadLine("the date or time is not in the expected format") from None
        src = check_ip(values["srcip"])
        dst = values.get("dstip", "")
        if dst:
            check_ip(dst, "destination address")
        host = host_of(values.get("hostname", "")) or host_of(values.get("url", ""))
        if not host and not dst:
            raise BadLine("no destination address or host name")
        user = user_of(values.get("user", "")) or user_of(values.get("unauthuser", ""))
        return (
            ts,
            src,
            user,
            host,
            dst,
            to_int(values.get("sentbyte", ""), "sentbyte"),
            to_int(values.get("rcvdbyte", ""), "rcvdbyte"),
            is_blocked(values.get("action", "")),
        )
