"""Zscaler NSS web log, CSV (the feed output format Zscaler documents for Microsoft Defender for
Cloud Apps / Cloud App Security, which is also the NSS "default" web feed layout).

Each line is one transaction, every field double-quoted, 31 fields in this order:

    "%s{time}","%s{login}","%s{proto}","%s{eurl}","%s{action}","%s{appname}","%s{appclass}",
    "%d{reqsize}","%d{respsize}","%s{urlclass}","%s{urlsupercat}","%s{urlcat}","%s{malwarecat}",
    "%s{threatname}","%d{riskscore}","%s{dlpeng}","%s{dlpdict}","%s{location}","%s{dept}",
    "%s{cip}","%s{sip}","%s{reqmethod}","%s{respcode}","%s{ua}","%s{ereferer}","%s{ruletype}",
    "%s{rulelabel}","%s{contenttype}","%s{unscannabletype}","%s{deviceowner}",
    "%s{devicehostname}"

for example

    "Wed Jun 10 10:02:17 2020","alice@contoso.com","HTTPS","www.dropbox.com/upload","Allowed",
    "Dropbox","File Sharing","1520","4310",...,"10.0.5.93","162.125.66.18","POST","200",...

Extracted: time (`%s{time}`, "Www Mmm dd hh:mm:ss yyyy", the feed's time zone, GMT by default),
login (user), eurl (the URL without scheme: its host), action ("Blocked" = blocked), reqsize
(upload), respsize (download), cip (source address), sip (destination address). Spec 5.2: every
field. NSS also streams this over syslog (a syslog header is tolerated). Fields after the 31st
field (feeds with extra fields appended) are accepted.

This parser is benchmarked at a million lines: the common line (every field quoted, no quote
inside a value) is split with `str.split('","')`; any other line goes through the csv module.
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
    epoch,
    month_number,
    split_csv,
    syslog_message,
)

FIELDS = 31
TIME, LOGIN, EURL, ACTION, REQSIZE, RESPSIZE, CIP, SIP = 0, 1, 3, 4, 7, 8, 19, 20


def _ctime(text: str) -> int:
    """`Wed Jun 10 10:02:17 2020` (C ctime layout) to seconds, UTC."""
    _weekday, month, day, clock, year = text.split()
    hour, minute, second = clock.split(":")
    return epoch(int(year), month_number(month), int(day), int(hour), int(minute), int(second))


class Zscaler(Parser):
    """NSS web log lines of 31 quoted CSV fields (the hot path of the benchmark)."""

    key = "zscaler"
    label = "Zscaler NSS (CSV)"
    fields = frozenset({URL, DST_IP, USER, SRC_IP, TOTAL, UPLOAD})
    description = "Zscaler NSS web log feed, quoted CSV (Zscaler NSS feed output for MCAS)."

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self._slow_time = cached_time(_ctime)
        self._days: dict[str, int] = {}

    def _time(self, text: str) -> int:
        """`_ctime`, fast for the fixed layout `Www Mmm dd hh:mm:ss yyyy`: the day's epoch is
        cached (a log spans few days) and the clock read by position; anything else takes the
        general path."""
        if len(text) == 24 and text[13] == ":" and text[16] == ":":
            key = text[4:11] + text[20:]
            base = self._days.get(key)
            if base is None:
                base = self._slow_time(text[:11] + "00:00:00" + text[19:])
                if len(self._days) > 1000:
                    self._days.clear()
                self._days[key] = base
            try:
                return base + int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
            except ValueError:
                pass
        return self._slow_time(text)

    def _fields(self, line: str) -> list[str] | None:
        text = line.strip()
        if not text or text[0] == "#":
            return None
        if text[0] != '"':
            text = syslog_message(text).strip()
            if not text:
                return None
        if text[0] == '"' and text[-1] == '"':
            parts = text[1:-1].split('","')
            if len(parts) >= FIELDS and text.count('"') == 2 * len(parts):
                return parts
        parts = split_csv(text)
        if len(parts) < FIELDS:
            raise BadLine(f"fewer than {FIELDS} CSV fields")
        return parts

    def parse(self, line: str) -> Record | None:
        parts = self._fields(line)
        if parts is None:
            return None
        ts = self._time(parts[TIME])
        src = parts[CIP]
        # A cheap shape check instead of ipaddress on the hot path; the aggregate keys on it.
        if src.count(".") != 3 and ":" not in src:
            raise BadLine("the client address (cip) is not an IP address")
        url = parts[EURL]
        # Host of the URL, inlined (hot path): eurl has no scheme, but tolerate one.
        start = url.find("://")
        host = url[start + 3 :] if start >= 0 else url
        for stop in "/?":
            cut = host.find(stop)
            if cut >= 0:
                host = host[:cut]
        if ":" in host:
            if host.startswith("["):
                host = host[1 : host.find("]")]
            elif host.count(":") == 1:
                host = host.partition(":")[0]
        dst = parts[SIP]
        if dst in ("None", "-", "0.0.0.0"):  # noqa: S104 (NSS writes these for "no server")
            dst = ""
        if not host and not dst:
            raise BadLine("no destination host or address")
        try:
            up = int(parts[REQSIZE] or 0)
            down = int(parts[RESPSIZE] or 0)
        except ValueError:
            raise BadLine("reqsize or respsize is not a number") from None
        user = parts[LOGIN]
        if user in ("-", "None"):
            user = ""
        return (ts, src, user, host.lower(), dst, up, down, parts[ACTION] == "Blocked")
