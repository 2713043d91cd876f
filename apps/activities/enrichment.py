"""Enrichment of ingested activities: geo and ISP, the tenant's IP ranges, the user agent.

All offline and in memory, because it runs for every event:
- Country and ISP (the AS name) come from geoip2fast's ASN database
  (`geoip2fast-asn-ipv6.dat.gz`, shipped with the package, IPv4 and IPv6).
- City comes from the GeoLite2 City database shipped by the `maxminddb-geolite2` package
  (MaxMind, July 2018, CC BY-SA). It is old, so a city is kept only when that database puts the
  address in the same country as the current country database; otherwise the city stays empty.
- IP range category, tags and ISP override: the most specific (longest prefix) of the tenant's
  `IpRange` CIDRs holding the address. The compiled table is cached per tenant and process and
  re-checked once per ingestion call against a cheap stamp (row count + newest `updated_at`),
  so a range changed in the console reaches every worker without a shared cache.
  Changing ranges does not rewrite activities already stored: they keep what was true then.
- User agent -> device type (PC / mobile / tablet / other), OS and browser, via ua-parser.

An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is treated, stored and matched as IPv4.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import threading
import uuid
from dataclasses import dataclass

from django.db.models import Count, Max

from .categories import DeviceType
from .models import IpRange

# --- Addresses --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    text: str  # canonical spelling, IPv4 for v4-mapped addresses
    version: int
    value: int
    is_global: bool


def parse_ip(raw: str) -> Address | None:
    """The canonical address of `raw`, or None when it is not an IPv4/IPv6 address."""
    try:
        address = ipaddress.ip_address(raw.strip())
    except (ValueError, AttributeError):
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.version == 6 and address.scope_id:
        address = ipaddress.IPv6Address(int(address))  # "%eth0" says nothing about the client
    return Address(str(address), address.version, int(address), address.is_global)


# --- Country, city, ISP -------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _asn_db():
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn-ipv6.dat.gz", verbose=False)


@functools.lru_cache(maxsize=1)
def _city_db():
    try:
        import maxminddb
        from _maxminddb_geolite2 import geolite2_database
    except ImportError:  # the package is optional at run time: no city then
        return None
    return maxminddb.open_database(geolite2_database(), maxminddb.MODE_AUTO)


@dataclass(frozen=True, slots=True)
class Geo:
    country: str = ""
    city: str = ""
    isp: str = ""


_NO_GEO = Geo()


@functools.lru_cache(maxsize=65536)
def geo_of(ip: str) -> Geo:
    """Country (ISO alpha-2), city and ISP of a canonical public address; empty otherwise."""
    result = _asn_db().lookup(ip)
    code = (getattr(result, "country_code", "") or "").upper()
    if getattr(result, "is_private", False) or len(code) != 2 or not code.isalpha():
        return _NO_GEO
    isp = (getattr(result, "asn_name", "") or "")[:200]
    city = ""
    reader = _city_db()
    if reader is not None:
        try:
            record = reader.get(ip)
        except ValueError:
            record = None
        if record and (record.get("country") or {}).get("iso_code") == code:
            city = ((record.get("city") or {}).get("names") or {}).get("en", "")[:120]
    return Geo(code, city, isp)


# --- The tenant's IP ranges ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RangeHit:
    range_id: uuid.UUID
    name: str
    category: int
    tags: tuple[str, ...]
    tags_json: str  # what the activity stores, serialised once per range
    isp_override: str


_BITS = {4: 32, 6: 128}


class RangeTable:
    """Longest-prefix match over a set of CIDRs: one dict per prefix length, longest first.

    A look-up costs one dict probe per distinct prefix length in use (a handful in practice).
    """

    def __init__(self, ranges: list[tuple[list[str], RangeHit]]):
        tables: dict[int, dict[int, dict[int, RangeHit]]] = {4: {}, 6: {}}
        for cidrs, hit in ranges:
            for cidr in cidrs:
                network = _network(cidr)
                if network is None:
                    continue
                key = int(network.network_address) >> (_BITS[network.version] - network.prefixlen)
                # Two rows claiming the same network cannot both win; the first (by name) does.
                tables[network.version].setdefault(network.prefixlen, {}).setdefault(key, hit)
        # Per version: (shift, {network >> shift: hit}) from the longest prefix down.
        self._tables = {
            version: [
                (_BITS[version] - plen, by_prefix[plen]) for plen in sorted(by_prefix, reverse=True)
            ]
            for version, by_prefix in tables.items()
        }

    def match(self, address: Address) -> RangeHit | None:
        for shift, table in self._tables[address.version]:
            hit = table.get(address.value >> shift)
            if hit is not None:
                return hit
        return None

    def __bool__(self) -> bool:
        return any(self._tables.values())


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        network = ipaddress.ip_network(str(cidr).strip(), strict=False)
    except ValueError:
        return None
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is not None and network.prefixlen >= 96:
        # ::ffff:a.b.c.d/(n+96) is the IPv4 network a.b.c.d/n
        return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False)
    return network


_cache: dict[uuid.UUID, tuple[tuple, RangeTable]] = {}
_cache_lock = threading.Lock()


def _stamp() -> tuple:
    agg = IpRange.objects.aggregate(n=Count("id"), newest=Max("updated_at"))
    return (agg["n"], agg["newest"])


def range_table(tenant) -> RangeTable:
    """The current tenant's compiled IP ranges (rebuilt when its ranges changed)."""
    stamp = _stamp()
    cached = _cache.get(tenant.id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rows = IpRange.objects.order_by("name").values_list(
        "id", "name", "cidrs", "category", "tags", "isp_override"
    )
    table = RangeTable(
        [
            (
                list(cidrs or []),
                RangeHit(
                    range_id=pk,
                    name=name,
                    category=category,
                    tags=tuple(tags or ()),
                    tags_json=json.dumps(list(tags or ()), ensure_ascii=False),
                    isp_override=isp_override,
                ),
            )
            for pk, name, cidrs, category, tags, isp_override in rows
        ]
    )
    with _cache_lock:
        _cache[tenant.id] = (stamp, table)
    return table


def invalidate(tenant_id: uuid.UUID) -> None:
    """Forget a tenant's compiled ranges (called by the IP range services on every change)."""
    with _cache_lock:
        _cache.pop(tenant_id, None)


# --- User agent ---------------------------------------------------------------------------------

_MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "Firefox OS", "KaiOS", "Tizen"}
_PC_OS = {
    "Windows",
    "Mac OS X",
    "macOS",
    "Linux",
    "Ubuntu",
    "Debian",
    "Fedora",
    "Red Hat",
    "Chrome OS",
    "ChromeOS",
    "FreeBSD",
    "OpenBSD",
    "NetBSD",
    "openSUSE",
    "Gentoo",
    "Mint",
    "Arch Linux",
}
_TABLET_FAMILIES = ("iPad", "Kindle", "Nexus 7", "Nexus 9", "Nexus 10", "Galaxy Tab", "Tablet")


