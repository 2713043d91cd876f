"""Celery tasks of the connectors app: thin wrappers around `services` (ids in, idempotent)."""

from __future__ import annotations

from apps.tenants.tasking import platform_task, tenant_task

from .models import AppInstance
from .services import enqueue_due_polls, poll_instance


@tenant_task("connectors.poll_instance")
def poll_instance_task(tenant, instance_id: str) -> dict:
    """Poll one app instance. A second delivery while the first runs returns at once (lease);
    a delivery after a crash resumes from the instance's saved cursors."""
    instance = AppInstance.objects.filter(pk=instance_id).first()
    if instance is None:  # deleted since it was queued
        return {"skipped": "no such app instance"}
    return poll_instance(instance).as_dict()


@platform_task("connectors.poll_due")
def poll_due() -> int:
    """Every minute (beat): queue a poll for each enabled instance that is due."""
    return enqueue_due_polls()
