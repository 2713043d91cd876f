"""The contract every discovery log parser follows.

A parser turns one log line into one `Record`, a plain tuple (tuples are what keeps the pipeline
above 200,000 lines/s; a dataclass per line costs a third of that):

    (epoch_seconds: int, src_ip: str, user: str, host: str, dst_ip: str,
     bytes_up: int, bytes_down: int, blocked: bool)

- `host` is the destination host name, lower case, without port or path ("" when the format has
  only an address); `dst_ip` the destination address ("" when unknown). One of the two is needed.
- `user` is "" when the line has none (or "-"). `src_ip` is required.
- Traffic: when the format gives only a total, it goes in `bytes_down` and `bytes_up` is 0; the
  parser's `fields` say what the format has (spec table 5.2), and the reports show upload only
  for sources that have it.

`parse(line)` returns a Record, returns None for a line that is not a record by design (a
comment, a header, a `#Fields:` directive, an empty line), and raises `BadLine` with a short
reason a person can act on for a line it cannot read. Parsers that depend on a header (W3C
`#Fields:`, CSV header rows) keep it on the instance: one instance reads one file, in order.
"""

from __future__ import annotations

import calendar
import csv
import ipaddress
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

Record = tuple[int, str, str, str, str, int, int, bool]

# Field names of spec table 5.2, for `Parser.fields`.
URL = "url"
DST_IP = "dst_ip"
USER = "user"
SRC_IP = "src_ip"
TOTAL = "total"
UPLOAD = "upload"


class BadLine(ValueError):
    """A line the parser cannot read; the message says why (never quotes the line)."""


class Parser:
    """Base class; subclasses set the class attributes and implement `parse`."""

    key: ClassVar[str] = ""
    label: ClassVar[str] = ""
    fields: ClassVar[frozenset[str]] = frozenset()
    description: ClassVar[str] = ""  # where the format comes from (vendor documentation)

    def __init__(self, options: dict | None = None) -> None:
        self.options = options or {}

    def parse(self, line: str) -> Record | None:  # pragma: no cover - abstract
        raise NotImplementedError


# --- helpers shared by the parsers ---------------------------------------------------------

_SYSLOG_PRI = re.compile(r"^<\d{1,3}>")
_RFC3164 = re.compile(r"^(?:<\d{1,3}>)?[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (?:\S+ )?")
_RFC5424 = re.compile(r"^<\d{1,3}>\d{1,2} \S+ \S+ \S+ \S+ \S+ (?:-|(?:\[.*?\])+) ?")


def strip_syslog(line: str) -> str:
    """The message of a syslog line (RFC 3164 or 5424 header removed); other lines unchanged.

    Logs that reach us through the log collector keep their syslog header; a parser calls this
    first so the same format parses from a file and from syslog.
    """
    if not line or (line[0] != "<" and not line[:3].isalpha()):
        return line
    match = _RFC5424.match(line) or _RFC3164.match(line)
    if match:
        return line[match.end() :]
    return _SYSLOG_PRI.sub("", line, count=1)


def host_of(url: str) -> str:
    """The lower-case host of a URL, `host:port` or bare host ("" when there is none)."""
    if not url or url == "-":
        return ""
    start = url.find("://")
    rest = url[start + 3 :] if start >= 0 else url
    for stop in "/?#":
        cut = rest.find(stop)
        if cut >= 0:
            rest = rest[:cut]
    at = rest.rfind("@")
    if at >= 0:
        rest = rest[at + 1 :]
    if rest.startswith("["):  # [v6]:port
        end = rest.find("]")
        return rest[1:end].lower() if end > 0 else ""
    if rest.count(":") == 1:
        rest = rest.partition(":")[0]
    return rest.lower().rstrip(".")


def check_ip(value: str, what: str = "source address") -> str:
    """`value` if it is an IPv4/IPv6 address, else BadLine."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise BadLine(f"the {what} is not an IP address") from None
    return value


def to_int(value: str, what: str) -> int:
    """A byte count: "-" and "" are 0; anything else must be a non-negative integer."""
    if not value or value == "-":
        return 0
    try:
        number = int(value)
    except ValueError:
        raise BadLine(f"{what} is not a number") from None
    if number < 0:
        raise BadLine(f"{what} is negative")
    return number


def user_of(value: str) -> str:
    return "" if not value or value == "-" else value


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Seconds since 1970 for a UTC wall time (no datetime object: this runs per line)."""
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def cached_time(convert: Callable[[str], int], size: int = 4096) -> Callable[[str], int]:
    """Memoise a timestamp converter: log lines repeat the same second many times over."""
    cache: dict[str, int] = {}

    def lookup(text: str) -> int:
        value = cache.get(text)
        if value is None:
            if len(cache) >= size:
                cache.clear()
            try:
                value = convert(text)
            except (ValueError, OverflowError, IndexError, KeyError):
                raise BadLine("the date or time is not in the expected format") from None
            cache[text] = value
        return value

    return lookup