@dataclass(frozen=True, slots=True)
class AgentFacts:
    device_type: str = ""
    os: str = ""
    browser: str = ""


_NO_AGENT = AgentFacts()


def _version(family: str, major: str | None, minor: str | None = None) -> str:
    if not major:
        return family
    return f"{family} {major}.{minor}" if minor else f"{family} {major}"


@functools.lru_cache(maxsize=8192)
def parse_user_agent(ua: str) -> AgentFacts:
    """Device type, OS and browser of a user agent string ("" for an empty one)."""
    if not ua:
        return _NO_AGENT
    from ua_parser import parse

    result = parse(ua)
    agent, os_, device = result.user_agent, result.os, result.device
    os_family = os_.family if os_ else ""
    device_family = device.family if device else ""
    brand = (device.brand or "") if device else ""
    if device_family == "Spider" or brand == "Spider":
        kind = DeviceType.OTHER
    elif (
        device_family.startswith(_TABLET_FAMILIES)
        or "Tablet" in brand
        or (os_family == "Android" and "Mobile" not in ua and "Android" in ua)
    ):
        kind = DeviceType.TABLET
    elif os_family in _MOBILE_OS or device_family in ("iPhone", "iPod"):
        kind = DeviceType.MOBILE
    elif os_family in _PC_OS:
        kind = DeviceType.PC
    else:
        kind = DeviceType.OTHER
    os_text = ""
    if os_ is not None:
        os_text = _version(os_family, os_.major, os_.minor if os_family == "Mac OS X" else None)
    browser = _version(agent.family, agent.major) if agent is not None else ""
    return AgentFacts(str(kind), os_text[:60], browser[:60])
