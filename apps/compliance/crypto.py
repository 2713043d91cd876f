"""Envelope encryption of tenant data (DESIGN.md, "Secrets and personal data").

A master key (settings.CASB_MASTER_KEYS, with a key id so it can be rotated) wraps one data key
per tenant and version (`TenantKey`). Data is sealed with AES-256-GCM under the tenant's newest
data key. A sealed value is self-describing, so it can be opened without a tenant context:

    b"\\x01" | tenant id (16 bytes) | key version (4, big-endian) | nonce (12) | ciphertext+tag

The associated data binds the ciphertext to its tenant and to a caller-chosen purpose (e.g.
"connectors.appinstance.credentials"): a value copied to another tenant's row or another field
fails to open instead of decrypting.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import IntegrityError, transaction

from .models import TenantKey

FORMAT = 1
_HEADER = struct.Struct(">B16sI")  # format, tenant id, key version
_NONCE = 12

_lock = threading.Lock()
# Both caches hold an entry for CASB_KEY_CACHE_SECONDS only, then read TenantKey again: a key
# another process destroyed (tenant deletion) or pruned (rotation) stops opening here by then.
_keys: dict[tuple[uuid.UUID, int], tuple[AESGCM, float]] = {}  # (tenant, version) -> (key, when)
_newest: dict[uuid.UUID, tuple[int, float]] = {}  # tenant -> (version, when it was read)


def _fresh(read_at: float) -> bool:
    return time.monotonic() - read_at < settings.CASB_KEY_CACHE_SECONDS


class DecryptionError(Exception):
    """The value was tampered with, belongs elsewhere, or its key has been destroyed."""


def _master(key_id: str) -> AESGCM:
    try:
        return AESGCM(settings.CASB_MASTER_KEYS[key_id])
    except KeyError as exc:
        raise DecryptionError(f"master key {key_id!r} is not configured") from exc


def _wrap_aad(tenant_id: uuid.UUID, version: int) -> bytes:
    return b"casb-tenant-key|" + tenant_id.bytes + struct.pack(">I", version)


def wrap(tenant_id: uuid.UUID, version: int, data_key: bytes) -> tuple[str, bytes]:
    key_id = settings.CASB_CURRENT_MASTER_KEY_ID
    nonce = os.urandom(_NONCE)
    return key_id, nonce + _master(key_id).encrypt(nonce, data_key, _wrap_aad(tenant_id, version))


def unwrap(row: TenantKey) -> bytes:
    blob = bytes(row.wrapped_key)
    try:
        return _master(row.master_key_id).decrypt(
            blob[:_NONCE], blob[_NONCE:], _wrap_aad(row.tenant_id, row.version)
        )
    except InvalidTag as exc:
        raise DecryptionError("a tenant key failed to unwrap: wrong master key?") from exc


def _load(tenant_id: uuid.UUID, version: int) -> AESGCM:
    cached = _keys.get((tenant_id, version))
    if cached is not None and _fresh(cached[1]):
        return cached[0]
    row = TenantKey.objects.using("default").filter(tenant_id=tenant_id, version=version).first()
    if row is None:
        with _lock:
            _keys.pop((tenant_id, version), None)
        raise DecryptionError("the tenant's data key no longer exists (crypto-shredded)")
    aead = AESGCM(unwrap(row))
    with _lock:
        _keys[(tenant_id, version)] = (aead, time.monotonic())
    return aead


def create_key_version(tenant_id: uuid.UUID) -> int:
    """Add a new newest data key for the tenant and return its version."""
    for _ in range(5):
        newest = (
            TenantKey.objects.using("default")
            .filter(tenant_id=tenant_id)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        version = (newest or 0) + 1
        key_id, wrapped = wrap(tenant_id, version, AESGCM.generate_key(bit_length=256))
        try:
            with transaction.atomic(using="default"):
                TenantKey.objects.using("default").create(
                    tenant_id=tenant_id, version=version, master_key_id=key_id, wrapped_key=wrapped
                )
        except IntegrityError:  # another process added this version first
            continue
        with _lock:
            _newest[tenant_id] = (version, time.monotonic())
        return version
    raise RuntimeError("could not create a tenant key version")


def _newest_version(tenant_id: uuid.UUID) -> int:
    # Remembered for CASB_KEY_CACHE_SECONDS only: after another process rotated the tenant's
    # key, this one moves to the new version within that time (the rotation waits for it).
    cached = _newest.get(tenant_id)
    version = None
    if cached is not None and _fresh(cached[1]):
        version = cached[0]
    if version is None:
        version = (
            TenantKey.objects.using("default")
            .filter(tenant_id=tenant_id)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        if version is None:
            return create_key_version(tenant_id)
        with _lock:
            _newest[tenant_id] = (version, time.monotonic())
    return version


def seal(tenant_id: uuid.UUID, plaintext: bytes, purpose: str) -> bytes:
    """Encrypt `plaintext` for `tenant_id`, bound to `purpose`."""
    version = _newest_version(tenant_id)
    header = _HEADER.pack(FORMAT, tenant_id.bytes, version)
    nonce = os.urandom(_NONCE)
    sealed = _load(tenant_id, version).encrypt(nonce, plaintext, header + purpose.encode())
    return header + nonce + sealed


def open_sealed(blob: bytes, purpose: str, tenant_id: uuid.UUID | None = None) -> bytes:
    """Decrypt a value made by `seal`; `tenant_id`, when given, must be its tenant."""
    blob = bytes(blob)
    if len(blob) < _HEADER.size + _NONCE + 16 or blob[0] != FORMAT:
        raise DecryptionError("not a sealed value")
    _, tenant_bytes, version = _HEADER.unpack_from(blob)
    owner = uuid.UUID(bytes=tenant_bytes)
    if tenant_id is not None and owner != tenant_id:
        raise DecryptionError("the value belongs to another tenant")
    header, nonce = blob[: _HEADER.size], blob[_HEADER.size : _HEADER.size + _NONCE]
    try:
        return _load(owner, version).decrypt(
            nonce, blob[_HEADER.size + _NONCE :], header + purpose.encode()
        )
    except InvalidTag as exc:
        raise DecryptionError("the value was altered or sealed for another purpose") from exc


def seal_text(tenant_id: uuid.UUID, text: str, purpose: str) -> bytes:
    return seal(tenant_id, text.encode(), purpose)


def open_text(blob: bytes, purpose: str, tenant_id: uuid.UUID | None = None) -> str:
    return open_sealed(blob, purpose, tenant_id).decode()


def destroy_tenant_keys(tenant_id: uuid.UUID) -> int:
    """Crypto-shredding: delete every data key of the tenant; its sealed data is unreadable."""
    deleted, _ = TenantKey.objects.using("default").filter(tenant_id=tenant_id).delete()
    forget(tenant_id)
    return deleted


def forget(tenant_id: uuid.UUID | None = None) -> None:
    """Drop cached keys (all, or one tenant's)."""
    with _lock:
        for key in [k for k in _keys if tenant_id is None or k[0] == tenant_id]:
            del _keys[key]
        for key in [k for k in _newest if tenant_id is None or k == tenant_id]:
            del _newest[key]
