"""One ICAP connection: read requests one after another (keep-alive, pipelining), answer each.

REQMOD and RESPMOD bodies are scanned with `apps.dlp.services.scan_file` inside the tenant's
context. The answer is `204 No Content` when nothing blocks and the client allows it (always
allowed in answer to a preview), otherwise the message unchanged, or, when a file policy says
block and the service is in block mode, an HTML block page (HTTP 403) in place of the message.

A body larger than ICAP_MAX_BODY_BYTES is not kept: the file is recorded "not scanned: too
large" and let through (204), or, when the client does not allow 204 (we no longer hold the
body to send back), answered with an HTTP 413 page. A malformed request gets ICAP 400 and the
connection is closed (its framing can no longer be trusted); other connections are unaffected.
"""

from __future__ import annotations

import contextlib
import html
import logging
import socket
import time
from dataclasses import dataclass

from django.db import close_old_connections

from apps.tenants.scoping import tenant_context

from ..extract.base import Limits
from ..models import FileSource
from ..services import FileMeta, scan_file
from . import files
from . import services as icap
from .protocol import (
    Body,
    ConnectionDone,
    IcapError,
    IcapRequest,
    Reader,
    read_chunks,
    read_request,
    response,
)

log = logging.getLogger("apps.dlp.icap")
SERVER = "CASB-ICAP/1.0"
PREVIEW_SIZE = 4096
OPTIONS_TTL = 300
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20


@dataclass(frozen=True)
class Config:
    max_header_bytes: int
    max_body_bytes: int
    idle_timeout: float
    max_connections: int


def _page(status: int, reason: str, title: str, message: str) -> bytes:
    body = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{html.escape(title)}</title></head>\n<body style="font-family:sans-serif;'
        f'max-width:40em;margin:4em auto"><h1>{html.escape(title)}</h1>\n'
        f"<p>{html.escape(message)}</p></body></html>\n"
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


def block_page(message: str) -> bytes:
    return _page(403, "Forbidden", "Blocked", message)


def too_large_page() -> bytes:
    return _page(413, "Content Too Large", "Not allowed", "This file is too large to inspect.")


