r"""CEF lines for alerts and activities (product spec 6.3, ArcSight CEF rev. 25).

The outbox maps its rows onto `CefActivity` / `CefAlert` (plain data, no models) and a
`CefFormatter` turns each into one line::

    CEF:0|<vendor>|<product>|<version>|<signature id>|<name>|<severity>|key=value key=value ...

Escaping (what makes a line safe to log, ASVS 16.4.1):

* header fields: ``\`` -> ``\\`` and ``|`` -> ``\|``; CR and LF cannot be escaped in a
  header, so each becomes a space;
* extension values: ``\`` -> ``\\``, ``=`` -> ``\=``, LF -> ``\n``, CR -> ``\r``; ``|`` is
  left alone (allowed in values). A line therefore never contains a raw line break.

Two output modes, chosen deliberately:

* **standard** (default): valid against the ArcSight extension dictionary. Keys with no value
  are left out (with their ``csNLabel``), strings are cut to the dictionary's maximum length
  (``msg`` 1023 characters, ``cs1``..``cs6`` 4000, ...), an IPv4 client address goes to
  ``dvc`` (activities) or ``src`` (alerts) and an IPv6 one to ``c6a1``, and an ``externalId``
  longer than the dictionary's 40 characters is refused (`ValueError`) rather than cut, because
  SIEMs deduplicate on it (our outbox ids are UUIDs: 36 characters). Alerts carry ``rt`` too.
* **reference_compat=True**: byte for byte the reference product's sample lines (spec 6.4):
  every key of the sample is written even when empty (``cn1=``, ``c6a1=``, ``dvc=``), in the
  sample's order, ``c6a1Label="Device IPv6 Address"`` with its literal quotes, single quotes in
  the alert ``msg`` doubled (``''name''``), no ``rt`` on alerts, no truncation, and no length
  check on ``externalId``. Those lines fail strict dictionary validation exactly as the
  reference product's do (empty ``cn1``/``c6a1``, long ``externalId``); use this mode only for
  SIEM content built for the reference product. Client addresses of alerts, which the samples
  predate, are appended after ``cs4`` (``src=`` / ``c6a1Label=... c6a1=``) only when known.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "CefActivity",
    "CefAlert",
    "CefEvent",
    "CefFormatter",
    "epoch_ms",
    "escape_header",
    "escape_value",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


# Maximum lengths from the ArcSight extension dictionary for the string keys we emit.
MAX_LENGTH = {
    "externalId": 40,
    "msg": 1023,
    "suser": 1023,
    "destinationServiceName": 1023,
    "requestClientApplication": 1023,
    **{f"cs{n}": 4000 for n in range(1, 7)},
    **{f"cs{n}Label": 1023 for n in range(1, 7)},
    "cn1Label": 1023,
    "c6a1Label": 1023,
}
# Header fields: the CEF spec gives no limits; these keep a hostile policy name from making a
# line that receivers cut (rsyslog's default message size is 8 KiB).
_HEADER_MAX = 255


def escape_header(value: str) -> str:
    """A CEF header field: backslash and pipe escaped, line breaks turned into spaces."""
    # A chain of str.replace runs in C and returns the string itself when there is nothing to
    # replace: several times faster than str.translate on the usual clean values.
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def escape_value(value: str) -> str:
    """A CEF extension value: backslash, equals sign, LF and CR escaped."""
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")


def epoch_ms(moment: dt.datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (exact, no float rounding)."""
    if moment.tzinfo is None:
        raise ValueError("CEF timestamps need a time zone (got a naive datetime)")
    return (moment - _EPOCH) // _MS


@dataclass(frozen=True, kw_only=True)
class CefEvent:
    """What alerts and activities share (spec 6.3, rows "Activities/Alerts").

    `extra` fills ``cs5`` and ``cs6``: up to two (label, value) pairs.
    """

    id: str  # externalId
    timestamp: dt.datetime  # start, end and rt (aware)
    description: str  # msg, as shown in the console
    user: str = ""  # suser
    app_name: str = ""  # destinationServiceName
    app_ids: Sequence[str] = ()  # cs2 uniqueServiceAppIds
    client_ip: str = ""  # dvc/src (IPv4) or c6a1 (IPv6)
    portal_url: str = ""  # cs1 portalURL
    policy_ids: Sequence[str] = ()  # cs4 policyIDs
    extra: Sequence[tuple[str, str]] = ()  # cs5/cs6 (label, value)

    def __post_init__(self) -> None:
        if len(self.extra) > 2:
            raise ValueError("CEF has room for two extra custom strings (cs5 and cs6)")
        epoch_ms(self.timestamp)


