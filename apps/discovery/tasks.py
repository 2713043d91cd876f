"""Celery tasks of Cloud Discovery (thin: the work is in `pipeline`)."""

from __future__ import annotations

from apps.tenants.tasking import platform_task, tenant_task


@tenant_task("discovery.process_upload", autoretry_for=())
def process_upload(tenant, upload_id: str) -> str:
    """Parse, match and aggregate one upload; a duplicate delivery applies nothing twice."""
    from .pipeline import process

    return process(upload_id)


@platform_task("discovery.resume_stalled", time_limit=120, soft_time_limit=100)
def resume_stalled() -> int:
    """Beat: send again the uploads whose message was lost or whose worker died."""
    from .pipeline import resume_stalled as sweep

    return sweep()
