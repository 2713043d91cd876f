"""Celery tasks of Cloud Discovery (thin: the work is in `pipeline`)."""

from __future__ import annotations

from apps.tenants.tasking import tenant_task


@tenant_task("discovery.process_upload", autoretry_for=())
def process_upload(tenant, upload_id: str) -> str:
    """Parse, match and aggregate one upload; a duplicate delivery applies nothing twice."""
    from .pipeline import process

    return process(upload_id)
