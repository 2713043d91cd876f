"""Pseudonymous usernames (spec 5.9): deterministic per-tenant encryption at ingest.

A username is normalised (trimmed, lower case) and encrypted with AES-SIV under the tenant's
anonymisation key; the same name always gives the same pseudonym, so a person keeps one pseudonym
and the reports' per-user counts still hold. The pseudonym is the ciphertext itself, so an admin
can resolve it, and only with the key, which is stored sealed by the tenant's data key
(crypto-shredded with the tenant). The plain name is never stored.

Resolving goes through `services.resolve_pseudonym` / `services.find_pseudonym`, which require a
written justification and record it in the audit log; this module only does the cryptography.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.db import IntegrityError, transaction

from apps.compliance import crypto

from .models import AnonymizationKey

PREFIX = "anon-"
_PURPOSE = "discovery.anonymization_key"
_AAD = [b"casb-discovery-username"]


class NotAPseudonym(ValueError):
    """The text is not a pseudonym of this tenant (mistyped, altered or another tenant's)."""


def normalise(username: str) -> str:
    return username.strip().lower()


def _key(tenant) -> AESSIV:
    row = AnonymizationKey.objects.first()
    if row is None:
        key = AESSIV.generate_key(bit_length=256)  # AES-128 in SIV mode (spec: AES-128)
        try:
            with transaction.atomic(using=tenant.db_alias):
                AnonymizationKey.objects.create(sealed_key=crypto.seal(tenant.id, key, _PURPOSE))
        except IntegrityError:  # another process made it first
            row = AnonymizationKey.objects.get()
        else:
            return AESSIV(key)
    return AESSIV(crypto.open_sealed(bytes(row.sealed_key), _PURPOSE, tenant.id))


class Pseudonymizer:
    """Pseudonyms for one tenant; caches per name (one upload sees each user many times)."""

    def __init__(self, tenant) -> None:
        self._siv = _key(tenant)
        self._cache: dict[str, str] = {}

    def pseudonym(self, username: str) -> str:
        name = normalise(username)
        found = self._cache.get(name)
        if found is None:
            sealed = self._siv.encrypt(name.encode(), _AAD)
            found = PREFIX + base64.b32encode(sealed).decode().rstrip("=").lower()
            self._cache[name] = found
        return found

    def resolve(self, pseudonym: str) -> str:
        text = pseudonym.strip().lower()
        if not text.startswith(PREFIX):
            raise NotAPseudonym("a pseudonym starts with 'anon-'")
        body = text[len(PREFIX) :].upper()
        try:
            sealed = base64.b32decode(body + "=" * (-len(body) % 8))
            return self._siv.decrypt(sealed, _AAD).decode()
        except (ValueError, InvalidTag, UnicodeDecodeError):
            raise NotAPseudonym("this is not a pseudonym of this tenant") from None


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX)
