"""Juniper SRX session logs, structured syslog (`set security log format sd-syslog`).

Junos writes RT_FLOW events as RFC 5424 lines whose structured data holds `name="value"`
pairs (Junos "RT_FLOW System Log Messages"):

    <14>1 2020-06-10T10:02:17.000Z srx-hq RT_FLOW - RT_FLOW_SESSION_CLOSE
    [junos@2636.1.1.1.2.40 reason="TCP FIN" source-address="10.0.5.93" source-port="51234"
    destination-address="162.125.66.18" destination-port="443" service-name="junos-https"
    ... bytes-from-client="1520" packets-from-server="9" bytes-from-server="4310" ...
    username="alice" ...]

RT_FLOW_SESSION_CLOSE is one record per session (bytes-from-client = upload, bytes-from-server =
download); RT_FLOW_SESSION_DENY is a blocked record (no bytes). RT_FLOW_SESSION_CREATE and other
events are not records (the close of the same session carries its bytes). Time: the syslog
header's (RFC 5424, UTC offset honoured). `username` is used when present (not "N/A"). Spec 5.2:
destination address, source address, total and upload.
"""

from __future__ import annotations

from .base import (
    DST_IP,
    SRC_IP,
    TOTAL,
    UPLOAD,
    BadLine,
    Parser,
    Record,
    check_ip,
    key_values,
    syslog_time,
    to_int,
)

CLOSE = "RT_FLOW_SESSION_CLOSE"
DENY = "RT_FLOW_SESSION_DENY"


class JuniperSrx(Parser):
    """SRX session close (with bytes) and deny events."""

    key = "juniper_srx"
    label = "Juniper SRX (structured syslog)"
    fields = frozenset({DST_IP, SRC_IP, TOTAL, UPLOAD})
    description = "Junos RT_FLOW session logs in structured syslog (sd-syslog) format."

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text or text[0] == "#":
            return None
        if "RT_FLOW" not in text:
            raise BadLine("not a Junos RT_FLOW message")
        if CLOSE in text:
            blocked = False
        elif DENY in text:
            blocked = True
        else:
            return None  # session create, ALG and other flow events
        start = text.find("[")
        if start < 0:
            raise BadLine("no structured data (use the sd-syslog log format)")
        values = key_values(text[start:])
        src = values.get("source-address", "")
        dst = values.get("destination-address", "")
        if not src or not dst:
            raise BadLine("no source-address or destination-address")
        check_ip(src)
        check_ip(dst, "destination address")
        ts = syslog_time(text)
        if ts is None:
            raise BadLine("no time in the syslog header")
        user = values.get("username", "")
        if user in ("N/A", "-", "unknown"):
            user = ""
        return (
            ts,
            src,
            user,
            "",
            dst,
            to_int(values.get("bytes-from-client", ""), "bytes-from-client"),
            to_int(values.get("bytes-from-server", ""), "bytes-from-server"),
            blocked,
        )
