"""Syslog framing and delivery of CEF lines to a SIEM over UDP, TCP or TLS.

Framing (`SyslogFormat.frame`) follows the reference SIEM agent's options (spec 6.2):
``[<PRI>]TIMESTAMP [HOSTNAME ]MESSAGE`` with one of three time formats, all in UTC:

* ``rfc5424``: ``2023-03-02T21:10:02.022Z`` (the default, and the layout of the spec's samples);
* ``rfc3164``: ``Mar  2 21:10:02`` (RFC 3164 4.1.2: a day under 10 is padded with a space);
* ``rfc3164_year``: ``Mar 02 2023 21:10:02`` (ArcSight's ``MMM dd yyyy HH:mm:ss``).

With an ``app_name`` and the RFC 5424 time format it writes a full RFC 5424 header instead:
``<PRI>1 TIMESTAMP HOSTNAME APP-NAME - - - MESSAGE``.

Transports (`SyslogSender`): UDP, one message per datagram (RFC 5426); TCP with octet counting,
``<length> <message>`` (RFC 6587 3.4.1: a line break inside a message cannot split it), or
newline-terminated frames for receivers that want them; TLS (RFC 5425: octet counting over TLS
1.2 or newer, the server's certificate checked against a CA file or the system's store, and its
name against the configured host). Every network call has a deadline, and every failure becomes
a `SyslogError` whose message says what went wrong in plain words.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import select
import socket
import ssl
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "SyslogError",
    "SyslogFormat",
    "SyslogSender",
    "TimeFormat",
    "Transport",
    "octet_count",
    "syslog_severity",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UDP_MAX = 65_507  # largest UDP payload over IPv4


class TimeFormat(StrEnum):
    RFC3164 = "rfc3164"
    RFC3164_YEAR = "rfc3164_year"
    RFC5424 = "rfc5424"


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class SyslogError(Exception):
    """A delivery failure, worded for the integrations page."""


def syslog_severity(cef_severity: int) -> int:
    """A syslog severity (0 emergency .. 7 debug) for a CEF severity (0..10)."""
    if cef_severity <= 0:
        return 6  # informational
    if cef_severity <= 3:
        return 5  # notice
    if cef_severity <= 6:
        return 4  # warning
    if cef_severity <= 8:
        return 3  # error
    return 2  # critical


def _printable(value: str, what: str, limit: int) -> str:
    if not 1 <= len(value) <= limit or any(not 33 <= ord(c) <= 126 for c in value):
        raise ValueError(
            f"the {what} must be 1 to {limit} printable ASCII characters without spaces"
        )
    return value


def format_time(moment: dt.datetime, time_format: TimeFormat) -> str:
    if moment.tzinfo is None:
        raise ValueError("syslog timestamps need a time zone (got a naive datetime)")
    t = moment.astimezone(dt.UTC)
    # isoformat() is about twice as fast as strftime(); in UTC it always ends in "+00:00".
    iso = t.isoformat(timespec="milliseconds")
    if time_format == TimeFormat.RFC5424:
        return iso[:-6] + "Z"
    month = _MONTHS[t.month - 1]
    if time_format == TimeFormat.RFC3164_YEAR:
        return f"{month} {t.day:02d} {t.year} {iso[11:19]}"
    return f"{month} {t.day:2d} {iso[11:19]}"


@dataclass(frozen=True)
class SyslogFormat:
    """How a message is wrapped: time format, optional PRI and host name (spec 6.2)."""

    time_format: TimeFormat = TimeFormat.RFC5424
    include_pri: bool = False
    facility: int = 16  # local0
    hostname: str = ""  # "" leaves the host name out
    app_name: str = ""  # with RFC 5424 time: a full RFC 5424 header

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_format", TimeFormat(self.time_format))
        if not 0 <= self.facility <= 23:
            raise ValueError("the syslog facility must be 0 to 23")
        if self.hostname:
            _printable(self.hostname, "host name", 255)
        if self.app_name:
            _printable(self.app_name, "application name", 48)
            if self.time_format != TimeFormat.RFC5424:
                raise ValueError("an application name needs the RFC 5424 time format")

    def frame(self, message: str, *, timestamp: dt.datetime, severity: int = 6) -> bytes:
        """The syslog message (without transport framing), UTF-8."""
        if not 0 <= severity <= 7:
            raise ValueError("the syslog severity must be 0 to 7")
        when = format_time(timestamp, self.time_format)
        pri = f"<{self.facility * 8 + severity}>"
        if self.app_name:
            host = self.hostname or "-"
            return f"{pri}1 {when} {host} {self.app_name} - - - {message}".encode()
        head = pri if self.include_pri else ""
        host = f" {self.hostname}" if self.hostname else ""
        return f"{head}{when}{host} {message}".encode()


def octet_count(payload: bytes) -> bytes:
    """RFC 6587 3.4.1 / RFC 5425 4.3 framing: ``<length> <message>``."""
    return b"%d %b" % (len(payload), payload)


_OLD_TLS_REASONS = {
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "WRONG_SSL_VERSION",
    "NO_PROTOCOLS_AVAILABLE",
    "VERSION_TOO_LOW",
}


class SyslogSender:
    """Sends syslog messages to one receiver; connects on first use and reconnects once per send.

    ``send`` and ``send_many`` take messages framed by `SyslogFormat.frame` and add the
    transport's framing. Each connect and each write is bounded by ``timeout`` seconds; a
    ``send_many`` also gives up once ``deadline`` seconds have passed (checked between writes,
    so it returns within ``deadline + timeout``; resolving the host name is left to the
    system's resolver and its own timeouts). A stream whose peer closed it is noticed before
    writing and reopened; a write that fails is retried once on a new connection, so a message
    can arrive twice (receivers deduplicate on ``externalId``) but a failure is never silent.
    One sender per worker: it is not shared between threads.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transport: Transport | str = Transport.TCP,
        timeout: float = 5.0,
        deadline: float = 60.0,
        octet_counting: bool = True,
        ca_file: str | None = None,
        server_name: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        batch_bytes: int = 64 * 1024,
    ) -> None:
        self.host, self.port = host, int(port)
        self.transport = Transport(transport)
        self.timeout, self.deadline = timeout, deadline
        self.octet_counting = octet_counting or self.transport == Transport.TLS
        self.batch_bytes = batch_bytes
        self._sock: socket.socket | None = None
        self._context: ssl.SSLContext | None = None
        self._server_name = server_name or host
        if self.transport == Transport.TLS:
            self._context = self._tls_context(ca_file, client_cert, client_key)

    # -- set-up --------------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port} ({self.transport.value.upper()})"

    def _tls_context(
        self, ca_file: str | None, client_cert: str | None, client_key: str | None
    ) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SyslogError(f"the CA file {ca_file} could not be read: {_reason(exc)}") from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        if client_cert:
            try:
                context.load_cert_chain(client_cert, client_key)
            except (OSError, ssl.SSLError) as exc:
                raise SyslogError(
                    f"the client certificate {client_cert} could not be loaded: {_reason(exc)}"
                ) from exc
        return context

    def connect(self) -> None:
        """Open the connection now (done by the first send otherwise)."""
        self.close()
        try:
            if self.transport == Transport.UDP:
                family, kind, proto, _, address = socket.getaddrinfo(
                    self.host, self.port, type=socket.SOCK_DGRAM
                )[0]
                sock = socket.socket(family, kind, proto)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(address)
                except OSError:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self._context is not None:
                    try:
                        sock = self._context.wrap_socket(sock, server_hostname=self._server_name)
                    except BaseException:
                        sock.close()
                        raise
        except (OSError, ssl.SSLError) as exc:
            raise SyslogError(self._explain(exc, "connect to")) from exc
        if self._context is None:
            # Plain writes run on a blocking socket bounded by the kernel (SO_SNDTIMEO): one
            # send() per write instead of Python's poll() + send(). Not for TLS: the ssl module
            # retries a blocking SSL_write that timed out for ever, so TLS keeps Python's timeout.
            seconds = max(self.timeout, 0.001)
            sock.settimeout(None)
            sock.setsockopt(
                socket.SOL_SOCKET,
                socket.SO_SNDTIMEO,
                struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000)),
            )
        self._sock = sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> SyslogSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def tls_version(self) -> str | None:
        """The negotiated TLS version ("TLSv1.3"), when connected over TLS."""
        sock = self._sock
        return sock.version() if isinstance(sock, ssl.SSLSocket) else None

    # -- sending -------------------------------------------------------------------------------

    def frame(self, message: bytes) -> bytes:
        """The transport's framing around one syslog message."""
        if self.transport == Transport.UDP:
            if len(message) > UDP_MAX:
                raise SyslogError(
                    f"a message of {len(message)} bytes does not fit in one UDP datagram "
                    f"({UDP_MAX} at most); use TCP or TLS"
                )
            return message
        if self.octet_counting:
            return octet_count(message)
        if b"\n" in message:
            raise SyslogError("a message with a line break cannot be sent with newline framing")
        return message + b"\n"

    def send(self, message: bytes) -> None:
        """Deliver one syslog message (as `SyslogFormat.frame` returns it)."""
        self._deliver([self.frame(message)], time.monotonic() + self.deadline)

    def send_many(self, messages: Iterable[bytes]) -> int:
        """Deliver messages in order; several frames share one write on streams. Returns the
        count sent; on failure raises `SyslogError` (messages of the failed write may or may not
        have arrived: the caller resends from its cursor)."""
        end = time.monotonic() + self.deadline
        count = 0
        if self.transport == Transport.UDP:
            for message in messages:
                self._deliver([self.frame(message)], end)
                count += 1
            return count
        batch: list[bytes] = []
        size = 0
        for message in messages:
            framed = self.frame(message)
            batch.append(framed)
            size += len(framed)
            if size >= self.batch_bytes:
                self._deliver(batch, end)
                count += len(batch)
                batch, size = [], 0
        if batch:
            self._deliver(batch, end)
            count += len(batch)
        return count

    def _deliver(self, frames: list[bytes], end: float) -> None:
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        for attempt in (1, 2):
            if time.monotonic() >= end:
                raise SyslogError(
                    f"sending to {self.where} took longer than {self.deadline:g} seconds"
                )
            if self._sock is None or self._peer_closed():
                self.connect()
            sock = self._sock
            assert sock is not None
            try:
                if self.transport == Transport.UDP:
                    sock.send(data)
                else:
                    sock.sendall(data)
                return
            except (OSError, ssl.SSLError) as exc:
                self.close()
                if attempt == 2 or _timed_out(exc):
                    raise SyslogError(self._explain(exc, "send to")) from exc

    def _peer_closed(self) -> bool:
        """True when the receiver closed the stream (so the next write would be lost)."""
        sock = self._sock
        if sock is None or self.transport == Transport.UDP:
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not readable:
            return False
        # Receivers send nothing on syslog streams: readable means EOF, a reset or TLS
        # housekeeping (session tickets, close_notify).
        try:
            sock.setblocking(False)
            try:
                data = sock.recv(4096)
            finally:
                sock.settimeout(self.timeout if self._context is not None else None)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return False
        except (OSError, ssl.SSLError):
            self.close()
            return True
        if data:
            return False
        self.close()
        return True

    # -- errors in plain words -----------------------------------------------------------------

    def _explain(self, exc: BaseException, doing: str) -> str:
        where = self.where
        if _timed_out(exc):
            return (
                f"could not {doing} {where}: no answer within {self.timeout:g} seconds "
                "(the receiver is too slow or unreachable)"
            )
        if isinstance(exc, ssl.SSLCertVerificationError):
            return (
                f"could not {doing} {where}: the receiver's certificate was refused "
                f"({exc.verify_message or _reason(exc)})"
            )
        if isinstance(exc, ssl.SSLError) and (exc.reason or "") in _OLD_TLS_REASONS:
            return (
                f"could not {doing} {where}: the receiver offers only TLS older than 1.2, "
                "which is refused"
            )
        if isinstance(exc, ssl.SSLError):
            return f"could not {doing} {where}: the TLS handshake failed ({_reason(exc)})"
        if isinstance(exc, socket.gaierror):
            return f"could not {doing} {where}: the host name {self.host!r} was not found"
        if isinstance(exc, ConnectionRefusedError):
            return f"could not {doing} {where}: the connection was refused (nothing listens there)"
        if isinstance(exc, ConnectionResetError | BrokenPipeError):
            return f"could not {doing} {where}: the receiver closed the connection"
        if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"could not {doing} {where}: the network cannot reach it"
        return f"could not {doing} {where}: {_reason(exc)}"


def _timed_out(exc: BaseException) -> bool:
    """A timeout: Python's own, or the kernel's send timeout (EAGAIN on a blocking socket)."""
    return isinstance(exc, TimeoutError | BlockingIOError | ssl.SSLWantWriteError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason.replace("_", " ").lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
