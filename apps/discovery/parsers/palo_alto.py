"""Palo Alto Networks firewall (PAN-OS) traffic and URL logs: CSV export and syslog.

Two shapes of the same logs are read by this one format:

1. A CSV export with a header line (Monitor > Logs > Export to CSV, or a report), columns named
   as in the web interface, e.g. the sample Microsoft uses for its log-collector simulation:

       Generate Time,Source address,Source User,Action,Application,URL,Destination Port,
       Bytes Received,Bytes Sent
       2020/06/10 00:00:00,10.0.5.93,Jovani@contoso.com,allow,http,www.clearbooks.co.uk,80,...

   Columns read (names compared case-insensitively): Generate Time / Receive Time / Start Time
   (`yyyy/mm/dd hh:mm:ss`), Source address, Source User, Destination address, URL or
   URL/Filename, Bytes Sent (upload), Bytes Received (download), Bytes (total when the other
   two are absent), Action.

2. Syslog (or a headerless CSV export): the positional fields of the PAN-OS "Traffic Log Fields"
   and "Threat Log Fields" lists, after the syslog header:

       FUTURE_USE, Receive Time, Serial Number, Type, Threat/Content Type, FUTURE_USE,
       Generated Time, Source Address, Destination Address, NAT Source IP, NAT Destination IP,
       Rule Name, Source User, Destination User, Application, Virtual System, Source Zone,
       Destination Zone, Inbound Interface, Outbound Interface, Log Action, FUTURE_USE,
       Session ID, Repeat Count, Source Port, Destination Port, NAT Source Port,
       NAT Destination Port, Flags, Protocol, Action, then for TRAFFIC: Bytes, Bytes Sent,
       Bytes Received, ...; for THREAT (subtype url): URL/Filename, Threat ID, Category, ...

   TRAFFIC and THREAT lines are records; other log types (SYSTEM, CONFIG, ...) are not.

Times are taken as UTC (the firewall's clock; set it to UTC or export in UTC). Actions deny,
drop, reset-*, block-url and the like are blocked. Spec 5.2: destination address, user, source
address, total and upload; URL logs add the URL.
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
    cached_time,
    check_ip,
    epoch,
    host_of,
    is_blocked,
    split_csv,
    syslog_message,
    to_int,
    user_of,
)

_HEADER_NAMES = {
    "time": ("generate time", "receive time", "start time", "time generated", "time logged"),
    "src": ("source address", "source ip"),
    "dst": ("destination address", "destination ip"),
    "user": ("source user",),
    "url": ("url", "url/filename"),
    "up": ("bytes sent",),
    "down": ("bytes received",),
    "total": ("bytes",),
    "action": ("action",),
}
_LOG_TYPES = ("TRAFFIC", "THREAT")


def _pan_time(text: str) -> int:
    """`2020/06/10 00:00:00` to seconds."""
    date, _, clock = text.strip().partition(" ")
    year, month, day = date.split("/")
    hour, minute, second = clock.split(":")
    return epoch(int(year), int(month), int(day), int(hour), int(minute), int(second))


class PaloAlto(Parser):
    """PAN-OS logs: by header names after a CSV header, else by syslog position."""

    key = "palo_alto"
    label = "Palo Alto Networks firewall"
    fields = frozenset({DST_IP, USER, SRC_IP, TOTAL, UPLOAD})
    description = "PAN-OS traffic/URL logs: CSV export with header, or syslog (PAN-OS field lists)."

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self._time = cached_time(_pan_time)
        self._header: dict[str, int] | None = None

    def _read_header(self, parts: list[str]) -> None:
        names = {name.strip().lower(): index for index, name in enumerate(parts)}
        header = {}
        for field, candidates in _HEADER_NAMES.items():
            for candidate in candidates:
                if candidate in names:
                    header[field] = names[candidate]
                    break
        self._header = header

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text or text[0] == "#":
            return None
        if not text[0].isdigit() and text[0] != '"' and "source address" not in text.lower():
            text = syslog_message(text).strip()
        parts = split_csv(text)
        if "source address" in text.lower() and not parts[0][:1].isdigit():
            self._read_header(parts)
            return None
        if self._header is not None:
            return self._from_header(parts)
        return self._from_syslog(parts)

    def _from_header(self, parts: list[str]) -> Record:
        header = self._header

        def get(field: str) -> str:
            index = header.get(field)
            return parts[index].strip() if index is not None and index < len(parts) else ""

        if "src" not in header or "time" not in header:
            raise BadLine("the header has no Source address or time column")
        if len(parts) < len(header):
            raise BadLine("fewer fields than the header")
        src = check_ip(get("src"))
        dst = get("dst")
        if dst:
            check_ip(dst, "destination address")
        host = host_of(get("url"))
        if not host and not dst:
            raise BadLine("no destination address or URL")
        up, down = to_int(get("up"), "Bytes Sent"), to_int(get("down"), "Bytes Received")
        if not up and not down:
            down = to_int(get("total"), "Bytes")
        return (
            self._time(get("time")),
            src,
            user_of(get("user")),
            host,
            dst,
            up,
            down,
            is_blocked(get("action")),
        )

    def _from_syslog(self, parts: list[str]) -> Record | None:
        kind = parts[3] if len(parts) > 3 else ""
        if kind not in _LOG_TYPES:
            if kind.isupper() and kind.isalpha():
                return None  # SYSTEM, CONFIG, ... logs: no traffic
            raise BadLine("the fourth field is not a PAN-OS log type")
        if len(parts) < 31:
            raise BadLine("fewer than 31 PAN-OS log fields")
        src = check_ip(parts[7])
        dst = check_ip(parts[8], "destination address")
        if kind == "TRAFFIC":
            host = ""
            if len(parts) < 34:
                raise BadLine("a traffic log line without its byte counts")
            up = to_int(parts[32], "Bytes Sent")
            down = to_int(parts[33], "Bytes Received")
        else:
            host = host_of(parts[31].strip('"')) if len(parts) > 31 else ""
            up = down = 0
        return (
            self._time(parts[6] or parts[1]),
            src,
            user_of(parts[12]),
            host,
            dst,
            up,
            down,
            is_blocked(parts[30]),
        )
