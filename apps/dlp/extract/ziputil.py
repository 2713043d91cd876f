"""Bounded reading of zip containers (archives and Office files alike), in memory only."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator

from .base import ENCRYPTED, TOO_LARGE, Budget, NotScanned

# What a damaged or exotic zip raises from the stdlib (EOFError: truncated member data,
# NotImplementedError: compression methods zipfile lacks, such as Deflate64; RuntimeError: a
# member encrypted although the directory says otherwise).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
)
_CHUNK = 64 * 1024


def open_zip(data: bytes, budget: Budget) -> zipfile.ZipFile:
    """Open a zip from memory and check its directory against the limits before any inflating."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise NotScanned("unreadable: damaged zip archive") from exc
    limits = budget.limits
    infos = archive.infolist()
    budget.members += len(infos)
    if budget.members > limits.max_members:
        raise NotScanned(TOO_LARGE)
    # Declared sizes first (cheap); reads below are bounded too, since headers can lie.
    if budget.unpacked + sum(info.file_size for info in infos) > limits.max_uncompressed:
        raise NotScanned(TOO_LARGE)
    for info in infos:
        if info.flag_bits & 0x1:
            raise NotScanned(ENCRYPTED)
        if is_bomb(info.file_size, info.compress_size, budget):
            raise NotScanned(f"{TOO_LARGE}: compression bomb")
    return archive


def is_bomb(unpacked: int, packed: int, budget: Budget) -> bool:
    """A member past the floor that expands more than the allowed ratio."""
    limits = budget.limits
    return unpacked > limits.bomb_floor and unpacked > limits.max_ratio * max(packed, 1)


def iter_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> Iterator[bytes]:
    """Stream a member's bytes, counting each chunk against the uncompressed budget."""
    read = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                read += len(chunk)
                budget.unpack(len(chunk))
                if is_bomb(read, info.compress_size, budget):
                    raise NotScanned(f"{TOO_LARGE}: compression bomb")
                yield chunk
    except ZIP_ERRORS as exc:
        raise NotScanned("unreadable: damaged zip archive") from exc


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> bytes:
    """A member's bytes in memory (bounded by the budget), never extracted to disk."""
    return b"".join(iter_member(archive, info, budget))
