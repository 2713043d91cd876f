"""A tenant's own delimited log format, defined by a `CustomParser` row.

The row (`options["definition"]`) gives the delimiter (a character, or `tab`, `space`,
`comma`, `semicolon`, `pipe`, `\\t`), whether the first line is a header, and which column holds
each field: the timestamp (read with a Python strptime format, or `epoch` / `epoch_ms`), the
source address (required), and optionally the user, the destination host or URL, the
destination address, bytes up / down / total and the action with its "blocked" term (compared
without regard to case).

Columns are named by the header's names, exactly (case-sensitive, as the portal's custom parser
documents); a column given as a number is a 1-based position (with or without a header). A name
the header does not have makes every line unreadable, with the reason saying which name.

Rows and the header: a row with as many fields as the header is read by name. A row with more
fields whose surplus is empty and at the end (a trailing delimiter) is read the same way. A row
with a non-empty surplus (the spec's sample, whose device inserted two unnamed columns in the
middle of each row) is read from both ends: a column in the first half of the header is counted
from the left, one in the second half from the right, because devices add fields in the middle
and keep the time first and the addresses and counters last. A row with fewer fields than the
header is skipped ("fewer fields than the header").

A destination-address column holding a host name (as in the spec's sample, `dst` = dropbox.com)
is used as the destination host. A syslog header (`<PRI>...`) before a line is removed.
"""

from __future__ import annotations

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
    split_csv,
    strptime_checked,
    syslog_message,
    to_int,
    user_of,
)

_DELIMITERS = {
    "": ",",
    "tab": "\t",
    "\\t": "\t",
    "space": " ",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
}
_COLUMNS = (
    ("time", "timestamp_column"),
    ("src", "src_ip_column"),
    ("user", "user_column"),
    ("host", "host_column"),
    ("dst", "dst_ip_column"),
    ("up", "bytes_up_column"),
    ("down", "bytes_down_column"),
    ("total", "bytes_total_column"),
    ("action", "action_column"),
)


def _is_ip(value: str) -> bool:
    try:
        check_ip(value)
    except BadLine:
        return False
    return True


class Custom(Parser):
    """A CustomParser row applied to delimited lines (one instance per file)."""

    key = "custom"
    label = "Custom format"
    fields = frozenset({URL, DST_IP, USER, SRC_IP, TOTAL, UPLOAD})
    description = "A delimited format the tenant defines (delimiter and column mapping)."

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        definition = self.options["definition"]
        delimiter = definition.delimiter or ""
        self.delimiter = _DELIMITERS.get(delimiter.lower(), delimiter)
        self.has_header = definition.has_header
        self.refs = {
            field: str(getattr(definition, attr, "") or "").strip() for field, attr in _COLUMNS
        }
        self.blocked_term = (definition.blocked_term or "").strip().lower()
        fmt = definition.timestamp_format
        if fmt == "epoch":
            self._time = cached_time(lambda text: int(float(text)))
        elif fmt == "epoch_ms":
            self._time = cached_time(lambda text: int(float(text)) // 1000)
        else:
            self._time = cached_time(lambda text: strptime_checked(text, fmt))
        self.header: list[str] | None = None
        self.index: dict[str, int] = {}
        self.problem = ""
        if not self.has_header:
            self._resolve([])

    def _resolve(self, header: list[str]) -> None:
        names = {name.strip(): number for number, name in enumerate(header)}
        for field, ref in self.refs.items():
            if not ref:
                continue
            if ref in names:
                self.index[field] = names[ref]
            elif ref.isdigit() and int(ref) >= 1:
                self.index[field] = int(ref) - 1
            else:
                where = "the header has no column" if self.has_header else "not a 1-based position:"
                self.problem = f"{where} {ref[:40]!r} (see the custom parser's columns)"
                return
        if "src" not in self.index or "time" not in self.index:
            self.problem = "the custom parser names no source address or timestamp column"

    def parse(self, line: str) -> Record | None:
        text = line.rstrip("\r\n")
        if not text.strip():
            return None
        if text.startswith("<"):
            text = syslog_message(text)
        row = split_csv(text, self.delimiter)
        if self.has_header:
            if self.header is None:
                self.header = row
                self._resolve(row)
                return None
            if row == self.header:  # files concatenated: each repeats its header
                return None
        if self.problem:
            raise BadLine(self.problem)
        values = self._values(row)

        def get(field: str) -> str:
            value = values.get(field, "").strip()
            return "" if value == "-" else value

        src = check_ip(get("src"))
        stamp = get("time")
        if not stamp:
            raise BadLine("the timestamp column is empty")
        ts = self._time(stamp)
        host = host_of(get("host"))
        dst = get("dst")
        if dst and not _is_ip(dst):
            host, dst = host or host_of(dst), ""
        if not host and not dst:
            raise BadLine("no destination host or address")
        up, down = to_int(get("up"), "bytes up"), to_int(get("down"), "bytes down")
        if "up" not in self.index and "down" not in self.index:
            down = to_int(get("total"), "total bytes")
        blocked = bool(self.blocked_term) and get("action").lower() == self.blocked_term
        return (ts, src, user_of(get("user")), host, dst, up, down, blocked)

    def _values(self, row: list[str]) -> dict[str, str]:
        if self.header is None:
            missing = [i for i in self.index.values() if i >= len(row)]
            if missing:
                raise BadLine(f"the row has no column {min(missing) + 1}")
            return {field: row[i] for field, i in self.index.items()}
        width, size = len(self.header), len(row)
        if size < width:
            raise BadLine("fewer fields than the header")
        if size == width or not any(row[width:]):
            return {field: row[i] if i < size else "" for field, i in self.index.items()}
        surplus = size - width
        half = width / 2
        return {field: row[i + surplus] if i >= half else row[i] for field, i in self.index.items()}
