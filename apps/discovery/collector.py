"""The log collector: syslog listeners that feed data sources (`manage.py logcollector`).

At start it loads every data source whose receiver is syslog over UDP or TCP, in every active
tenant (a cross-tenant job: it walks the tenants and enters each one's scope), and binds each
source's port on DISCOVERY_COLLECTOR_BIND. Two sources on one port are refused at start: the
collector could not tell their logs apart. Sources added or changed later are picked up when
the collector restarts; a tenant cancelled since the start is seen at the next upload (the
status is read from the database then), and its lines are dropped.

Framing: a UDP datagram is one message; TCP carries newline-delimited messages or RFC 6587
octet-counted frames (`<length> <PRI>...`), told apart frame by frame. Messages keep their
syslog header (the parsers strip it). Lines are buffered per source and handed to
`services.upload_to_source` as one upload when DISCOVERY_COLLECTOR_BATCH_LINES lines are
waiting or the oldest has waited DISCOVERY_COLLECTOR_BATCH_SECONDS, and on shutdown.
"""

from __future__ import annotations

import logging
import re
import selectors
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from apps.tenants.models import Tenant, TenantStatus
from apps.tenants.scoping import tenant_context

from . import services
from .models import DataSource, Receiver, Upload, UploadSource

log = logging.getLogger(__name__)

ACTOR = "log collector"
MAX_MESSAGE = 64 * 1024  # a TCP line longer than this is cut (no syslog message is that long)
_OCTET_COUNTED = re.compile(rb"(\d{1,6}) (?=<)")
SYSLOG = (Receiver.SYSLOG_UDP, Receiver.SYSLOG_TCP)


class CollectorError(Exception):
    """The collector cannot start (a port clash, a port it cannot bind)."""


@dataclass
class Feed:
    """One data source the collector listens for, and the lines waiting to be uploaded."""

    tenant: Tenant
    source_id: uuid.UUID
    name: str
    port: int
    protocol: str  # "udp" or "tcp"
    lines: list[bytes] = field(default_factory=list)
    since: float | None = None  # monotonic time of the oldest waiting line

    @property
    def label(self) -> str:
        return f"{self.tenant.slug}/{self.name} ({self.protocol.upper()} {self.port})"


def load_feeds() -> list[Feed]:
    """Every syslog data source of every active tenant; refuses two sources on one port."""
    feeds: list[Feed] = []
    for tenant in Tenant.objects.filter(status=TenantStatus.ACTIVE).order_by("slug"):
        with tenant_context(tenant):
            sources = DataSource.objects.filter(receiver__in=SYSLOG, port__isnull=False)
            for source in sources.order_by("name"):
                protocol = "tcp" if source.receiver == Receiver.SYSLOG_TCP else "udp"
                feeds.append(Feed(tenant, source.pk, source.name, source.port, protocol))
    by_port: dict[int, Feed] = {}
    for feed in feeds:
        other = by_port.get(feed.port)
        if other is not None:
            raise CollectorError(
                f"Port {feed.port} is configured for two data sources, {other.label} and "
                f"{feed.label}; give each its own port and start the collector again."
            )
        by_port[feed.port] = feed
    return feeds


