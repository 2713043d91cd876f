"""Where uploaded logs wait for a worker: encrypted with the tenant's key, deleted when parsed.

A spool file is a sequence of sealed chunks (`apps.compliance.crypto.seal`), each holding
`CHUNK` bytes of the upload except the last. Every record is `4-byte length | sealed chunk`,
and every full chunk seals to the same size, so `SpoolReader` can seek (zip archives are read
from their end). Logs hold usernames and addresses: they never touch the disk in clear.
"""

from __future__ import annotations

import io
import struct
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from apps.compliance import crypto

CHUNK = 1024 * 1024
_LEN = struct.Struct(">I")
_PURPOSE = "discovery.spool"


class SpoolTooLarge(ValueError):
    """The upload is larger than DISCOVERY_MAX_UPLOAD_BYTES."""


def tenant_dir(tenant_id: uuid.UUID) -> Path:
    """The folder of one tenant's spooled files (uploads waiting, sealed subject exports)."""
    return Path(settings.DISCOVERY_SPOOL_DIR) / str(tenant_id)


def _path(tenant_id: uuid.UUID, name: str) -> Path:
    if not name.replace("-", "").isalnum():
        raise ValueError("not a spool name")
    return tenant_dir(tenant_id) / f"{name}.bin"


def write(
    tenant_id: uuid.UUID, chunks: Iterable[bytes], limit: int | None = None
) -> tuple[str, int]:
    """Spool the bytes of `chunks` (any sizes); returns (spool name, plain size)."""
    limit = settings.DISCOVERY_MAX_UPLOAD_BYTES if limit is None else limit
    name = uuid.uuid4().hex
    path = _path(tenant_id, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    pending = bytearray()
    try:
        with open(path, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise SpoolTooLarge(f"the upload is larger than {limit:,} bytes")
                pending += chunk
                while len(pending) >= CHUNK:
                    _put(out, tenant_id, bytes(pending[:CHUNK]))
                    del pending[:CHUNK]
            if pending:
                _put(out, tenant_id, bytes(pending))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, size


def _put(out, tenant_id: uuid.UUID, plain: bytes) -> None:
    sealed = crypto.seal(tenant_id, plain, _PURPOSE)
    out.write(_LEN.pack(len(sealed)))
    out.write(sealed)


def delete(tenant_id: uuid.UUID, name: str) -> None:
    _path(tenant_id, name).unlink(missing_ok=True)


def exists(tenant_id: uuid.UUID, name: str) -> bool:
    return _path(tenant_id, name).exists()


class SpoolReader(io.RawIOBase):
    """A seekable, read-only byte stream over a spool file, decrypting chunk by chunk.

    `consumed` counts the plain bytes handed out (the pipeline's progress).
    """

    def __init__(self, tenant_id: uuid.UUID, name: str, size: int) -> None:
        super().__init__()
        self._tenant_id = tenant_id
        self._file = open(_path(tenant_id, name), "rb")  # noqa: SIM115 (closed in close())
        self._size = size
        self._pos = 0
        self._chunk_index = -1
        self._chunk = b""
        first = self._file.read(_LEN.size)
        self._record = _LEN.size + (_LEN.unpack(first)[0] if first else 0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _load(self, index: int) -> None:
        self._file.seek(index * self._record)
        head = self._file.read(_LEN.size)
        if len(head) < _LEN.size:
            raise crypto.DecryptionError("the spool file is shorter than its upload")
        sealed = self._file.read(_LEN.unpack(head)[0])
        self._chunk = crypto.open_sealed(sealed, _PURPOSE, self._tenant_id)
        self._chunk_index = index

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index, offset = divmod(self._pos, CHUNK)
        if index != self._chunk_index:
            self._load(index)
        data = self._chunk[offset : offset + len(buffer)]
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
