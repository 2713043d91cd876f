"""Generic W3C extended log format (W3C Working Draft WD-logfile, as written by IIS, Microsoft
Forefront TMG, Blue Coat, Barracuda and others).

The `#Fields:` directive names the columns of the records that follow; fields are separated by
spaces (tabs in TMG), strings holding spaces are quoted, "-" is an empty field, and `date time`
are UTC. Fields read (first one present wins):

- time: `date` + `time` (or `x-timestamp`/`gmttime` as epoch seconds);
- source address: `c-ip`; user: `cs-username` (or `cs-user`);
- destination host: `cs-host`, `cs-uri` (full URL), `r-host`, `cs(Host)`, `cs-uri-stem` when it is
  a full URL; destination address: `r-ip`, `s-supplier-ip`, `cs-ip`;
- bytes: `cs-bytes` (client to server, upload) and `sc-bytes` (server to client, download);
- blocked: `sc-filter-result` DENIED/BLOCKED, or `s-action`/`x-action`/`action` holding
  DENIED/BLOCK (e.g. TCP_DENIED), or `x-exception-id` other than "-".

A record before any `#Fields:` directive is refused (the parser cannot know its columns), unless
the subclass gives default fields (Blue Coat).
"""

from __future__ import annotations

import re

from .base import (
    DST_IP,
    SRC_IP,
    TOTAL,
    UPLOAD,
    URL,
    USER,
    BadLine,
    Parser,
    Record,
    cached_time,
    check_ip,
    epoch,
    host_of,
    syslog_message,
    to_int,
)

_TOKENS = re.compile(r'"((?:[^"]|"")*)"|(\S+)')

_HOST_FIELDS = ("cs-host", "cs-uri", "r-host", "cs(host)", "cs-uri-stem")
_DST_FIELDS = ("r-ip", "s-supplier-ip", "cs-ip")
_ACTION_FIELDS = ("s-action", "x-action", "action")


def _date_time(text: str) -> int:
    """`2020-06-10 10:02:17` (W3C date and time, UTC) to seconds."""
    date, _, clock = text.partition(" ")
    year, month, day = date.split("-")
    hour, minute, second = clock.split(":")
    return epoch(int(year), int(month), int(day), int(hour), int(minute), int(float(second)))


def tokens(line: str) -> list[str]:
    """A W3C record's fields: tab separated when the line has tabs, else space separated with
    double-quoted strings (quotes removed)."""
    if "\t" in line:
        return [part.strip().strip('"') for part in line.split("\t")]
    if '"' not in line:
        return line.split()
    return [
        quoted.replace('""', '"') if plain == "" else plain
        for quoted, plain in _TOKENS.findall(line)
    ]


class W3C(Parser):
    """W3C extended records, read by the names of the last #Fields directive."""

    key = "w3c"
    label = "Generic W3C extended log"
    fields = frozenset({URL, DST_IP, USER, SRC_IP, TOTAL, UPLOAD})
    description = "W3C Extended Log File Format (w3.org/TR/WD-logfile) with a #Fields directive."
    default_fields: tuple[str, ...] = ()

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self._time = cached_time(_date_time)
        self._columns: dict[str, int] | None = None
        if self.default_fields:
            self._use(self.default_fields)

    def _use(self, names) -> None:
        self._columns = {name.lower(): index for index, name in enumerate(names)}

    def _find(self, names) -> int | None:
        for name in names:
            index = self._columns.get(name)
            if index is not None:
                return index
        return None

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text:
            return None
        if text[0] != "#" and not text[0].isdigit():
            text = syslog_message(text).strip()
        if text.startswith("#"):
            if text[1:8].lower() == "fields:":
                self._use(text[8:].split())
            return None
        if self._columns is None:
            raise BadLine("a record before any #Fields directive")
        values = tokens(text)
        columns = self._columns
        if len(values) < len(columns):
            raise BadLine("fewer fields than the #Fields directive names")

        def get(*names: str) -> str:
            index = self._find(names)
            if index is None:
                return ""
            value = values[index]
            return "" if value == "-" else value

        if "date" in columns and "time" in columns:
            ts = self._time(f"{values[columns['date']]} {values[columns['time']]}")
        else:
            raw = get("x-timestamp", "gmttime", "timestamp")
            if not raw:
                raise BadLine("the #Fields directive has no date and time")
            ts = int(to_int(raw.partition(".")[0], "the timestamp"))
        src = get("c-ip")
        if not src:
            raise BadLine("no client address (c-ip)")
        check_ip(src)
        host = ""
        for name in _HOST_FIELDS:
            host = host_of(get(name))
            if host and (name != "cs-uri-stem" or "://" in get(name)):
                break
            host = ""
        dst = get(*_DST_FIELDS)
        if dst:
            check_ip(dst, "destination address")
        if not host and not dst:
            raise BadLine("no destination host or address")
        verdict = get("sc-filter-result").upper()
        action = get(*_ACTION_FIELDS).upper()
        blocked = (
            verdict in ("DENIED", "BLOCKED")
            or "DENIED" in action
            or "BLOCK" in action
            or bool(get("x-exception-id"))
        )
        user = get("cs-username", "cs-user")
        if user.lower() == "anonymous":  # IIS/TMG write this for unauthenticated requests
            user = ""
        return (
            ts,
            src,
            user,
            host,
            dst,
            to_int(get("cs-bytes"), "cs-bytes"),
            to_int(get("sc-bytes"), "sc-bytes"),
            blocked,
        )
