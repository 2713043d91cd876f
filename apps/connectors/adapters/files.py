"""What adapters that list files hand over: one `RemoteFile` per file, in `FilePage`s.

An adapter supports files when it has `list_files(cursor)` (a generator of `FilePage`s, each
with the cursor to store once its files are handled) and `download_file(file)` (the bytes, in
memory). `apps.dlp.file_scan` drives both; nothing here touches the database.

Sharing levels are spelled as the `apps.dlp.models.AccessLevel` values, so the connectors
package does not import the DLP models (a test checks the two stay equal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PRIVATE = 0  # only the owner
INTERNAL = 1  # people or a link inside the organisation
EXTERNAL = 2  # named people or domains outside the organisation
PUBLIC = 3  # anyone with the link
PUBLIC_INTERNET = 4  # anyone, and findable on the web (anonymous links)

MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024  # larger files are recorded "not scanned: too large"
FULL_SCAN_HOURS = 24  # a full pass (every file, not only changed ones) at least this often


@dataclass
class RemoteFile:
    """One file as its app lists it (ids and words as the vendor gives them)."""

    external_id: str
    name: str
    mime_type: str = ""
    size: int | None = None  # None: the app does not say (Google-native documents)
    modified_at: datetime | None = None
    owner: str = ""  # the owner's address
    owner_id: str = ""  # the app's id of the owner, when it gives one
    location: str = ""  # the file's web link or folder path
    access_level: int = PRIVATE
    external_domains: list[str] = field(default_factory=list)
    skip_reason: str = ""  # set when the file cannot be downloaded at all ("" otherwise)
    # How to fetch it, adapter-specific (a download URL, an export MIME type, a drive id).
    fetch: dict = field(default_factory=dict)


@dataclass
class FilePage:
    """The files of one vendor page and the listing position after them."""

    files: list[RemoteFile]
    cursor: dict
    skipped: int = 0  # vendor records we could not read


def supports_files(adapter_cls) -> bool:
    return callable(getattr(adapter_cls, "list_files", None)) and callable(
        getattr(adapter_cls, "download_file", None)
    )


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower() if "@" in (address or "") else ""


def is_internal_domain(domain: str, internal: set[str]) -> bool:
    domain = (domain or "").strip().lower()
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in internal)
