"""Generic ArcSight Common Event Format (CEF), from a file or syslog.

Micro Focus "ArcSight Common Event Format (CEF) Implementation Standard":

    CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension

e.g. `CEF:0|Menlo Security|MSIP|2.0|web|Web request|1|rt=1591783337000 src=10.0.5.93
suser=alice dst=162.125.66.18 request=https://www.dropbox.com/upload act=allowed out=1520
in=4310`. In the header `\\|` and `\\\\` are escapes; the extension is `key=value` pairs separated
by spaces, a value running to the next ` key=` (so values may hold spaces), with `\\=`, `\\\\`,
`\\n`, `\\r` escaped. Anything before `CEF:` (a syslog header) is ignored.

Extracted: time `rt` (else `end`, else `start`): milliseconds since 1970 or
`MMM dd yyyy HH:mm:ss[.SSS]` (UTC), falling back to the syslog header's time; `src`; `suser`
(else `duser`); `request` (the URL: its host), else `dhost`; `dst`; `out` (bytes sent by the
source: upload) and `in` (download); `act` (blocked, denied, dropped, ... = blocked).
"""

from __future__ import annotations

import re

from .base import (
    DST_IP,
    MONTHS,
    SRC_IP,
    TOTAL,
    UPLOAD,
    URL,
    USER,
    BadLine,
    Parser,
    Record,
    check_ip,
    checked_epoch,
    host_of,
    is_blocked,
    syslog_time,
    to_int,
)

_HEADER_SPLIT = re.compile(r"(?<!\\)\|")
_EXT_KEY = re.compile(r"(?:^|(?<= ))([A-Za-z0-9_.\[\]-]+)=")
_TEXT_TIME = re.compile(r"([A-Z][a-z]{2}) (\d{1,2}) (\d{4}) (\d\d):(\d\d):(\d\d)")


def unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            nxt = value[index + 1]
            out.append({"n": "\n", "r": "\r"}.get(nxt, nxt))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def extension(text: str) -> dict[str, str]:
    """CEF extension pairs; `=` escaped as `\\=` never starts a key."""
    found: dict[str, str] = {}
    matches = [m for m in _EXT_KEY.finditer(text) if not _escaped(text, m.end() - 1)]
    for number, match in enumerate(matches):
        end = matches[number + 1].start() if number + 1 < len(matches) else len(text)
        found[match.group(1)] = unescape(text[match.end() : end].rstrip(" "))
    return found


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index > 0 and text[index - 1] == "\\":
        slashes += 1
        index -= 1
    return slashes % 2 == 1


def event_time(value: str) -> int:
    """A CEF/LEEF time: ms since 1970 (or seconds), or `MMM dd yyyy HH:mm:ss`."""
    value = value.strip()
    if value.isdigit():
        number = int(value)
        return number // 1000 if number > 100_000_000_000 else number
    match = _TEXT_TIME.match(value)
    if match and match.group(1) in MONTHS:
        name, day, year, hour, minute, second = match.groups()
        return checked_epoch(int(year), MONTHS[name], int(day), int(hour), int(minute), int(second))
    raise BadLine("the event time is not in a CEF time format")


class Cef(Parser):
    """Any CEF event with a source address and a destination."""

    key = "cef"
    label = "Generic CEF"
    fields = frozenset({URL, DST_IP, USER, SRC_IP, TOTAL, UPLOAD})
    description = "ArcSight Common Event Format (CEF Implementation Standard), file or syslog."

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text or text[0] == "#":
            return None
        start = text.find("CEF:")
        if start < 0:
            raise BadLine("no CEF: header")
        header = _HEADER_SPLIT.split(text[start:], 7)
        if len(header) < 8:
            raise BadLine("a CEF header with fewer than 8 fields")
        values = extension(header[7])
        src = values.get("src", "")
        if not src:
            raise BadLine("no src (source address) in the extension")
        check_ip(src)
        dst = values.get("dst", "")
        if dst:
            check_ip(dst, "destination address")
        host = host_of(values.get("request", "")) or host_of(values.get("dhost", ""))
        if not host and not dst:
            raise BadLine("no destination (request, dhost or dst)")
        stamp = values.get("rt") or values.get("end") or values.get("start")
        if stamp:
            ts = event_time(stamp)
        else:
            ts = syslog_time(text[:start])
            if ts is None:
                raise BadLine("no event time (rt, end or start)")
        act = values.get("act", "")
        return (
            ts,
            src,
            values.get("suser") or values.get("duser") or "",
            host,
            dst,
            to_int(values.get("out", ""), "out"),
            to_int(values.get("in", ""), "in"),
            is_blocked(act),
        )
