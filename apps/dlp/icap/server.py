"""The ICAP server: a listening socket and one thread per connection, at most
`max_connections` at once (beyond that a connection gets `503` and is closed).

TLS (1.2 or newer) is used when a certificate and key are given; the handshake runs in the
connection's thread under the idle timeout, so a slow client never holds up the accept loop.
Every connection thread closes its own database connections when it ends.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import threading

from django.conf import settings
from django.db import connections

from .handler import SERVER, Config, Connection
from .protocol import response

log = logging.getLogger("apps.dlp.icap")
DEFAULT_MAX_CONNECTIONS = 128


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def config_from_settings(max_connections: int = DEFAULT_MAX_CONNECTIONS) -> Config:
    return Config(
        max_header_bytes=settings.ICAP_MAX_HEADER_BYTES,
        max_body_bytes=settings.ICAP_MAX_BODY_BYTES,
        idle_timeout=settings.ICAP_IDLE_TIMEOUT,
        max_connections=max_connections,
    )


class IcapServer:
    """`start()` binds (port 0: any free port, see `.port`), `serve(stop)` runs until set."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        config: Config | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.config = config or config_from_settings()
        self.tls = tls
        self.listener: socket.socket | None = None
        self._slots = threading.BoundedSemaphore(self.config.max_connections)
        self._threads: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        listener.setblocking(False)
        self.listener = listener
        self.port = listener.getsockname()[1]

    def serve(self, stop: threading.Event) -> None:
        assert self.listener is not None, "start() first"
        with selectors.DefaultSelector() as selector:
            selector.register(self.listener, selectors.EVENT_READ)
            while not stop.is_set():
                if not selector.select(timeout=0.2):
                    continue
                try:
                    sock, _ = self.listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    if stop.is_set():
                        break
                    raise
                sock.setblocking(True)
                self._dispatch(sock)
        self.listener.close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:  # wake threads waiting on idle clients
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(timeout=self.config.idle_timeout + 1)

    def _dispatch(self, sock: socket.socket) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                sock.settimeout(1.0)
                sock.sendall(response(503, [("Server", SERVER), ("Connection", "close")]))
            except OSError:
                pass
            sock.close()
            return
        thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
        with self._lock:
            self._threads.add(thread)
            self._sockets.add(sock)
        thread.start()

    def _run(self, sock: socket.socket) -> None:
        raw = sock
        try:
            if self.tls is not None:
                sock.settimeout(self.config.idle_timeout)
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError) as exc:
                    log.info("icap TLS handshake refused: %s", exc)
                    return
            Connection(sock, self.config).serve()
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            connections.close_all()
            self._slots.release()
            with self._lock:
                self._threads.discard(threading.current_thread())
                self._sockets.discard(raw)

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._threads)
