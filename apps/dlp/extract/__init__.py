"""Text extraction for content inspection (DLP), in memory only.

One entry point, :func:`extract`: give it a file's name and its bytes (or a binary file
object) and get back an :class:`Extraction` with the text pieces, the detected format and
Appendix C file type, and whether the file was scanned or why not ("too large", "encrypted",
"unreadable: ...", "unsupported type", "too deeply nested"). It never raises for bad input:
a file it cannot read is an outcome, not an error. File content is never written to disk.
"""

from __future__ import annotations

from typing import BinaryIO

from .archive import extract_zip
from .base import (
    ENCRYPTED,
    TOO_DEEP,
    TOO_LARGE,
    UNSUPPORTED,
    Budget,
    Extraction,
    Limits,
    NotScanned,
    Part,
)
from .detect import MIME, detect, file_type_for_mime
from .html import extract_html
from .office import extract_docx, extract_pptx, extract_xlsx
from .pdf import extract_pdf
from .text import extract_json, extract_text

__all__ = ["Extraction", "Limits", "Part", "extract"]

_LEAF = {
    "text": extract_text,
    "csv": extract_text,
    "json": extract_json,
    "html": extract_html,
    "docx": extract_docx,
    "xlsx": extract_xlsx,
    "pptx": extract_pptx,
    "pdf": extract_pdf,
}
_READ_CHUNK = 1024 * 1024


def _read(data: bytes | bytearray | memoryview | BinaryIO, limits: Limits) -> tuple[bytes, int]:
    """The file's bytes, refusing (before reading it all, where possible) past max_bytes."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > limits.max_bytes:
            raise _TooLargeInput(len(raw))
        return raw, len(raw)
    size = _remaining_size(data)
    if size is not None and size > limits.max_bytes:
        raise _TooLargeInput(size)
    chunks: list[bytes] = []
    total = 0
    while chunk := data.read(_READ_CHUNK):
        total += len(chunk)
        if total > limits.max_bytes:
            raise _TooLargeInput(total)
        chunks.append(chunk)
    return b"".join(chunks), total


def _remaining_size(stream: BinaryIO) -> int | None:
    try:
        if not stream.seekable():
            return None
        position = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(position)
    except (OSError, AttributeError, ValueError):
        return None
    return end - position


class _TooLargeInput(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _dispatch(path: str, data: bytes, budget: Budget, depth: int) -> None:
    """Extract one file or archive member into the budget; depth counts archive nesting."""
    kind, encrypted = detect(path, data)
    if encrypted:
        raise NotScanned(ENCRYPTED)
    if kind == "zip":
        if depth > budget.limits.max_depth:
            raise NotScanned(TOO_DEEP)
        extract_zip(path, data, budget, depth, _dispatch)
        return
    extractor = _LEAF.get(kind)
    if extractor is None:
        # Inside an archive an image or binary member holds no text: skip it, scan the rest.
        if depth > 0:
            return
        raise NotScanned(UNSUPPORTED)
    extractor(path, data, budget)


def extract(
    name: str,
    data: bytes | bytearray | memoryview | BinaryIO,
    *,
    limits: Limits | None = None,
) -> Extraction:
    """Extract the text of one file, in memory; never raises for malformed or hostile input.

    Part names say where text came from: "a.zip/inner/b.docx:header1", "c.pdf:page 2".
    A file that cannot be scanned in full has no parts at all, so a partial scan is never
    mistaken for a clean one.
    """
    limits = limits or Limits()
    try:
        raw, size = _read(data, limits)
    except _TooLargeInput as too_large:
        kind, _ = detect(name, b"")
        mime = MIME.get(kind, MIME["binary"])
        return Extraction(
            name=name,
            size=too_large.size,
            kind=kind,
            mime=mime,
            file_type=file_type_for_mime(mime),
            scanned=False,
            reason=TOO_LARGE,
        )
    kind, _ = detect(name, raw)
    mime = MIME.get(kind, MIME["binary"])
    result = Extraction(
        name=name, size=size, kind=kind, mime=mime, file_type=file_type_for_mime(mime)
    )
    budget = Budget(limits)
    try:
        _dispatch(name, raw, budget, 0)
    except NotScanned as outcome:
        result.scanned, result.reason = False, str(outcome)
    except RecursionError:
        result.scanned, result.reason = False, f"unreadable: {kind} nested too deeply to parse"
    except Exception as exc:  # a bug or a library surprise must not stop a scan batch
        result.scanned, result.reason = False, f"unreadable: {kind} ({type(exc).__name__})"
    else:
        result.parts = budget.parts
    return result
