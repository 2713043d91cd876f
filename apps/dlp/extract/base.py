"""Shared pieces of text extraction: limits, the result, and the running budget.

Extraction works in memory only: file content is never written to disk or stored, so nothing
here opens a file or a temporary file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

MB = 1024 * 1024

# Plain-words reasons a file is not scanned (FileRecord shows "not scanned: <reason>").
TOO_LARGE = "too large"
ENCRYPTED = "encrypted"
UNSUPPORTED = "unsupported type"
TOO_DEEP = "too deeply nested"


@dataclass(frozen=True)
class Limits:
    """Bounds on one extraction; the defaults are the spec's (50 MB, 1 M characters)."""

    max_bytes: int = 50 * MB
    max_chars: int = 1_000_000
    # Archives: nesting depth, members and uncompressed bytes over the whole file (all levels).
    max_depth: int = 3
    max_members: int = 10_000
    max_uncompressed: int = 200 * MB
    # A member expanding more than this ratio (once past bomb_floor bytes) is a compression bomb.
    max_ratio: int = 100
    bomb_floor: int = 1 * MB


class Part(NamedTuple):
    """A piece of extracted text and where it came from ("a.zip/b.docx:header1")."""

    name: str
    text: str


@dataclass
class Extraction:
    """What came out of one file: its type, whether it was scanned, and its text pieces."""

    name: str
    size: int
    kind: str  # the format we recognised: "text", "json", "html", "docx", "pdf", "zip", ...
    mime: str
    file_type: str  # Appendix C: document/spreadsheet/presentation/text/image/other
    scanned: bool = True
    reason: str = ""  # set when not scanned, e.g. "too large", "unreadable: damaged PDF"
    parts: list[Part] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ "scanned" or "not scanned: <reason>", as the file record shows it."""
        return "scanned" if self.scanned else f"not scanned: {self.reason}"

    @property
    def text(self) -> str:
        """All pieces joined, for a detector that wants one string."""
        return "\n".join(part.text for part in self.parts)


class NotScanned(Exception):
    """Raised by a format module when a file cannot be scanned; the message is the reason."""


class Budget:
    """Counts characters and uncompressed bytes across one file and all it contains."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parts: list[Part] = []
        self.chars = 0
        self.unpacked = 0
        self.members = 0

    def add(self, name: str, text: str) -> None:
        """Keep a piece of text, failing the whole file once it passes the character limit."""
        if not text:
            return
        self.chars += len(text)
        if self.chars > self.limits.max_chars:
            raise NotScanned(TOO_LARGE)
        self.parts.append(Part(name, text))

    def unpack(self, nbytes: int) -> None:
        """Account for bytes decompressed from an archive (all nesting levels together)."""
        self.unpacked += nbytes
        if self.unpacked > self.limits.max_uncompressed:
            raise NotScanned(TOO_LARGE)
