"""A small raw ICAP client for the tests: build requests byte by byte, read responses fully."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

CARD_TEXT = b"Payment details for the order. Card number: 4111 1111 1111 1111, expiry 09/29.\n"
CLEAN_TEXT = b"Minutes of the weekly meeting. Nothing to report.\n"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    blocks: dict[str, bytes] = field(default_factory=dict)
    body: bytes | None = None

    @property
    def http_status(self) -> int | None:
        head = self.blocks.get("res-hdr")
        return int(head.split(b" ", 2)[1]) if head else None


class Client:
    def __init__(self, port: int, *, timeout: float = 5.0, sock=None) -> None:
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.buffer += data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read(self) -> Reply:
        status_line = self._line()
        assert status_line.startswith(b"ICAP/1.0 "), status_line
        status = int(status_line.split(b" ")[1])
        headers: dict[str, str] = {}
        while line := self._line():
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        reply = Reply(status=status, headers=headers)
        if status == 100 or "encapsulated" not in headers:
            return reply
        entries = []
        for item in headers["encapsulated"].split(","):
            name, _, offset = item.strip().partition("=")
            entries.append((name, int(offset)))
        *heads, (body_name, body_offset) = entries
        blob = self._exact(body_offset)
        for index, (name, offset) in enumerate(heads):
            reply.blocks[name] = blob[offset : entries[index + 1][1]]
        if body_name != "null-body":
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    self._line()
                    break
                body += self._exact(size)
                assert self._exact(2) == b"\r\n"
            reply.body = body
        return reply

    def call(self, data: bytes) -> Reply:
        self.send(data)
        return self.read()


def chunks(data: bytes, *, ieof: bool = False, last: bool = True) -> bytes:
    out = f"{len(data):x}\r\n".encode() + data + b"\r\n" if data else b""
    if last:
        out += b"0; ieof\r\n\r\n" if ieof else b"0\r\n\r\n"
    return out


def options(slug: str, service: str = "reqmod", secret: str | None = None) -> bytes:
    extra = f"X-ICAP-Secret: {secret}\r\n" if secret else ""
    return (
        f"OPTIONS icap://127.0.0.1/{slug}/{service} ICAP/1.0\r\nHost: 127.0.0.1\r\n{extra}\r\n"
    ).encode()


def upload_head(
    name: str = "card.txt",
    length: int | None = None,
    *,
    content_type: str = "text/plain",
    extra: str = "",
) -> bytes:
    length_line = f"Content-Length: {length}\r\n" if length is not None else ""
    return (
        f"POST /upload/{name} HTTP/1.1\r\nHost: files.example.test\r\n"
        f"Content-Type: {content_type}\r\n{length_line}{extra}\r\n"
    ).encode()


def reqmod(
    slug: str,
    secret: str | None,
    body: bytes | None,
    *,
    name: str = "card.txt",
    head: bytes | None = None,
    preview: int | None = None,
    allow_204: bool = True,
    icap_headers: str = "",
) -> bytes:
    """A REQMOD upload; with `preview`, only the preview part is included (the caller sends the
    rest after 100 Continue), ending with `0; ieof` when the preview holds the whole body."""
    head = head if head is not None else upload_head(name, len(body or b""))
    lines = [f"REQMOD icap://127.0.0.1/{slug}/reqmod ICAP/1.0", "Host: 127.0.0.1"]
    if secret:
        lines.append(f"X-ICAP-Secret: {secret}")
    if allow_204:
        lines.append("Allow: 204")
    if body is None:
        lines.append(f"Encapsulated: req-hdr=0, null-body={len(head)}")
        return ("\r\n".join(lines) + "\r\n" + icap_headers + "\r\n").encode() + head
    lines.append(f"Encapsulated: req-hdr=0, req-body={len(head)}")
    if preview is not None:
        lines.append(f"Preview: {preview}")
        part = body[:preview]
        payload = chunks(part, ieof=len(body) <= preview)
    else:
        payload = chunks(body)
    return ("\r\n".join(lines) + "\r\n" + icap_headers + "\r\n").encode() + head + payload


def respmod(slug: str, secret: str, body: bytes, *, url: str = "/docs/card.txt") -> bytes:
    req = f"GET {url} HTTP/1.1\r\nHost: files.example.test\r\n\r\n".encode()
    res = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    head = (
        f"RESPMOD icap://127.0.0.1/{slug}/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n"
        f"X-ICAP-Secret: {secret}\r\nAllow: 204\r\n"
        f"Encapsulated: req-hdr=0, res-hdr={len(req)}, res-body={len(req) + len(res)}\r\n\r\n"
    ).encode()
    return head + req + res + chunks(body)
