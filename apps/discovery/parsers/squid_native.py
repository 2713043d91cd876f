"""Squid native access.log (`logformat squid`, Squid's default).

Squid documents the native format as
`%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt`:

    1286536309.450 99 192.168.0.68 TCP_MISS/200 507 GET http://www.google.com/ alice \
        DIRECT/74.125.71.103 text/html

time (epoch.ms), elapsed ms, client address, result code/HTTP status, bytes sent to the client,
method, URL (`host:443` for CONNECT), user ("-" when not authenticated), hierarchy/peer address,
MIME type. TCP_DENIED results are blocked requests. The format has the URL, user, source address
and the bytes the client received (spec 5.2: no total in the strict sense, no upload); the bytes
go in `bytes_down`.
"""

from __future__ import annotations

from .base import SRC_IP, URL, USER, BadLine, Parser, Record, syslog_message


class SquidNative(Parser):
    key = "squid_native"
    label = "Squid (native)"
    fields = frozenset({URL, USER, SRC_IP})
    description = "Squid's default access.log format (squid-cache.org, 'logformat squid')."

    def parse(self, line: str) -> Record | None:
        parts = line.split()
        if len(parts) < 7 or "." not in parts[0][:14]:
            if not parts or parts[0][0] == "#":
                return None
            parts = syslog_message(line).split()
            if len(parts) < 7:
                raise BadLine("fewer than 7 fields")
        try:
            ts = int(float(parts[0]))
            size = int(parts[4])
        except ValueError:
            raise BadLine("the time or size field is not a number") from None
        result = parts[3]
        if "/" not in result:
            raise BadLine("the result code field is not CODE/STATUS")
        # The host of the URL, inlined: this is the benchmark's hot path.
        pieces = parts[6].split("/", 3)
        host = pieces[2] if len(pieces) > 2 and pieces[0][-1:] == ":" else pieces[0]
        if ":" in host:
            if host[0] == "[":
                host = host[1 : host.find("]")]
            elif host.count(":") == 1:
                host = host.partition(":")[0]
        if not host:
            raise BadLine("the URL has no host")
        src = parts[2]
        if src.count(".") != 3 and ":" not in src:
            raise BadLine("the client address is not an IP address")
        user = parts[7] if len(parts) > 7 and parts[7] != "-" else ""
        return (ts, src, user, host.lower(), "", 0, size, result[:10] == "TCP_DENIED")
