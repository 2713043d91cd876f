"""A small syslog receiver on loopback for the sender's tests: UDP datagrams, or TCP/TLS streams
split by RFC 6587 octet counting (or by line feeds)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import warnings

from tests.fakes.tls import TlsFiles


class Receiver:
    def __init__(
        self,
        transport: str = "tcp",
        *,
        tls: TlsFiles | None = None,
        tls_versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None,
        octet_counting: bool = True,
    ) -> None:
        self.transport = transport
        self.octet_counting = octet_counting
        self.messages: list[bytes] = []
        self.connections = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._clients: list[socket.socket] = []
        self._stopped = threading.Event()
        self._context: ssl.SSLContext | None = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            if tls_versions:
                context.set_ciphers("DEFAULT:@SECLEVEL=0")
                with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is the point
                    warnings.simplefilter("ignore", DeprecationWarning)
                    context.minimum_version, context.maximum_version = tls_versions
            context.load_cert_chain(str(tls.cert), str(tls.key))
            self._context = context
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        if transport != "udp":
            self.sock.listen(16)
        self.sock.settimeout(0.2)
        target = self._serve_udp if transport == "udp" else self._accept
        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    # -- loops ---------------------------------------------------------------------------------

    def _serve_udp(self) -> None:
        while not self._stopped.is_set():
            try:
                data = self.sock.recv(70_000)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append(data)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve_stream, args=(client,), daemon=True).start()

    def _serve_stream(self, client: socket.socket) -> None:
        client.settimeout(5)
        try:
            if self._context is not None:
                client = self._context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(str(exc))
            client.close()
            return
        with self._lock:
            self.connections += 1
            self._clients.append(client)
        buffer = b""
        while not self._stopped.is_set():
            try:
                data = client.recv(65536)
            except TimeoutError:
                continue
            except (OSError, ssl.SSLError):
                break
            if not data:
                break
            buffer += data
            buffer = self._split(buffer)
        client.close()

    def _split(self, buffer: bytes) -> bytes:
        while buffer:
            if self.octet_counting:
                length, space, rest = buffer.partition(b" ")
                if not space or len(rest) < int(length):
                    return buffer
                message, buffer = rest[: int(length)], rest[int(length) :]
            else:
                message, newline, rest = buffer.partition(b"\n")
                if not newline:
                    return buffer
                buffer = rest
            with self._lock:
                self.messages.append(message)
        return buffer

    # -- for tests -----------------------------------------------------------------------------

    def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.01)
        with self._lock:
            return list(self.messages)

    def drop_clients(self) -> None:
        """Close every open connection, as a receiver restart would."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()

    def stop(self) -> None:
        self._stopped.set()
        self.drop_clients()
        self.sock.close()
        self.thread.join(2)
