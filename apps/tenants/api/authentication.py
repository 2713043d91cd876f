"""API authentication: `Authorization: Token <key>`; the token names its tenant.

Only SHA-256 of a key is stored. A key is 256 bits from the CSPRNG, so a fast unsalted hash is
enough (there is nothing to brute-force, unlike a password) and lets us look the token up by its
hash with an index. Unknown, revoked, expired and malformed keys all answer 401 with the same
message, so the answer tells an attacker nothing about which keys exist.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from django.utils import timezone
from rest_framework import authentication, exceptions

from ..models import ApiToken

KEY_PREFIX = "casb_"
# casb_<8 hex>_<43 urlsafe base64>; anything else is refused before touching the database.
_KEY_RE = re.compile(r"^casb_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")
_REFUSED = "Invalid, revoked or expired token."
# Writing last_used_at on every request would turn each read into a write; a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh key (256 bits from the CSPRNG) and its public prefix."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


class TenantTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` -> (the token's creator, the token)."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as 'Authorization: Token <key>'."
            )
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_REFUSED) from exc
        if not _KEY_RE.match(key):
            raise exceptions.AuthenticationFailed(_REFUSED)
        token = (
            ApiToken.objects.select_related("tenant", "created_by")
            .filter(key_hash=hash_key(key), revoked_at__isnull=True)
            .first()
        )
        now = timezone.now()
        if token is None or (token.expires_at is not None and token.expires_at <= now):
            raise exceptions.AuthenticationFailed(_REFUSED)
        if not token.created_by.is_active:
            raise exceptions.AuthenticationFailed(_REFUSED)
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
        ):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.created_by, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
