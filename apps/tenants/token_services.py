"""Writes and reads of API tokens: create (key shown once, stored hashed) and revoke.

Rules enforced here, whatever form or endpoint calls in:
- creating needs Action.MANAGE_TOKENS (readers have it: they may create reader tokens, spec 8.1);
- a token's role ranks no higher than its creator's current role (`ROLE_RANK`); its rights are
  capped again on every request by what the creator may still do (`allowed_actions`);
- the key leaves this module once, in the return value; only `hash_key(key)` is stored;
- a person revokes their own tokens; revoking someone else's token is managing another
  person's access, so it needs Action.MANAGE_MEMBERS (global admins).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import audit
from .api.authentication import hash_key, new_key
from .models import ApiToken, Membership, Role, Tenant
from .permissions import ROLE_RANK, Action, may


class TokenRefused(Exception):
    """The principal may not create or revoke this token; the message says why."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    key: str  # shown once to the creator, never stored


def tokens_of(tenant: Tenant) -> QuerySet[ApiToken]:
    """The tenant's tokens, newest first, with their creators."""
    return ApiToken.objects.filter(tenant=tenant).select_related("created_by")


def current_role(user, tenant: Tenant) -> str | None:
    return (
        Membership.objects.filter(tenant=tenant, user=user).values_list("role", flat=True).first()
    )


def grantable_roles(user, tenant: Tenant) -> list[str]:
    """Roles `user` may give a new token in `tenant`: none above their own current role."""
    if not may(user, Action.MANAGE_TOKENS, tenant):
        return []
    own = current_role(user, tenant)
    if own is None:
        return []
    return [role for role in Role.values if ROLE_RANK[role] <= ROLE_RANK[own]]


def token_status(token: ApiToken, now: dt.datetime | None = None) -> str:
    """`revoked`, `expired` or `active`."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= (now or timezone.now()):
        return "expired"
    return "active"


def may_revoke(user, token: ApiToken) -> bool:
    """Own tokens with MANAGE_TOKENS; anyone's with MANAGE_MEMBERS as well."""
    if not may(user, Action.MANAGE_TOKENS, token.tenant):
        return False
    return token.created_by_id == user.pk or may(user, Action.MANAGE_MEMBERS, token.tenant)


@transaction.atomic
def create_token(
    *,
    tenant: Tenant,
    creator,
    name: str,
    role: str,
    expires_at: dt.datetime | None = None,
    request=None,
) -> NewToken:
    """Create a token for `creator` in `tenant` and return it with its key (shown once)."""
    name = name.strip()
    if not name:
        raise TokenRefused("Give the token a name.")
    if role not in Role.values:
        raise TokenRefused("Unknown role.")
    if role not in grantable_roles(creator, tenant):
        raise TokenRefused("A token's role cannot be higher than your own role.")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenRefused("The expiry must be in the future.")
    key, prefix = new_key()
    token = ApiToken.objects.create(
        tenant=tenant,
        created_by=creator,
        name=name[:100],
        role=role,
        prefix=prefix,
        key_hash=hash_key(key),
        expires_at=expires_at,
    )
    audit.record(
        tenant,
        "token.created",
        actor=creator,
        request=request,
        target=token,
        details={
            "name": token.name,
            "role": role,
            "prefix": prefix,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return NewToken(token=token, key=key)


@transaction.atomic
def revoke_token(*, token: ApiToken, actor, request=None) -> ApiToken:
    """Revoke `token` at once; it answers 401 from the next request on. Idempotent."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not may_revoke(actor, token):
        raise TokenRefused("You may revoke only your own tokens.")
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(
        token.tenant,
        "token.revoked",
        actor=actor,
        request=request,
        target=token,
        details={
            "name": token.name,
            "role": token.role,
            "prefix": token.prefix,
            "owner": token.created_by.get_username(),
        },
    )
    return token
