"""Celery helpers: tasks that run inside one tenant's scope, enqueued on commit.

A tenant task takes the tenant's id (a string, JSON-safe) as its first argument; the wrapper
loads the tenant once and runs the body inside `tenant_context`, so the body queries exactly as
a console view does; a tenant that is gone or suspended (closed, or being deleted) is skipped.
Tasks take ids, never model instances, and must be idempotent: with late acks a task whose
worker dies is delivered again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction

from .models import Tenant, TenantStatus
from .scoping import tenant_context

log = logging.getLogger(__name__)

# Raised in a task when its soft time limit (TASK_TIME_LIMIT - 60 s) strikes. Long sweeps let it
# through their per-item error handling, so the task can stop cleanly and carry on in a new run.
OutOfTime = SoftTimeLimitExceeded

TASK_DEFAULTS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (ConnectionError, TimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


# A cancelled tenant's tasks still run through its grace period (work queued before the
# cancellation, e.g. an upload being parsed or a push to a webhook); whatever would take new
# data refuses on its own (`apps.tenants.gate.collection_stopped`).
RUNS_TASKS = frozenset({TenantStatus.ACTIVE, TenantStatus.CANCELLED})


def tenant_task(name: str, **options) -> Callable:
    """Declare `fn(tenant, *args)` as the Celery task `name(tenant_id, *args)`; it is skipped
    (None) for a tenant that is gone or suspended (closed, or being deleted)."""

    def decorator(fn: Callable) -> Callable:
        @shared_task(name=name, bind=True, **{**TASK_DEFAULTS, **options})
        @functools.wraps(fn)
        def run(self, tenant_id: str, *args, **kwargs):
            tenant = Tenant.objects.filter(pk=tenant_id).first()
            if tenant is None:  # deleted since enqueueing: nothing left to do
                log.info("task %s skipped: tenant %s no longer exists", name, tenant_id)
                return None
            if tenant.status not in RUNS_TASKS:
                # Suspended: closed, or its deletion has started; a row written now could come
                # after the deletion's pass over its table.
                log.info("task %s skipped: tenant %s is %s", name, tenant_id, tenant.status)
                return None
            with tenant_context(tenant):
                return fn(tenant, *args, **kwargs)

        return run

    return decorator


def platform_task(name: str, **options) -> Callable:
    """Declare a cross-tenant task (beat jobs that walk every tenant)."""
    return shared_task(name=name, **{**TASK_DEFAULTS, **options})


def enqueue_on_commit(task, *args, using: str = "default") -> None:
    """Send `task` once the surrounding transaction commits (never a task for a rollback)."""
    transaction.on_commit(lambda: task.delay(*args), using=using)
