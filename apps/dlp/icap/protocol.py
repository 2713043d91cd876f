"""ICAP (RFC 3507) wire format: reading requests and writing responses.

`Reader` wraps a socket with a buffer and two clocks: every read waits at most the idle timeout,
and a whole header block must arrive before a deadline (so a client that trickles one byte at a
time cannot hold a connection forever). `read_request` parses the request line, the ICAP
headers, the `Encapsulated` header and the encapsulated HTTP header blocks; bodies are read
chunk by chunk with `read_chunks` (preview, `0; ieof`, bounded size). Anything that does not
follow the format raises `IcapError(400)`; limits raise `IcapError(400 or 413)`.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import socket
import time
from dataclasses import dataclass, field

CRLF = b"\r\n"
MAX_LINE = 8192
MAX_CHUNK_LINE = 1024

REASONS = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Service Not Found",
    405: "Method Not Allowed For Service",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    500: "Server Error",
    501: "Method Not Implemented",
    503: "Service Overloaded",
    505: "ICAP Version Not Supported",
}

_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ENTITIES = {"req-hdr", "res-hdr", "req-body", "res-body", "opt-body", "null-body"}
_BODIES = {"req-body", "res-body", "opt-body", "null-body"}


class IcapError(Exception):
    """A request we answer with an ICAP error status (and then close the connection)."""

    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(reason or REASONS.get(status, "Error"))
        self.status = status


class ConnectionDone(Exception):
    """The client closed the connection or stayed silent past the idle timeout."""


class Reader:
    """Buffered reads from a socket with an idle timeout and an optional deadline."""

    def __init__(self, sock: socket.socket, *, idle_timeout: float) -> None:
        self.sock = sock
        self.idle_timeout = idle_timeout
        self.buffer = bytearray()
        self.deadline: float | None = None

    def _fill(self) -> None:
        wait = self.idle_timeout
        if self.deadline is not None:
            wait = min(wait, self.deadline - time.monotonic())
            if wait <= 0:
                raise ConnectionDone("header deadline passed")
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise ConnectionDone("idle") from None
        except OSError as exc:
            raise ConnectionDone(str(exc)) from None
        if not data:
            raise ConnectionDone("closed")
        self.buffer += data

    def has_pending(self) -> bool:
        return bool(self.buffer)

    def readline(self, limit: int, *, too_long: int = 400) -> bytes:
        """One CRLF-terminated line (without the CRLF); longer than `limit`: `too_long`."""
        start = 0
        while True:
            end = self.buffer.find(CRLF, start)
            if end >= 0:
                if end > limit:
                    raise IcapError(too_long, "line too long")
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                return line
            if len(self.buffer) > limit:
                raise IcapError(too_long, "line too long")
            start = max(len(self.buffer) - 1, 0)
            self._fill()

    def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


@dataclass
class HttpMessage:
    """An encapsulated HTTP header block: its start line and headers (names lower case)."""

    start_line: str
    headers: list[tuple[str, str]]
    raw: bytes

    def get(self, name: str, default: str = "") -> str:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]


@dataclass
class IcapRequest:
    method: str
    uri: str
    headers: dict[str, list[str]]
    encapsulated: list[tuple[str, int]]
    req_hdr: HttpMessage | None = None
    res_hdr: HttpMessage | None = None
    body_kind: str = "null-body"
    preview: int | None = None
    allow_204: bool = False
    keep_alive: bool = True
    extra: dict = field(default_factory=dict)

    def header(self, name: str, default: str = "") -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else default

    @property
    def has_body(self) -> bool:
        return self.body_kind != "null-body"


def _parse_header_lines(lines: list[bytes]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise IcapError(400, "folded header")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise IcapError(400, "bad header line")
        try:
            headers.append((name.decode("ascii").lower(), value.strip().decode("latin-1")))
        except UnicodeDecodeError:
            raise IcapError(400, "bad header name") from None
    return headers


def parse_encapsulated(value: str) -> list[tuple[str, int]]:
    """`req-hdr=0, req-body=412` as [("req-hdr", 0), ("req-body", 412)], validated."""
    entries: list[tuple[str, int]] = []
    for item in value.split(","):
        name, sep, offset = item.strip().partition("=")
        name = name.strip().lower()
        if not sep or name not in _ENTITIES or not offset.strip().isdigit():
            raise IcapError(400, "bad Encapsulated header")
        entries.append((name, int(offset)))
    if not entries or entries[0][1] != 0:
        raise IcapError(400, "Encapsulated must start at offset 0")
    offsets = [offset for _, offset in entries]
    if any(later <= earlier for earlier, later in itertools.pairwise(offsets)):
        raise IcapError(400, "Encapsulated offsets out of order")
    names = [name for name, _ in entries]
    if len(set(names)) != len(names):
        raise IcapError(400, "Encapsulated entity repeated")
    if names[-1] not in _BODIES or any(name in _BODIES for name in names[:-1]):
        raise IcapError(400, "Encapsulated must end with one body entity")
    return entries


def _parse_http_block(raw: bytes, *, name: str) -> HttpMessage:
    if not raw.endswith(b"\r\n\r\n"):
        raise IcapError(400, f"{name} does not end where Encapsulated says")
    lines = raw[:-4].split(CRLF)
    start = lines[0]
    if not start or b"\n" in raw[:-4].replace(CRLF, b""):
        raise IcapError(400, f"bad {name}")
    parts = start.split(b" ", 2)
    if len(parts) < 2:
        raise IcapError(400, f"bad {name} start line")
    return HttpMessage(
        start_line=start.decode("latin-1"), headers=_parse_header_lines(lines[1:]), raw=raw
    )


def read_request(reader: Reader, *, max_header_bytes: int, header_timeout: float) -> IcapRequest:
    """Read one request up to (not including) its body. Raises ConnectionDone when the client
    is gone before a request starts, IcapError for a malformed or oversized one."""
    reader.deadline = None
    line = b""
    while not line:  # tolerate empty lines between pipelined requests (RFC 7230 3.5)
        line = reader.readline(MAX_LINE)
    reader.deadline = time.monotonic() + header_timeout
    budget = max_header_bytes - len(line)
    parts = line.split(b" ")
    if len(parts) != 3:
        raise IcapError(400, "bad request line")
    method, uri, version = (p.decode("latin-1") for p in parts)
    if version != "ICAP/1.0":
        raise IcapError(505 if version.startswith("ICAP/") else 400)
    if method not in ("OPTIONS", "REQMOD", "RESPMOD"):
        raise IcapError(501)
    if not uri.lower().startswith(("icap://", "icaps://")):
        raise IcapError(400, "bad ICAP URI")
    lines: list[bytes] = []
    while True:
        header_line = reader.readline(min(MAX_LINE, max(budget, 0)), too_long=413)
        budget -= len(header_line) + 2
        if budget < 0:
            raise IcapError(413, "ICAP header block too large")
        if not header_line:
            break
        lines.append(header_line)
    headers: dict[str, list[str]] = {}
    for name, value in _parse_header_lines(lines):
        headers.setdefault(name, []).append(value)
    request = IcapRequest(method=method, uri=uri, headers=headers, encapsulated=[])
    request.keep_alive = "close" not in request.header("connection").lower()
    allow = ",".join(headers.get("allow", []))
    request.allow_204 = "204" in [a.strip() for a in allow.split(",")]
    if "preview" in headers:
        values = set(headers["preview"])
        if len(values) != 1 or not next(iter(values)).strip().isdigit():
            raise IcapError(400, "bad Preview header")
        request.preview = int(next(iter(values)).strip())
    if method == "OPTIONS":
        if "encapsulated" in headers:
            request.encapsulated = parse_encapsulated(headers["encapsulated"][0])
            if request.encapsulated[-1][0] != "null-body":
                raise IcapError(400, "OPTIONS with a body is not supported")
        reader.deadline = None
        return request
    encapsulated = headers.get("encapsulated")
    if not encapsulated or len(encapsulated) != 1:
        raise IcapError(400, "one Encapsulated header is required")
    request.encapsulated = parse_encapsulated(encapsulated[0])
    _read_http_headers(reader, request, budget)
    reader.deadline = None
    return request


def _read_http_headers(reader: Reader, request: IcapRequest, budget: int) -> None:
    allowed = {
        "REQMOD": ({"req-hdr"}, {"req-body", "null-body"}),
        "RESPMOD": ({"req-hdr", "res-hdr"}, {"res-body", "null-body"}),
    }.get(request.method)
    if allowed is None:
        return  # the method is refused by the caller
    entries = request.encapsulated
    *header_entries, (body_kind, body_offset) = entries
    if any(name not in allowed[0] for name, _ in header_entries) or body_kind not in allowed[1]:
        raise IcapError(400, f"Encapsulated entities not valid for {request.method}")
    if body_offset > budget:
        raise IcapError(413, "encapsulated headers too large")
    blob = reader.read_exact(body_offset)
    request.body_kind = body_kind
    for index, (name, offset) in enumerate(header_entries):
        end = entries[index + 1][1]
        message = _parse_http_block(blob[offset:end], name=name)
        if name == "req-hdr":
            request.req_hdr = message
        else:
            request.res_hdr = message
    if request.method == "REQMOD" and request.req_hdr is None:
        raise IcapError(400, "REQMOD needs req-hdr")


@dataclass
class Body:
    """A body as read: the bytes kept (at most the limit), its real size and SHA-256."""

    data: bytearray = field(default_factory=bytearray)
    size: int = 0
    too_large: bool = False
    complete: bool = False  # the client said `ieof` or sent everything
    partial: bool = False  # judged by its declared length: the rest was never read
    hasher: object = field(default_factory=hashlib.sha256)

    def add(self, chunk: bytes, limit: int) -> None:
        self.size += len(chunk)
        self.hasher.update(chunk)
        if self.too_large:
            return
        if self.size > limit:
            self.too_large = True
            self.data = bytearray()
            return
        self.data += chunk


def read_chunks(reader: Reader, body: Body, *, limit: int) -> bool:
    """Read chunks up to the terminating zero chunk; True when it carried `ieof`."""
    while True:
        line = reader.readline(MAX_CHUNK_LINE)
        size_text, _, extension = line.partition(b";")
        size_text = size_text.strip()
        if not size_text or len(size_text) > 16 or not re.fullmatch(rb"[0-9A-Fa-f]+", size_text):
            raise IcapError(400, "bad chunk size")
        size = int(size_text, 16)
        if size == 0:
            ieof = extension.strip().lower() == b"ieof"
            while reader.readline(MAX_LINE):  # trailers, if any, end with an empty line
                pass
            return ieof
        while size:  # in pieces: a huge declared chunk never sits in memory whole
            piece = reader.read_exact(min(size, 65536))
            body.add(piece, limit)
            size -= len(piece)
        if reader.read_exact(2) != CRLF:
            raise IcapError(400, "chunk not followed by CRLF")


def chunked(data: bytes, size: int = 65536) -> bytes:
    out = bytearray()
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + CRLF
    out += b"0\r\n\r\n"
    return bytes(out)


def response(
    status: int,
    headers: list[tuple[str, str]] | None = None,
    *,
    encapsulated: list[tuple[str, bytes]] | None = None,
    body: bytes | None = None,
    body_kind: str = "res-body",
) -> bytes:
    """An ICAP response; `encapsulated` holds HTTP header blocks, `body` is chunked after."""
    lines = [f"ICAP/1.0 {status} {REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    payload = b""
    if encapsulated is not None or status in (200,):
        parts, offset = [], 0
        for name, block in encapsulated or []:
            parts.append(f"{name}={offset}")
            offset += len(block)
            payload += block
        if body is None:
            parts.append(f"null-body={offset}")
        else:
            parts.append(f"{body_kind}={offset}")
            payload += chunked(body)
        lines.append("Encapsulated: " + ", ".join(parts))
    elif status not in (100,):
        lines.append("Encapsulated: null-body=0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
