"""Client address of a request, and the country of an address (offline, from geoip2fast)."""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the address the n-th trusted proxy saw (TRUSTED_PROXY_COUNT).

    X-Forwarded-For is read from the right: entries left of what our own proxies appended are
    chosen by the client and never trusted.
    """
    remote = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            remote = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        return None


@functools.lru_cache(maxsize=1)
def _geoip():
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz", verbose=False)


def country_of(ip: str | None) -> str | None:
    """ISO 3166 alpha-2 code of `ip`, or None for private, reserved or unknown addresses."""
    if not ip:
        return None
    result = _geoip().lookup(ip)
    code = getattr(result, "country_code", "") or ""
    if len(code) != 2 or not code.isalpha() or getattr(result, "is_private", False):
        return None
    return code.upper()
