"""The HTTPS server all fake vendors share: routing, faults, a request log."""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .tls import TlsFiles


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(errors="replace")))


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """Answer `response` instead of the real page for requests whose path contains `path`:
    after letting `skip` matching requests through, `times` times."""

    path: str
    response: Response
    times: int = 1
    skip: int = 0
    method: str = ""


Route = tuple[str, re.Pattern, Callable[..., Response]]


class FakeServer:
    """A threaded HTTPS server on 127.0.0.1; subclasses add routes in `routes()`."""

    def __init__(self, tls: TlsFiles, *, tls_versions: tuple | None = None):
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.page_size = 2
        self.overlap = False  # every page after the first repeats the previous page's last item
        self.audit_disabled = False
        self.delay = 0.0  # seconds to wait before answering (timeouts)
        self._routes: list[Route] = [
            (method, re.compile(f"^{pattern}$"), handler)
            for method, pattern, handler in self.routes()
        ]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                response = fake.dispatch(request)
                payload = (
                    response.body
                    if isinstance(response.body, bytes)
                    else json.dumps(response.body).encode()
                )
                self.send_response(response.status)
                headers = {"Content-Type": "application/json", **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve
            do_PATCH = _serve  # Microsoft Graph updates (governance)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if tls_versions:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            context.minimum_version, context.maximum_version = tls_versions
        else:
            context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(tls.cert), str(tls.key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    # --- For tests -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}"

    def url(self, path: str, query: dict | None = None) -> str:
        return f"{self.base_url}{path}" + (f"?{urlencode(query)}" if query else "")

    def fault(
        self,
        path: str,
        status: int,
        body: Any = None,
        headers: dict | None = None,
        *,
        times: int = 1,
        skip: int = 0,
        method: str = "",
    ) -> None:
        with self.lock:
            self.faults.append(
                Fault(path, Response(status, body or {}, headers or {}), times, skip, method)
            )

    def rate_limit(self, path: str, retry_after: str = "120", **kwargs) -> None:
        self.fault(
            path, 429, {"error": "too many requests"}, {"Retry-After": retry_after}, **kwargs
        )

    def hits(self, path_part: str) -> list[Request]:
        return [r for r in self.requests if path_part in r.path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- Inside ----------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Callable[..., Response]]]:
        return []

    def dispatch(self, request: Request) -> Response:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests.append(request)
            for fault in self.faults:
                if fault.path in request.path and fault.method in ("", request.method):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.times > 0:
                        fault.times -= 1
                        return fault.response
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                try:
                    return handler(request, **match.groupdict())
                except Exception as exc:  # a bug in the fake shows as a 599 in the test
                    return Response(599, {"fake_error": repr(exc)})
        return Response(404, {"error": {"message": f"no route {request.method} {request.path}"}})

    def page(self, items: list, offset: int) -> tuple[list, int | None]:
        """One page of `items` from `offset`, and the next offset (None at the end). In
        overlap mode a page starts one item early, repeating the previous page's last item."""
        start = offset - 1 if self.overlap and offset > 0 else offset
        chunk = items[start : offset + self.page_size]
        following = offset + self.page_size
        return chunk, (following if following < len(items) else None)
