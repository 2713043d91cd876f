"""REST API tokens: each usable token is an integration that reads what its role allows.

A token's rights are its role's, capped by what its creator may still do (see
`apps.tenants.permissions.allowed_actions`); the same cap is computed here from the creators'
current memberships, in one query for all tokens.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.tenants.models import ApiToken, Membership, Role, Tenant
from apps.tenants.permissions import Action, role_actions

from ..registry import Data, Direction, Integration, register

# What each action lets a token read through the API. Private activities are filtered out of
# every API answer, whatever the token's role.
READS: tuple[tuple[Action, tuple[str, ...]], ...] = (
    (
        Action.VIEW,
        (
            Data.ALERTS,
            Data.ACTIVITIES,
            Data.ACCOUNTS,
            Data.DISCOVERY,
            Data.GOVERNANCE_LOG,
            Data.SETTINGS,
        ),
    ),
    (Action.EXPORT, (Data.ACTIVITY_EXPORTS,)),
    (Action.DEANONYMIZE, (Data.DISCOVERY_IDENTITIES,)),
    (Action.VIEW_AUDIT, (Data.AUDIT_LOG,)),
)

# What it may change, in words (shown as a fact: a write token is more than a reader).
CHANGES: tuple[tuple[Action, str], ...] = (
    (Action.MANAGE_ALERTS, "alerts (triage)"),
    (Action.MANAGE_POLICIES, "policies"),
    (Action.RUN_GOVERNANCE, "governance actions"),
    (Action.MANAGE_DISCOVERY, "Cloud Discovery"),
    (Action.MANAGE_SETTINGS, "settings and connected apps"),
    (Action.MANAGE_MEMBERS, "members"),
)


def reads_of(actions: frozenset[Action]) -> tuple[str, ...]:
    """The data kinds a principal with `actions` can read through the API."""
    return tuple(kind for action, kinds in READS if action in actions for kind in kinds)


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "never"


@register(
    "api_tokens",
    label="REST API tokens",
    order=10,
    empty="Each active API token would appear here with the data its role lets it read.",
)
def api_tokens(tenant: Tenant) -> Iterator[Integration]:
    now = timezone.now()
    tokens = list(
        ApiToken.objects.filter(tenant=tenant, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("created_by")
        .order_by("name", "created_at")
    )
    creators = {t.created_by_id for t in tokens}
    roles = dict(
        Membership.objects.filter(tenant=tenant, user_id__in=creators).values_list(
            "user_id", "role"
        )
    )
    url = reverse("tenants:tokens", args=[tenant.slug])
    for token in tokens:
        creator_role = roles.get(token.created_by_id)
        actions = (
            role_actions(token.role) & role_actions(creator_role) if creator_role else frozenset()
        )
        changes = [words for action, words in CHANGES if action in actions]
        details = [
            ("Role", Role(token.role).label),
            ("Key prefix", f"{token.prefix}…"),
            ("Created by", token.created_by.get_username()),
            ("Created", _when(token.created_at)),
            ("Last used", _when(token.last_used_at)),
            ("Expires", _when(token.expires_at) if token.expires_at else "does not expire"),
        ]
        if changes:
            details.append(("May also change", ", ".join(changes)))
        yield Integration(
            provider="api_tokens",
            id=str(token.pk),
            name=token.name,
            type="REST API token",
            direction=Direction.OUTBOUND,
            status="active" if actions else "no_access",
            status_label="Active"
            if actions
            else "No access: its creator is no longer a member of this tenant",
            configure_url=url,
            receives=reads_of(actions),
            details=tuple(details),
        )
