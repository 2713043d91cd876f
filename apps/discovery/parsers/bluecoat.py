"""Blue Coat (Symantec) ProxySG access log, W3C ELFF.

The ProxySG writes its access log in W3C extended format with a `#Fields:` directive; the
default access-log format `bcreportermain_v1` is:

    date time time-taken c-ip cs-username cs-auth-group x-exception-id sc-filter-result
    cs-categories cs(Referer) sc-status s-action cs-method rs(Content-Type) cs-uri-scheme cs-host
    cs-uri-port cs-uri-path cs-uri-query cs-uri-extension cs(User-Agent) s-ip sc-bytes cs-bytes
    x-virus-id

Records are read by the generic W3C parser (`w3c.py`); lines that arrive without a `#Fields:`
directive (syslog feeds) are read with the bcreportermain_v1 columns above. Extracted: time
(UTC), c-ip, cs-username, cs-host (the URL's host), sc-bytes (download), cs-bytes (upload);
`sc-filter-result` DENIED (or an x-exception-id, or s-action TCP_DENIED) is a blocked request.
`s-ip` is the proxy's own address, so there is no destination address (spec 5.2).
"""

from __future__ import annotations

from .base import SRC_IP, TOTAL, UPLOAD, URL, USER
from .w3c import W3C

BCREPORTERMAIN_V1 = (
    "date", "time", "time-taken", "c-ip", "cs-username", "cs-auth-group", "x-exception-id",
    "sc-filter-result", "cs-categories", "cs(Referer)", "sc-status", "s-action", "cs-method",
    "rs(Content-Type)", "cs-uri-scheme", "cs-host", "cs-uri-port", "cs-uri-path", "cs-uri-query",
    "cs-uri-extension", "cs(User-Agent)", "s-ip", "sc-bytes", "cs-bytes", "x-virus-id",
)  # fmt: skip


class BlueCoat(W3C):
    """ProxySG access log: W3C with bcreportermain_v1 as the default columns."""

    key = "bluecoat"
    label = "Blue Coat ProxySG (W3C access log)"
    fields = frozenset({URL, USER, SRC_IP, TOTAL, UPLOAD})
    description = "ProxySG access log, W3C ELFF, default format bcreportermain_v1 (Broadcom)."
    default_fields = BCREPORTERMAIN_V1
