"""Outbound HTTPS to SaaS vendors: TLS 1.2 or newer, verified certificates, no SSRF.

Every connector request goes through `GuardedTransport`:
- only `https://` URLs, never with user:password in them;
- TLS 1.2 minimum, certificates verified against the system's CAs plus `CONNECTOR_CA_BUNDLE`;
- the host name is resolved once, *by us*, every address checked, and the socket connected to
  an address that passed the check (so a DNS answer that changes between the check and the
  connection, "DNS rebinding", cannot reach an internal service). Loopback, private,
  link-local (169.254.169.254, the cloud metadata service), shared, reserved and multicast
  addresses are refused unless the host name is listed in `CONNECTOR_ALLOWED_PRIVATE_HOSTS`.
  TLS still verifies the certificate against the host *name*.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import typing
from functools import lru_cache

import httpcore
import httpx
from django.conf import settings


class DestinationRefused(Exception):
    """The URL may not be fetched: wrong scheme, or the host is an internal address."""


def allowed_private_hosts() -> frozenset[str]:
    return frozenset(h.lower() for h in settings.CONNECTOR_ALLOWED_PRIVATE_HOSTS)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, whatever its spelling
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved and
    # unspecified addresses; multicast is global for some ranges but never a web server.
    return ip.is_global and not ip.is_multicast


def check_url(url: str | httpx.URL) -> httpx.URL:
    """The URL's shape: https, a host, no credentials in it. Raises `DestinationRefused`."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise DestinationRefused(f"not a valid URL ({exc})") from exc
    if parsed.scheme != "https":
        raise DestinationRefused("only https:// addresses are allowed")
    if not parsed.host:
        raise DestinationRefused("the address has no host name")
    if parsed.userinfo:
        raise DestinationRefused("the address may not contain a user name or password")
    return parsed


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` may be reached at; raises `DestinationRefused` if any is internal.

    All addresses must be public, not just one: otherwise a name with one public and one
    internal address would let a retried connection reach the internal one.
    """
    host = host.strip("[]").lower()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"the host name {host} does not resolve") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if host in allowed_private_hosts():
        return addresses
    internal = [a for a in addresses if not _public(a)]
    if internal or not addresses:
        raise DestinationRefused(
            f"{host} resolves to an internal address ({', '.join(internal)}): loopback, "
            "private, link-local and metadata addresses are refused"
        )
    return addresses


def check_destination(url: str) -> None:
    """Full check for a URL an admin typed in: shape and where its host resolves now."""
    parsed = check_url(url)
    resolve(parsed.host, parsed.port or 443)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses `resolve` approved, pinned for this connection."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable | None = None,
    ) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        for address in resolve(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error


@lru_cache(maxsize=4)
def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    context = ssl.create_default_context()  # verifies certificates and host names
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def ssl_context() -> ssl.SSLContext:
    return _ssl_context(settings.CONNECTOR_CA_BUNDLE)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with our TLS context and the guarded network backend."""

    def __init__(self) -> None:
        super().__init__(verify=ssl_context(), trust_env=False)
        # httpx builds its own connection pool; we replace it with one that uses our backend
        # (httpx has no public knob for the network backend; pinned to httpx<0.29).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context(),
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=30.0,
            network_backend=GuardedBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url)
        return super().handle_request(request)
