"""Celery tasks of content inspection (thin: the work is in `file_scan`)."""

from __future__ import annotations

from apps.tenants.gate import collection_stopped
from apps.tenants.tasking import OutOfTime, platform_task, tenant_task

CARRY_ON_AFTER = 5  # seconds before a scan that ran out of time or budget carries on


@tenant_task("dlp.scan_app_files")
def scan_app_files_task(tenant, instance_id: str) -> dict:
    """Scan one app instance's new and changed files. A second delivery while the first runs
    returns at once; a delivery after a crash resumes from the saved "files" cursor. A run
    that stops at its budget (or the soft time limit) sends itself again to carry on."""
    from apps.connectors.models import AppInstance

    from .file_scan import scan_app_files

    instance = AppInstance.objects.filter(pk=instance_id).first()
    if instance is None:  # deleted since it was queued
        return {"skipped": "no such app instance"}
    stopped = collection_stopped(tenant)
    if stopped:  # cancelled since it was queued: a scan would record new files
        return {"skipped": stopped}
    try:
        outcome = scan_app_files(instance)
    except OutOfTime:
        _carry_on(tenant, instance_id)
        return {"more": True, "skipped": "continued in a new run"}
    if outcome.more:
        _carry_on(tenant, instance_id)
    return outcome.as_dict()


def _carry_on(tenant, instance_id: str) -> None:
    """Send the scan again to carry on, unless the tenant was cancelled meanwhile."""
    if collection_stopped(tenant) is None:
        scan_app_files_task.apply_async((str(tenant.id), instance_id), countdown=CARRY_ON_AFTER)


@platform_task("dlp.scan_files_due", time_limit=120, soft_time_limit=100)
def scan_files_due() -> int:
    """Beat (every 15 minutes): queue a file scan per connected app that supports files."""
    from .file_scan import enqueue_file_scans

    return enqueue_file_scans()
