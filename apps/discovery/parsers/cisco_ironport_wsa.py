"""Cisco IronPort Web Security Appliance (WSA) access log, Squid-compatible native format.

AsyncOS for Cisco Web Security documents the default access-log line as Squid's native fields
followed by the ACL decision tag, the policy names and the WBRS/scanning verdicts:

    1591783337.123 120 10.0.5.93 TCP_MISS/200 4310 POST https://www.dropbox.com/upload alice
        DIRECT/162.125.66.18 application/json DEFAULT_CASE_12-DefaultGroup-Sales-NONE-NONE-NONE-
        DefaultGroup <IW_fshr,7.0,...> -

time (epoch.ms), elapsed ms, client address, result code/HTTP status, bytes sent to the client,
method, URL, user ("-" without authentication), hierarchy/upstream (the server's address or
name), MIME type, ACL decision tag + policy groups, verdicts. An ACL decision tag starting with
BLOCK_ (BLOCK_WEBCAT, BLOCK_ADMIN, BLOCK_AMW_RESP, ...) or a TCP_DENIED result is a blocked
request. Extracted: URL (its host), destination address (when the upstream is an address), user,
source address, and the reply size as total (`bytes_down`). A line without an ACL decision tag
(a plain Squid log) is refused.
"""

from __future__ import annotations

import re

from .base import (
    DST_IP,
    SRC_IP,
    TOTAL,
    URL,
    USER,
    BadLine,
    Parser,
    Record,
    check_ip,
    host_of,
    syslog_message,
    to_int,
    user_of,
)

_ACL_TAG = re.compile(r"^[A-Z][A-Z_]*_\d+(?:-|$)")


def _address(text: str) -> str:
    try:
        return check_ip(text)
    except BadLine:
        return ""


class CiscoIronportWsa(Parser):
    """WSA access-log lines, recognised by their ACL decision tag."""

    key = "cisco_ironport_wsa"
    label = "Cisco IronPort WSA"
    fields = frozenset({URL, DST_IP, USER, SRC_IP, TOTAL})
    description = "Cisco WSA (AsyncOS) access log, Squid-style with ACL decision tags."

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text or text[0] == "#":
            return None
        if not text[0].isdigit():
            text = syslog_message(text)
        parts = text.split()
        if len(parts) < 11:
            raise BadLine("fewer than 11 fields (no ACL decision tag)")
        tag = parts[10]
        if not _ACL_TAG.match(tag):
            raise BadLine("the 11th field is not a WSA ACL decision tag")
        try:
            ts = int(float(parts[0]))
        except ValueError:
            raise BadLine("the first field is not a Unix time") from None
        result = parts[3]
        if "/" not in result:
            raise BadLine("the result code field is not CODE/STATUS")
        src = check_ip(parts[2])
        host = host_of(parts[6])
        upstream = parts[8].partition("/")[2]
        dst = _address(upstream)
        if not host and not dst:
            raise BadLine("the URL has no host")
        blocked = tag.startswith("BLOCK_") or result.startswith("TCP_DENIED")
        size = to_int(parts[4], "the size")
        return (ts, src, user_of(parts[7]), host, dst, 0, size, blocked)
