"""Writes of outbound integrations: create, change and remove destinations; resend dead letters.

A new destination starts at the tenant's current outbox number: it receives what happens from
now on (a SIEM agent also back-fills the last two days once it first connects). A webhook's
secret is made here, returned once to be shown to the admin, and kept sealed with the tenant key.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.compliance import crypto
from apps.compliance.inventory import max_days
from apps.compliance.models import DataKind
from apps.tenants import audit
from apps.tenants.scoping import current_tenant

from .models import (
    SECRET_PURPOSE,
    DeadLetter,
    Destination,
    DestinationKind,
    DestinationStatus,
    OutboxEvent,
    OutboxSequence,
)
from .outbox import current_seq


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _seal(tenant, secret: str) -> bytes:
    return crypto.seal(tenant.id, secret.encode(), SECRET_PURPOSE)


def create_destination(
    *,
    kind: str,
    name: str,
    data_kinds: list[str],
    config: dict,
    filters: dict | None = None,
    actor=None,
    request=None,
) -> tuple[Destination, str]:
    """Create a destination; returns it and its secret (webhooks; "" otherwise), shown once."""
    tenant = current_tenant()
    secret = new_secret() if kind == DestinationKind.WEBHOOK else ""
    with transaction.atomic(using=tenant.db_alias):
        OutboxSequence.objects.get_or_create(tenant_id=tenant.id)
        destination = Destination.objects.create(
            kind=kind,
            name=name,
            data_kinds=sorted(set(data_kinds)),
            config=config,
            filters=filters or {},
            secret_sealed=_seal(tenant, secret) if secret else None,
            cursor=current_seq(),
            backfill_pending=kind == DestinationKind.SIEM,
        )
    audit.record(
        tenant,
        "integration.created",
        actor=actor,
        request=request,
        target=destination,
        details={"kind": kind, "name": name, "data_kinds": destination.data_kinds},
    )
    return destination, secret


def rotate_secret(destination: Destination, *, actor=None, request=None) -> str:
    tenant = current_tenant()
    secret = new_secret()
    destination.secret_sealed = _seal(tenant, secret)
    destination.save(update_fields=["secret_sealed", "updated_at"])
    audit.record(
        tenant, "integration.secret_rotated", actor=actor, request=request, target=destination
    )
    return secret


def set_enabled(destination: Destination, enabled: bool, *, actor=None, request=None) -> None:
    """Turn a destination off, or on again: it then receives what happens from now on (what
    happened while it was off is not sent; a SIEM agent back-fills two days again)."""
    destination.enabled = enabled
    destination.status = DestinationStatus.PENDING if enabled else DestinationStatus.DISCONNECTED
    destination.next_attempt_at = None
    fields = ["enabled", "status", "next_attempt_at", "updated_at"]
    if enabled:
        destination.cursor, destination.cursor_offset, destination.item_attempts = (
            current_seq(),
            0,
            0,
        )
        destination.consecutive_failures = 0
        destination.backfill_pending = destination.kind == DestinationKind.SIEM
        fields += [
            "cursor",
            "cursor_offset",
            "item_attempts",
            "consecutive_failures",
            "backfill_pending",
        ]
    destination.save(update_fields=fields)
    audit.record(
        current_tenant(),
        "integration.enabled" if enabled else "integration.disabled",
        actor=actor,
        request=request,
        target=destination,
    )


def delete_destination(destination: Destination, *, actor=None, request=None) -> None:
    tenant = current_tenant()
    details = {"kind": destination.kind, "name": destination.name}
    audit.record(
        tenant,
        "integration.deleted",
        actor=actor,
        request=request,
        target=destination,
        details=details,
    )
    destination.delete()


def resend_dead_letter(letter: DeadLetter, *, actor=None, request=None) -> None:
    """Queue a dead letter again: a new outbox event with the one item, for that destination's
    kind of data (every destination receiving the kind gets it)."""
    from .outbox import append

    tenant = current_tenant()
    with transaction.atomic(using=tenant.db_alias):
        letter.resent_at = timezone.now()
        letter.save(update_fields=["resent_at"])
        append(letter.kind, [letter.ref])
    audit.record(
        tenant,
        "integration.dead_letter_resent",
        actor=actor,
        request=request,
        target=letter.destination,
        details={"kind": letter.kind, "ref": letter.ref},
    )


def prune_outbox(*, now=None) -> int:
    """Remove events every enabled destination has received (all of them with none enabled),
    and events older than the activity retention (what they name is gone by then)."""
    now = now or timezone.now()
    cursors = list(Destination.objects.filter(enabled=True).values_list("cursor", flat=True))
    done = OutboxEvent.objects.all()
    if cursors:
        done = done.filter(seq__lte=min(cursors))
    removed = done.delete()[0]
    ceiling = timedelta(days=max_days(DataKind.ACTIVITIES))
    return removed + OutboxEvent.objects.filter(created_at__lt=now - ceiling).delete()[0]
