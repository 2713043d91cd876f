"""Check Point firewall logs exported by Log Exporter (syslog) or as key=value text.

Check Point's Log Exporter sends each log as a syslog line whose fields are `key:"value";`
pairs (its default "syslog" format, RFC 5424 structured data):

    <134>1 2020-06-10T10:02:17Z gw-hq CheckPoint 2216 - [action:"Accept"; origin:"192.0.2.1";
    time:"1591783337"; src:"10.0.5.93"; dst:"162.125.66.18"; proto:"6"; service:"443"; ...]

and its "generic" format (and `fw log`-style text) as `key=value` / `key="value"` pairs.
Extracted: `time` (seconds since 1970; else the syslog header's time), `src`, `dst`, `action`
(Drop, Reject, Block = blocked). Check Point firewall logs carry no URL, user or byte counts for
discovery (spec 5.2: destination and source address only). Lines without src and dst (e.g.
management or audit logs) are not records; lines that have neither form are refused.
"""

from __future__ import annotations

import re

from .base import (
    DST_IP,
    SRC_IP,
    BadLine,
    Parser,
    Record,
    check_ip,
    is_blocked,
    iso_epoch,
    key_values,
    syslog_time,
)

_COLON_PAIRS = re.compile(r'([A-Za-z_][\w:-]*?):"((?:[^"\\]|\\.)*)"')


class CheckPoint(Parser):
    """Check Point connection logs (addresses and action only)."""

    key = "checkpoint"
    label = "Check Point"
    fields = frozenset({DST_IP, SRC_IP})
    description = 'Check Point Log Exporter syslog (key:"value";) or key=value export.'

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text or text[0] == "#":
            return None
        values = dict(_COLON_PAIRS.findall(text))
        if not values:
            values = key_values(text)
        if "action" not in values and "src" not in values:
            raise BadLine("no Check Point fields (action, src)")
        src, dst = values.get("src", ""), values.get("dst", "")
        if not src or not dst:
            return None  # a management/audit log: no connection in it
        check_ip(src)
        check_ip(dst, "destination address")
        raw = values.get("time", "")
        if raw.isdigit():
            ts = int(raw)
        elif raw:
            ts = iso_epoch(raw)
        else:
            ts = syslog_time(text)
            if ts is None:
                raise BadLine("no time field and no syslog time")
        return (ts, src, "", "", dst, 0, 0, is_blocked(values.get("action", "")))