def strptime_epoch(text: str, fmt: str) -> int:
    """`text` read with a strptime format as UTC (an offset in the text is honoured)."""
    parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 (made aware just below)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


# --- more shared helpers (added for the vendor parsers; the ones above are unchanged) -------

MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}

# Words a vendor's action/disposition field uses for a refused request (compared lower case).
BLOCKED_WORDS = frozenset(
    {
        "block",
        "blocked",
        "deny",
        "denied",
        "drop",
        "dropped",
        "reject",
        "rejected",
        "reset",
        "reset-both",
        "reset-client",
        "reset-server",
        "block-url",
        "block-continue",
        "prevent",
    }
)


def is_blocked(action: str) -> bool:
    """Whether an action/disposition value means the request was refused."""
    return action.strip().lower() in BLOCKED_WORDS


def guess_year(month: int, day: int, now: float | None = None) -> int:
    """The year of a timestamp that has none (RFC 3164): this year, or last year when that
    would put it more than a day in the future (a December line read in January)."""
    current = datetime.fromtimestamp(now if now is not None else time.time(), tz=UTC)
    year = current.year
    if checked_epoch(year, month, day) > current.timestamp() + 86400:
        year -= 1
    return year


_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,]\d+)?\s*(Z|[+-]\d\d:?\d\d)?$"
)


def iso_epoch(text: str) -> int:
    """Seconds for an ISO 8601 / RFC 3339 time ("2020-06-10T10:02:17.123Z", "+02:00" offsets;
    no offset means UTC). BadLine when it is not one."""
    match = _ISO.match(text.strip())
    if not match:
        raise BadLine("the date or time is not in the expected format")
    year, month, day, hour, minute, second, zone = match.groups()
    value = checked_epoch(int(year), int(month), int(day), int(hour), int(minute), int(second))
    if zone and zone != "Z":
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        value += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return value


_HEADER_5424 = re.compile(r"^<\d{1,3}>\d{1,2} (\S+) ")
_HEADER_3164 = re.compile(r"^(?:<\d{1,3}>)?([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) ")


def syslog_time(line: str) -> int | None:
    """The time of a line's syslog header (RFC 5424, or RFC 3164 with the year guessed), or
    None when the line has no header or the header has no time ("-")."""
    match = _HEADER_5424.match(line)
    if match:
        stamp = match.group(1)
        return None if stamp == "-" else iso_epoch(stamp)
    first = line.split(" ", 1)[0]
    if first[:4].isdigit() and "T" in first:  # a file written with an RFC 3339 time first
        return iso_epoch(first)
    match = _HEADER_3164.match(line)
    if match:
        name, day, hour, minute, second = match.groups()
        month = MONTHS.get(name)
        if month is None:
            return None
        year = guess_year(month, int(day))
        return checked_epoch(year, month, int(day), int(hour), int(minute), int(second))
    return None


_KV = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def key_values(text: str) -> dict[str, str]:
    """`key=value key="quoted value"` pairs (FortiGate, Juniper structured data, generic
    key=value logs); quotes removed, `\\"` unescaped."""
    found = {}
    for key, value in _KV.findall(text):
        if value[:1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        found[key] = value
    return found


def split_csv(line: str, delimiter: str = ",") -> list[str]:
    """The fields of one CSV line (RFC 4180 quoting). Lines without quotes are split directly;
    quoted lines go through the csv module (a malformed quote is a BadLine)."""
    line = line.rstrip("\r\n")
    if '"' not in line:
        return line.split(delimiter)
    if len(delimiter) != 1:
        return [part.strip('"') for part in line.split(delimiter)]
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration):
        raise BadLine("the line's quotes are not balanced") from None


_SYSLOG_TAG = re.compile(r"^[A-Za-z][\w./-]*(?:\[\d+\])?: ")


def syslog_message(line: str) -> str:
    """`strip_syslog`, then also the RFC 3164 TAG (`squid[123]: `) that it leaves in place."""
    text = strip_syslog(line)
    if text is line:
        return text
    match = _SYSLOG_TAG.match(text)
    return text[match.end() :] if match else text


def month_number(name: str) -> int:
    """1-12 for an English month abbreviation ("Jun"); ValueError otherwise (a converter run
    through `cached_time` turns that into a BadLine)."""
    number = MONTHS.get(name)
    if number is None:
        raise ValueError(name)
    return number


def checked_epoch(*parts: int) -> int:
    """`epoch` for values read from a line: an impossible date is a BadLine, not a crash."""
    try:
        return epoch(*parts)
    except (ValueError, OverflowError):
        raise BadLine("the date or time is not in the expected format") from None


def strptime_checked(text: str, fmt: str) -> int:
    """`strptime_epoch` where the format itself may be bad (a tenant's or a log's own): any
    failure is a ValueError (which `cached_time` turns into a BadLine)."""
    try:
        return strptime_epoch(text, fmt)
    except (re.error, TypeError) as exc:
        raise ValueError(str(exc)) from None
