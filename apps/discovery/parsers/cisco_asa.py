"""Cisco ASA firewall syslog (messages documented in "Cisco ASA Series Syslog Messages").

Read (logging level 6 or finer, as the spec asks):

- %ASA-6-302014 / 302016 / 302021 Teardown TCP/UDP/ICMP connection: one record per connection,
  with its byte total:
  `%ASA-6-302014: Teardown TCP connection 4521 for outside:162.125.66.18/443 to
  inside:10.0.5.93/51234 duration 0:00:30 bytes 5830 TCP FINs`
- %ASA-4-106023 Deny: a blocked record,
  `%ASA-4-106023: Deny tcp src inside:10.0.5.93/51234 dst outside:104.16.1.1/443 by
  access-group "inside_in" [0x0, 0x0]`
- %ASA-2-106001 / 106006 / 106007 "... connection denied from A/p to B/p ...": blocked;
- %ASA-6-106100 access-list ... denied ...: blocked.

%ASA-6-302013/302015 "Built" messages are not records: the Teardown of the same connection
carries its bytes, so counting both would count each connection twice. Other %ASA messages are
not records either; a line without an %ASA- (or %FWSM-/%PIX-) tag is refused.

Teardown messages do not say which side opened the connection; the side whose port is a well
known one (< 1024) is the destination, and when that does not decide, the second ("to") side is
taken as the client, as in outbound connections. Time: the ASA's own timestamp
(`Jun 10 2020 10:02:17:` with `logging timestamp`) or the syslog header's (year guessed), UTC.
Spec 5.2: destination address, source address and total bytes (kept in `bytes_down`).
"""

from __future__ import annotations

import re

from .base import (
    DST_IP,
    MONTHS,
    SRC_IP,
    TOTAL,
    BadLine,
    Parser,
    Record,
    check_ip,
    checked_epoch,
    syslog_time,
)

_TAG = re.compile(r"%(?:ASA|FWSM|PIX)-\d-(\d{6}): ")
_ASA_TIME = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{4}) (\d\d):(\d\d):(\d\d)")
_ENDPOINT = r"\S+?:([0-9a-fA-F.:]+)/(\d+)"
_TEARDOWN = re.compile(
    rf"Teardown \w+ connection \d+ for {_ENDPOINT}(?:\([^)]*\))? to {_ENDPOINT}.*? bytes (\d+)"
)
_DENY_106023 = re.compile(rf"Deny \w+ src {_ENDPOINT} dst {_ENDPOINT}")
_DENIED_FROM = re.compile(r"denied from ([0-9a-fA-F.:]+)/(\d+) to ([0-9a-fA-F.:]+)/(\d+)")
_ACL_106100 = re.compile(r"denied \w+ \S+?/([0-9a-fA-F.:]+)\((\d+)\) -> \S+?/([0-9a-fA-F.:]+)")


def _asa_time(text: str, head: str) -> int:
    match = _ASA_TIME.search(head)
    if match:
        name, day, year, hour, minute, second = match.groups()
        month = MONTHS.get(name)
        if month:
            return checked_epoch(int(year), month, int(day), int(hour), int(minute), int(second))
    value = syslog_time(text)
    if value is None:
        raise BadLine("no timestamp before the %ASA message")
    return value


class CiscoAsa(Parser):
    """ASA connection teardowns (with bytes) and denies."""

    key = "cisco_asa"
    label = "Cisco ASA firewall (syslog)"
    fields = frozenset({DST_IP, SRC_IP, TOTAL})
    description = "Cisco ASA syslog messages 302014/302016/302021, 106001/106023/106100."

    def parse(self, line: str) -> Record | None:
        text = line.strip()
        if not text:
            return None
        tag = _TAG.search(text)
        if tag is None:
            raise BadLine("no %ASA- message tag")
        message_id = tag.group(1)
        body = text[tag.end() :]
        size = 0
        blocked = True
        if message_id in ("302014", "302016", "302021"):
            match = _TEARDOWN.search(body)
            if match is None:
                raise BadLine("a Teardown message in an unexpected layout")
            first_ip, first_port, second_ip, second_port, size_text = match.groups()
            size = int(size_text)
            blocked = False
            if int(first_port) >= 1024 and int(second_port) < 1024:
                src, dst = first_ip, second_ip
            else:
                src, dst = second_ip, first_ip
        elif message_id == "106023":
            match = _DENY_106023.search(body)
            if match is None:
                raise BadLine("a Deny message in an unexpected layout")
            src, dst = match.group(1), match.group(3)
        elif message_id in ("106001", "106006", "106007"):
            match = _DENIED_FROM.search(body)
            if match is None:
                raise BadLine("a denied-connection message in an unexpected layout")
            src, dst = match.group(1), match.group(3)
        elif message_id == "106100" and " denied " in body:
            match = _ACL_106100.search(body)
            if match is None:
                raise BadLine("an access-list message in an unexpected layout")
            src, dst = match.group(1), match.group(3)
        else:
            return None  # Built, permitted ACL hits, system messages: not a transaction
        check_ip(src)
        check_ip(dst, "destination address")
        return (_asa_time(text, text[: tag.start()]), src, "", "", dst, 0, size, blocked)
