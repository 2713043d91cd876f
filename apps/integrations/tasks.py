"""Celery tasks of outbound integrations: the beat sweep and one destination's push."""

from __future__ import annotations

import logging

from django.db.models import Q
from django.utils import timezone

from apps.tenants.routing import geo_aliases
from apps.tenants.tasking import platform_task, tenant_task

log = logging.getLogger(__name__)

PUSH_SECONDS = 50  # one push's budget; the next beat run carries on


@tenant_task("integrations.push", time_limit=5 * 60, soft_time_limit=4 * 60, autoretry_for=())
def push_destination(tenant, destination_id: str) -> dict:
    from .delivery import push
    from .models import Destination
    from .senders import sender_for

    destination = Destination.objects.filter(pk=destination_id, enabled=True).first()
    if destination is None:
        return {"skipped": "no such enabled destination"}
    sender = sender_for(destination, tenant)
    try:
        result = push(destination, sender=sender, max_seconds=PUSH_SECONDS)
    finally:
        close = getattr(sender, "close", None)
        if callable(close):
            close()
    if result.more:
        push_destination.delay(str(tenant.id), destination_id)
    return {"delivered": result.delivered, "dead": result.dead, "error": result.error}


@platform_task("integrations.push_due", time_limit=120, soft_time_limit=100)
def push_due() -> int:
    """Beat: push every enabled destination that has something due, in every geo database,
    and prune what all destinations have received."""
    from apps.tenants.models import Tenant
    from apps.tenants.scoping import tenant_context

    from .models import Destination, OutboxSequence
    from .services import prune_outbox

    now = timezone.now()
    sent = 0
    for alias in sorted(geo_aliases() | {"default"}):
        newest = dict(
            OutboxSequence.unscoped_objects.using(alias).values_list("tenant_id", "value")
        )
        due = (
            Destination.unscoped_objects.using(alias)
            .filter(enabled=True)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .values_list("pk", "tenant_id", "cursor", "backfill_pending")
        )
        tenants = set()
        for pk, tenant_id, cursor, backfill in due:
            tenants.add(tenant_id)
            if backfill or newest.get(tenant_id, 0) > cursor:
                push_destination.delay(str(tenant_id), str(pk))
                sent += 1
        for tenant in Tenant.objects.filter(pk__in=tenants | set(newest)):
            if tenant.db_alias != alias:
                continue
            with tenant_context(tenant):
                prune_outbox(now=now)
    if sent:
        log.info("integrations: %s destination push(es) sent", sent)
    return sent