class Collector:
    """Listens on each feed's port and uploads what arrives, batch by batch."""

    def __init__(
        self,
        feeds: list[Feed],
        *,
        bind: str | None = None,
        batch_lines: int | None = None,
        batch_seconds: float | None = None,
    ) -> None:
        self.feeds = feeds
        self.bind = settings.DISCOVERY_COLLECTOR_BIND if bind is None else bind
        self.batch_lines = batch_lines or settings.DISCOVERY_COLLECTOR_BATCH_LINES
        self.batch_seconds = (
            settings.DISCOVERY_COLLECTOR_BATCH_SECONDS if batch_seconds is None else batch_seconds
        )
        self.selector = selectors.DefaultSelector()
        self.uploads: list[Upload] = []  # what this run handed to the pipeline
        self.ready = threading.Event()  # set once every port is bound

    # --- sockets ----------------------------------------------------------------------------

    def open(self) -> None:
        family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        for feed in self.feeds:
            kind = socket.SOCK_DGRAM if feed.protocol == "udp" else socket.SOCK_STREAM
            sock = socket.socket(family, kind)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.bind, feed.port))
            except OSError as exc:
                sock.close()
                self.close()
                raise CollectorError(
                    f"Cannot listen on {self.bind}:{feed.port}/{feed.protocol} for "
                    f"{feed.label}: {exc.strerror or exc}."
                ) from None
            if feed.protocol == "tcp":
                sock.listen(64)
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ, ("listen", feed, None))
            log.info("listening for %s on %s:%s", feed.label, self.bind, feed.port)
        self.ready.set()

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            self.selector.unregister(key.fileobj)
            key.fileobj.close()

    # --- the loop ---------------------------------------------------------------------------

    def serve(self, stop: threading.Event, run_for: float | None = None) -> list[Upload]:
        """Receive until `stop` is set (or `run_for` seconds), then flush every feed and close."""
        if not self.ready.is_set():
            self.open()
        deadline = time.monotonic() + run_for if run_for else None
        try:
            while not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                for key, _ in self.selector.select(timeout=0.2):
                    self._handle(key)
                self.flush_due()
        finally:
            self._drain()
            for feed in self.feeds:
                self.flush(feed)
            self.close()
        return self.uploads

    def _drain(self) -> None:
        """Read what already arrived before closing (a shutdown must not drop sent lines)."""
        for key, _ in self.selector.select(timeout=0):
            self._handle(key)

    def _handle(self, key) -> None:
        role, feed, buffer = key.data
        sock = key.fileobj
        if role == "listen" and feed.protocol == "udp":
            while True:
                try:
                    data = sock.recv(65535)
                except (BlockingIOError, InterruptedError):
                    return
                self.add(feed, data)
        elif role == "listen":
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(False)
            self.selector.register(conn, selectors.EVENT_READ, ("conn", feed, bytearray()))
        else:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if data:
                buffer += data
                self._frames(feed, buffer)
                return
            if buffer.strip():  # the peer closed: the last message needs no trailer
                self.add(feed, bytes(buffer))
            self.selector.unregister(sock)
            sock.close()

    def _frames(self, feed: Feed, buffer: bytearray) -> None:
        """Take every complete message off a TCP connection's buffer."""
        while buffer:
            if buffer[:1] in (b"\n", b"\r", b" "):
                del buffer[:1]
                continue
            counted = _OCTET_COUNTED.match(buffer)
            if counted:
                start = counted.end()
                end = start + int(counted.group(1))
                if len(buffer) < end:
                    return
                self.add(feed, bytes(buffer[start:end]))
                del buffer[:end]
                continue
            newline = buffer.find(b"\n")
            if newline < 0:
                if len(buffer) > MAX_MESSAGE:
                    self.add(feed, bytes(buffer[:MAX_MESSAGE]))
                    del buffer[:]
                return
            self.add(feed, bytes(buffer[:newline]))
            del buffer[: newline + 1]

    # --- batches ----------------------------------------------------------------------------

    def add(self, feed: Feed, message: bytes) -> None:
        """Buffer one message (a datagram may hold several lines)."""
        for line in message.split(b"\n"):
            line = line.rstrip(b"\r\x00")
            if not line.strip():
                continue
            feed.lines.append(line)
            if feed.since is None:
                feed.since = time.monotonic()
        if len(feed.lines) >= self.batch_lines:
            self.flush(feed)

    def flush_due(self) -> None:
        now = time.monotonic()
        for feed in self.feeds:
            if feed.since is not None and now - feed.since >= self.batch_seconds:
                self.flush(feed)

    def flush(self, feed: Feed) -> Upload | None:
        """Hand the feed's waiting lines to the pipeline as one upload."""
        if not feed.lines:
            return None
        payload = b"\n".join(feed.lines) + b"\n"
        count = len(feed.lines)
        feed.lines, feed.since = [], None
        close_old_connections()  # the collector runs for days; connections may have gone
        name = f"syslog-{timezone.now():%Y%m%dT%H%M%S}.log"
        try:
            with tenant_context(feed.tenant):
                source = DataSource.objects.filter(pk=feed.source_id).first()
                if source is None:
                    log.warning("%s was deleted; dropped %d lines", feed.label, count)
                    return None
                upload = services.upload_to_source(
                    data_source=source,
                    files=[services.IncomingFile(name, [payload])],
                    actor=ACTOR,
                    source=UploadSource.COLLECTOR,
                )
        except services.DiscoveryRefused as exc:  # e.g. the tenant was cancelled since start
            log.warning("%s: dropped %d lines: %s", feed.label, count, exc)
            return None
        except Exception:
            log.exception("could not hand %d lines of %s to the pipeline", count, feed.label)
            return None
        self.uploads.append(upload)
        log.info("%s: %d lines uploaded as upload %s", feed.label, count, upload.pk)
        return upload
