"""Generic IBM QRadar Log Event Extended Format (LEEF) 1.0 and 2.0, from a file or syslog.

IBM "Log Event Extended Format (LEEF)" reference:

    LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value...
    LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|key=value<d>key=value...

LEEF 1.0 separates attributes with a tab; 2.0 names its delimiter in the sixth header field, as
the character itself or as hex (`x09`, `0x5E`); an empty one means tab. Anything before `LEEF:`
(a syslog header) is ignored. Predefined keys extracted: `devTime` read with `devTimeFormat`
(a Java SimpleDateFormat pattern; without one, `MMM dd yyyy HH:mm:ss` or milliseconds since
1970), else the syslog header's time; `src`; `usrName`; `url` (its host), else `dhost`; `dst`;
`srcBytes` (upload) and `dstBytes` (download), or `totalBytes` alone (download); `action`
(blocked, denied, dropped, ... = blocked). Times without a zone are UTC.
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
    host_of,
    is_blocked,
    strptime_checked,
    syslog_time,
    to_int,
)
from .cef import event_time

# Java SimpleDateFormat letters -> strptime (longest first).
_JAVA = [
    ("yyyy", "%Y"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("hh", "%I"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSS", "%f"),
    ("a", "%p"),
    ("zzz", "%Z"),
    ("Z", "%z"),
    ("yy", "%y"),
]
_JAVA_TOKEN = re.compile("|".join(re.escape(token) for token, _ in _JAVA))


def java_format(pattern: str) -> str:
    """A Java SimpleDateFormat pattern as a strptime format (the common letters)."""
    mapping = dict(_JAVA)
    return _JAVA_TOKEN.sub(lambda m: mapping[m.group(0)], pattern.replace("'", ""))


def _delimiter(spec: str) -> str:
    if not spec:
        return "\t"
    lower = spec.lower()
    if lower.startswith(("0x", "x")) and len(spec) > 1:
        try:
            return chr(int(lower.lstrip("0").lstrip("x") or "0", 16))
        except ValueError:
            raise BadLine("the LEEF 2.0 delimiter is not a character or hex code") from None
    return spec[0]


class Leef(Parser):
    """Any LEEF 1.0/2.0 event with a source address and a destination."""

    key = "leef"
    label = "Generic LEEF"
    fields = frozenset({URL, DST_IP, USER, SRC_IP, TOTAL, UPLOAD})
    description = "IBM QRadar Log Event Extended Format (LEEF 1.0 and 2.0), file or syslog."

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self._formats: dict[str, object] = {}

    def _time(self, value: str, pattern: str) -> int:
        if not pattern:
            return event_time(value)
        convert = self._formats.get(pattern)
        if convert is None:
            fmt = java_format(pattern)
            # %Z only knows UTC/GMT/local names; zone names are dropped and the time read as UTC.
            convert = self._formats[pattern] = cached_time(
                lambda text, fmt=fmt: strptime_checked(
                    re.sub(r" ?[A-Z]{3,4}$", "", text) if "%Z" in fmt else text,
                    fmt.replace(" %Z", "").replace("%Z", ""),
                )
            )
        return convert(value)

    def parse(self, line: str) -> Record | None:
        text = line.rstrip("\r\n")
        if not text.strip() or text.lstrip()[0] == "#":
            return None
        start = text.find("LEEF:")
        if start < 0:
            raise BadLine("no LEEF: header")
        head = text[start:]
        if head.startswith("LEEF:2"):
            parts = head.split("|", 6)
            if len(parts) < 7:
                raise BadLine("a LEEF 2.0 header with fewer than 6 fields")
            delimiter, body = _delimiter(parts[5]), parts[6]
        else:
            parts = head.split("|", 5)
            if len(parts) < 6:
                raise BadLine("a LEEF 1.0 header with fewer than 5 fields")
            delimiter, body = "\t", parts[5]
        values = {}
        for pair in body.split(delimiter):
            key, sep, value = pair.partition("=")
            if sep:
                values[key.strip()] = value.strip()
        src = values.get("src", "")
        if not src:
            raise BadLine("no src (source address) attribute")
        check_ip(src)
        dst = values.get("dst", "")
        if dst:
            check_ip(dst, "destination address")
        host = host_of(values.get("url", "")) or host_of(values.get("dhost", ""))
        if not host and not dst:
            raise BadLine("no destination (url, dhost or dst)")
        if values.get("devTime"):
            ts = self._time(values["devTime"], values.get("devTimeFormat", ""))
        else:
            ts = syslog_time(text[:start].lstrip())
            if ts is None:
                raise BadLine("no devTime attribute and no syslog time")
        up = to_int(values.get("srcBytes", ""), "srcBytes")
        down = to_int(values.get("dstBytes", ""), "dstBytes")
        if not up and not down:
            down = to_int(values.get("totalBytes", ""), "totalBytes")
        user = values.get("usrName", "")
        return (
            ts,
            src,
            "" if user == "-" else user,
            host,
            dst,
            up,
            down,
            is_blocked(values.get("action", "")),
        )
