"""The files inside an encapsulated HTTP message, and who sent them from where.

A REQMOD upload with a `multipart/form-data` body gives one file per part that has a file name
(parsed with the standard library's `email` parser); any other body is one file, named by its
`Content-Disposition` file name or else by the last segment of the request URL's path.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .protocol import HttpMessage, IcapRequest

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8''|"?)([^";]+)"?""", re.IGNORECASE)
DEFAULT_NAME = "upload"


@dataclass
class Part:
    name: str
    data: bytes
    mime_type: str


def request_url(request: IcapRequest) -> str:
    """The HTTP request's URL (absolute when the proxy gave the Host separately)."""
    if request.req_hdr is None:
        return ""
    parts = request.req_hdr.start_line.split(" ")
    target = parts[1] if len(parts) > 1 else ""
    if target.startswith("/"):
        host = request.req_hdr.get("host")
        if host:
            target = f"http://{host}{target}"
    return target[:1000]


def _url_name(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:
        return DEFAULT_NAME
    segment = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    return segment[:200] or DEFAULT_NAME


def _disposition_name(value: str) -> str:
    found = _FILENAME.search(value or "")
    if not found:
        return ""
    name = unquote(found.group(1)).replace("\\", "/").rsplit("/", 1)[-1]
    return name.strip()[:200]


def owner(request: IcapRequest) -> str:
    """`X-Authenticated-User`: base64 of `scheme://authority/user` (draft-stecher-icap-subid)
    as Squid sends it; a plain value is kept as is. The scheme is dropped."""
    value = request.header("x-authenticated-user").strip()
    if not value:
        return ""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
        if decoded.isprintable():
            value = decoded
    except (binascii.Error, ValueError):
        pass
    if "://" in value:
        value = value.split("://", 1)[1]
        if value.startswith("/"):
            value = value.lstrip("/")
    return value[:254]


def _multipart(http: HttpMessage, body: bytes) -> list[Part] | None:
    content_type = http.get("content-type")
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return None
    parts = []
    for item in message.iter_parts():
        filename = item.get_filename()
        if not filename:
            continue
        data = item.get_payload(decode=True) or b""
        name = filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or DEFAULT_NAME
        parts.append(Part(name=name, data=data, mime_type=item.get_content_type()))
    return parts


def files_in(request: IcapRequest, body: bytes) -> list[Part]:
    """The files to scan in the request's encapsulated message (REQMOD or RESPMOD)."""
    http = request.req_hdr if request.method == "REQMOD" else request.res_hdr
    url = request_url(request)
    if http is None:
        return [Part(name=_url_name(url), data=body, mime_type="")]
    if request.method == "REQMOD":
        parts = _multipart(http, body)
        if parts:
            return parts
    mime = http.get("content-type").split(";")[0].strip()[:200]
    name = _disposition_name(http.get("content-disposition")) or _url_name(url)
    return [Part(name=name, data=body, mime_type=mime)]


def declared_length(request: IcapRequest) -> int | None:
    """The encapsulated message's Content-Length (None when absent or ambiguous)."""
    http = request.req_hdr if request.method == "REQMOD" else request.res_hdr
    if http is None:
        return None
    values = {v.strip() for v in http.get_all("content-length")}
    if len(values) != 1:
        return None
    value = values.pop()
    return int(value) if value.isdigit() else None