class Connection:
    def __init__(self, sock, config: Config) -> None:
        self.sock = sock
        self.config = config
        self.reader = Reader(sock, idle_timeout=config.idle_timeout)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def serve(self) -> None:
        """Answer requests until the client closes, goes idle, asks to close or errs."""
        while True:
            try:
                request = read_request(
                    self.reader,
                    max_header_bytes=self.config.max_header_bytes,
                    header_timeout=self.config.idle_timeout,
                )
                close_old_connections()
                keep_alive = self.handle(request)
            except ConnectionDone:
                return
            except IcapError as error:
                log.info("icap request refused: %s %s", error.status, error)
                self._error(error.status)
                return
            except Exception:
                log.exception("icap request failed")
                self._error(500)
                return
            if not keep_alive:
                return

    def _error(self, status: int) -> None:
        """Answer with an error, then close gently: stop sending, and read (and drop) what the
        client still sends for a moment, so its pending bytes do not turn our close into a
        reset that would destroy the answer before the client reads it."""
        headers = [("Server", SERVER), ("ISTag", icap.istag(None, "")), ("Connection", "close")]
        with contextlib.suppress(OSError):
            self.send(response(status, headers))
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            drained = 0
            while drained < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                data = self.sock.recv(65536)
                if not data:
                    break
                drained += len(data)

    def _headers(self, tag: str, request: IcapRequest) -> list[tuple[str, str]]:
        headers = [("Server", SERVER), ("ISTag", tag)]
        if not request.keep_alive:
            headers.append(("Connection", "close"))
        return headers

    # --- Methods --------------------------------------------------------------------------

    def handle(self, request: IcapRequest) -> bool:
        if request.method not in ("OPTIONS", "REQMOD", "RESPMOD"):
            raise IcapError(501)
        service = icap.parse_service(request.uri)
        if service is None:
            raise IcapError(404)
        if request.method != "OPTIONS" and request.method.lower() != service.name:
            raise IcapError(405)
        presented = request.header(icap.SECRET_HEADER).strip()
        caller = None
        if request.method != "OPTIONS" or presented or service.secret:
            caller = icap.authenticate(service, presented)
            if caller is None:
                raise IcapError(403)
        if request.method == "OPTIONS":
            return self.options(request, service, caller)
        return self.modify(request, caller)

    def options(self, request: IcapRequest, service: icap.Service, caller) -> bool:
        headers = [
            *self._headers(icap.istag(caller, service.slug), request),
            ("Methods", service.name.upper()),
            ("Service", "CASB content inspection"),
            ("Max-Connections", str(self.config.max_connections)),
            ("Options-TTL", str(OPTIONS_TTL)),
            ("Allow", "204"),
            ("Preview", str(PREVIEW_SIZE)),
            ("Transfer-Preview", "*"),
        ]
        self.send(response(200, headers))
        return request.keep_alive

    def modify(self, request: IcapRequest, caller: icap.Caller) -> bool:
        http = request.req_hdr if request.method == "REQMOD" else request.res_hdr
        if http is not None and len({v.strip() for v in http.get_all("content-length")}) > 1:
            raise IcapError(400, "conflicting Content-Length")
        tag = icap.istag(caller, caller.tenant.slug)
        body = Body()
        limit = self.config.max_body_bytes
        in_preview = False
        if request.has_body:
            body.complete = read_chunks(self.reader, body, limit=limit)
            if request.preview is not None and not body.complete:
                declared = files.declared_length(request)
                if declared is not None and declared > limit:
                    body.too_large = body.partial = in_preview = True
                    body.size = declared
                else:
                    self.send(b"ICAP/1.0 100 Continue\r\n\r\n")
                    read_chunks(self.reader, body, limit=limit)
            elif request.preview is not None:
                in_preview = True
        blocked = False
        if request.has_body:
            blocked = self._scan(request, caller, body)
        headers = self._headers(tag, request)
        if blocked:
            page = block_page(caller.settings.block_message)
            head, _, content = page.partition(b"\r\n\r\n")
            self.send(response(200, headers, encapsulated=[("res-hdr", head + b"\r\n\r\n")],
                               body=content))  # fmt: skip
        elif request.allow_204 or in_preview:
            self.send(response(204, headers))
        elif body.too_large:
            head, _, content = too_large_page().partition(b"\r\n\r\n")
            self.send(response(200, headers, encapsulated=[("res-hdr", head + b"\r\n\r\n")],
                               body=content))  # fmt: skip
        else:
            name = "req-hdr" if request.method == "REQMOD" else "res-hdr"
            blocks = [(name, http.raw)] if http is not None else []
            self.send(
                response(
                    200,
                    headers,
                    encapsulated=blocks,
                    body=bytes(body.data) if request.has_body else None,
                    body_kind=request.body_kind,
                )
            )
        return request.keep_alive

    def _scan(self, request: IcapRequest, caller: icap.Caller, body: Body) -> bool:
        """Record the files of the message; True when one of them is to be blocked."""
        meta = dict(owner=files.owner(request), location=files.request_url(request))
        block = False
        with tenant_context(caller.tenant):
            if body.too_large:
                name = files.files_in(request, b"")[0].name
                result = scan_file(
                    name=name, data=b"", source=FileSource.ICAP, meta=FileMeta(**meta),
                    limits=Limits(max_bytes=-1),
                )  # fmt: skip
                record = result.record
                record.size = body.size
                record.sha256 = "" if body.partial else body.hasher.hexdigest()
                record.save(update_fields=["size", "sha256"])
                return False
            for part in files.files_in(request, bytes(body.data)):
                result = scan_file(
                    name=part.name, data=part.data, source=FileSource.ICAP,
                    meta=FileMeta(**meta, mime_type=part.mime_type),
                )  # fmt: skip
                block = block or result.decision.block
            log.info(
                "icap %s tenant=%s size=%s block=%s", request.method, caller.tenant.slug,
                body.size, block,
            )  # fmt: skip
        return block and icap.blocks(caller)
