"""Squid common log format (`logformat common`, the httpd "Common Log Format").

Squid documents it as `%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh`:

    192.168.0.68 - alice [10/Jun/2020:10:02:17 +0000] "GET http://www.google.com/ HTTP/1.1" \
        200 507 TCP_MISS:HIER_DIRECT

client address, ident ("-"), user ("-" when not authenticated), local time with its offset,
request line (method, URL, protocol; `host:443` for CONNECT), HTTP status, bytes sent to the
client, and Squid's result:hierarchy codes (absent in a plain httpd common log). A TCP_DENIED
result is a blocked request. Spec 5.2: URL, user, source address and a total (the reply size, kept
in `bytes_down`); no destination address, no upload.
"""

from __future__ import annotations

import re

from .base import (
    SRC_IP,
    TOTAL,
    URL,
    USER,
    BadLine,
    Parser,
    Record,
    cached_time,
    check_ip,
    epoch,
    host_of,
    month_number,
    syslog_message,
    to_int,
    user_of,
)

_LINE = re.compile(
    r'^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: [^"]*)?" (\d{3}|-) (\d+|-)(?: (\S+))?'
)


def _clf_time(text: str) -> int:
    """`10/Jun/2020:10:02:17 +0200` to UTC seconds."""
    day, month, rest = text.split("/", 2)
    year, hour, minute, second_zone = rest.split(":", 3)
    second, _, zone = second_zone.partition(" ")
    value = epoch(int(year), month_number(month), int(day), int(hour), int(minute), int(second))
    if zone:
        sign = -1 if zone[0] == "+" else 1
        value += sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    return value


class SquidCommon(Parser):
    """Squid/httpd common log lines; the reply size is the total."""

    key = "squid_common"
    label = "Squid (common)"
    fields = frozenset({URL, USER, SRC_IP, TOTAL})
    description = "Squid's 'logformat common' (squid-cache.org), the httpd Common Log Format."

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self._time = cached_time(_clf_time)

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text or text.startswith("#"):
            return None
        match = _LINE.match(text)
        if match is None:
            match = _LINE.match(syslog_message(text))
            if match is None:
                raise BadLine("not a common log format line")
        src, user, stamp, _method, url, _status, size, codes = match.groups()
        check_ip(src)
        host = host_of(url)
        if not host:
            raise BadLine("the URL has no host")
        blocked = bool(codes) and codes.startswith("TCP_DENIED")
        return (
            self._time(stamp),
            src,
            user_of(user),
            host,
            "",
            0,
            to_int(size, "the size"),
            blocked,
        )