@dataclass(frozen=True, kw_only=True)
class CefActivity(CefEvent):
    """An activity: signature id ``EVENT_CATEGORY_*``, name = the activity type, severity 0."""

    category: str  # e.g. EVENT_CATEGORY_LOGOUT
    action: str  # e.g. "Log out"
    user_agent: str = ""  # requestClientApplication
    target_objects: Sequence[str] = ()  # cs3 targetObjects


@dataclass(frozen=True, kw_only=True)
class CefAlert(CefEvent):
    """An alert: signature id = the alert type, name = the matched policy's name."""

    alert_type: str  # e.g. ALERT_CABINET_EVENT_MATCH_AUDIT
    policy_name: str
    severity: int = 3  # CEF severity 0-10 (the reference product always sends 3)
    risk_score: int | None = None  # cn1 riskScore
    related_activities: Sequence[str] = ()  # cs3 relatedAudits

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.severity <= 10:
            raise ValueError(f"CEF severity must be 0 to 10, not {self.severity}")


# Our alert severities on CEF's 0-10 scale (the lead maps model choices through this).
ALERT_SEVERITY = {"low": 3, "medium": 6, "high": 8}


@functools.lru_cache(maxsize=16384)  # addresses repeat; parsing + str() costs ~20 µs
def _split_ip(value: str) -> tuple[str, str]:
    """("IPv4", "") or ("", "IPv6") in canonical form; ("", "") for anything else."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return "", ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (str(address), "") if address.version == 4 else ("", str(address))


class CefFormatter:
    """Formats `CefActivity` / `CefAlert` records as CEF lines (see the module docstring)."""

    def __init__(
        self,
        *,
        vendor: str | None = None,
        product: str | None = None,
        version: str = "0.1.0",
        reference_compat: bool = False,
    ) -> None:
        self.reference_compat = reference_compat
        default_vendor, default_product = (
            ("MCAS", "SIEM_Agent") if reference_compat else ("OpenCASB", "CASB")
        )
        self._prefix = "CEF:0|{}|{}|{}|".format(
            *(
                escape_header(part[:_HEADER_MAX])
                for part in (vendor or default_vendor, product or default_product, version)
            )
        )

    # -- public --------------------------------------------------------------------------------

    def format(self, event: CefEvent) -> str:
        """One CEF line (no trailing newline)."""
        signature, name, severity = self.header(event)
        extension = " ".join(
            [
                # escape_value, inlined: this is the formatter's hot path.
                key
                + "="
                + value.replace("\\", "\\\\")
                .replace("=", "\\=")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
                for key, value in self._pairs(event)
            ]
        )
        return (
            f"{self._prefix}{escape_header(signature[:_HEADER_MAX])}|"
            f"{escape_header(name[:_HEADER_MAX])}|{severity}|{extension}"
        )

    def header(self, event: CefEvent) -> tuple[str, str, int]:
        """(signature id, name, severity) before escaping."""
        if isinstance(event, CefActivity):
            return event.category, event.action, 0
        if isinstance(event, CefAlert):
            return event.alert_type, event.policy_name, event.severity
        raise TypeError(f"not a CEF event: {type(event).__name__}")

    def fields(self, event: CefEvent) -> list[tuple[str, str]]:
        """The extension's (key, raw value) pairs in order, before escaping."""
        return list(self._pairs(event))

    # -- mapping -------------------------------------------------------------------------------

    def _pairs(self, event: CefEvent) -> Iterator[tuple[str, str]]:
        """(key, value) pairs: in standard mode without empty values (nor their labels), cut
        to the dictionary's lengths; in reference mode everything, as is."""
        if isinstance(event, CefActivity):
            items = self._activity(event)
        elif isinstance(event, CefAlert):
            items = self._alert(event)
        else:
            raise TypeError(f"not a CEF event: {type(event).__name__}")
        if self.reference_compat:
            for key, label, value in items:
                if label is not None:
                    yield label
                yield key, value
            return
        for key, label, value in items:
            if not value:
                continue
            limit = MAX_LENGTH.get(key)
            if limit is not None and len(value) > limit:
                if key == "externalId":
                    raise ValueError(
                        f"externalId is {len(value)} characters; CEF allows at most {limit}"
                    )
                value = value[:limit]
            if label is not None:
                yield label
            yield key, value

    def _addresses(self, event: CefEvent) -> tuple[str, str]:
        """(IPv4, IPv6) of the client; standard mode drops what is not an address, compat mode
        keeps the text as given (in the IPv4 slot, as the reference product's dvc)."""
        if not event.client_ip:
            return "", ""
        ipv4, ipv6 = _split_ip(event.client_ip)
        if not ipv4 and not ipv6 and self.reference_compat:
            return event.client_ip, ""
        return ipv4, ipv6

    @staticmethod
    def _extra(event: CefEvent) -> list[_Item]:
        return [
            (f"cs{number}", (f"cs{number}Label", label), value)
            for number, (label, value) in enumerate(event.extra, start=5)
        ]

    def _activity(self, event: CefActivity) -> list[_Item]:
        when = str(epoch_ms(event.timestamp))
        ipv4, ipv6 = self._addresses(event)
        ipv6_label = ("c6a1Label", '"Device IPv6 Address"' if self.reference_compat else _V6_DEVICE)
        return [
            ("externalId", None, event.id),
            ("rt", None, when),
            ("start", None, when),
            ("end", None, when),
            ("msg", None, event.description),
            ("suser", None, event.user),
            ("destinationServiceName", None, event.app_name),
            ("dvc", None, ipv4),
            ("requestClientApplication", None, event.user_agent),
            ("cs1", _PORTAL, event.portal_url),
            ("cs2", _APP_IDS, ",".join(event.app_ids)),
            ("cs3", ("cs3Label", "targetObjects"), ",".join(event.target_objects)),
            ("cs4", _POLICY_IDS, ",".join(event.policy_ids)),
            *self._extra(event),
            ("c6a1", ipv6_label, ipv6),
        ]

    def _alert(self, event: CefAlert) -> list[_Item]:
        when = str(epoch_ms(event.timestamp))
        ipv4, ipv6 = self._addresses(event)
        risk = "" if event.risk_score is None else str(int(event.risk_score))
        message = event.description
        compat = self.reference_compat
        if compat:
            # The reference agent runs its text through Java's MessageFormat quoting.
            message = message.replace("'", "''")
        items: list[_Item] = [("externalId", None, event.id)]
        if not compat:
            items.append(("rt", None, when))
        items += [
            ("start", None, when),
            ("end", None, when),
            ("msg", None, message),
            ("suser", None, event.user),
            ("destinationServiceName", None, event.app_name),
            ("cn1", ("cn1Label", "riskScore"), risk),
            ("cs1", _PORTAL, event.portal_url),
            ("cs2", _APP_IDS, ",".join(event.app_ids)),
            ("cs3", ("cs3Label", "relatedAudits"), ",".join(event.related_activities)),
            ("cs4", _POLICY_IDS, ",".join(event.policy_ids)),
            *self._extra(event),
        ]
        if not compat or ipv4:
            items.append(("src", None, ipv4))
        if not compat or ipv6:
            label = '"Client IPv6 Address"' if compat else "Client IPv6 Address"
            items.append(("c6a1", ("c6a1Label", label), ipv6))
        return items


# (key, (label key, label) or None, value)
_Item = tuple[str, "tuple[str, str] | None", str]
_PORTAL = ("cs1Label", "portalURL")
_APP_IDS = ("cs2Label", "uniqueServiceAppIds")
_POLICY_IDS = ("cs4Label", "policyIDs")
_V6_DEVICE = "Device IPv6 Address"
