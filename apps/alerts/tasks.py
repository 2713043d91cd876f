"""Celery tasks of policy evaluation (see `apps.alerts.evaluation`)."""

from __future__ import annotations

import logging
from datetime import timedelta

from apps.tenants.tasking import platform_task, tenant_task

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=1)


@tenant_task("alerts.evaluate")
def evaluate(tenant) -> dict:
    """Evaluate the tenant's waiting batches; hands over to a fresh task after its time budget."""
    from .evaluation import evaluate_pending

    stats = evaluate_pending(tenant)
    if stats.more:
        evaluate.delay(str(tenant.id))
    return {
        "batches": stats.batches,
        "activities": stats.activities,
        "alerts_created": stats.alerts_created,
        "busy": stats.busy,
    }


@platform_task("alerts.evaluate_stragglers")
def evaluate_stragglers() -> int:
    """Beat: re-enqueue tenants whose batches wait (a lost message, a lock that was busy)."""
    from .evaluation import stale_batches

    count = 0
    for tenant_ids in stale_batches(STALE_AFTER).values():
        for tenant_id in tenant_ids:
            evaluate.delay(str(tenant_id))
            count += 1
    if count:
        log.info("re-enqueued policy evaluation for %s tenant(s)", count)
    return count
