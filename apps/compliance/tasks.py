"""Celery tasks of the privacy and data lifecycle (thin: the work is in the services).

Beat runs the three sweeps daily (casb/celery.py); each is idempotent and safe to kill: the next
run carries on where the last one stopped.
"""

from __future__ import annotations

from apps.tenants.tasking import platform_task


@platform_task("compliance.purge_retention", time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def purge_retention() -> dict:
    """Beat: remove what is older than each tenant's retention period, in every geo database."""
    from .retention import purge_all

    return purge_all()


@platform_task("compliance.cleanup_deleted_accounts", time_limit=3600, soft_time_limit=3540)
def cleanup_deleted_accounts() -> int:
    """Beat: remove our copy of accounts deleted in their app longer ago than the window."""
    from .subjects import cleanup_deleted_accounts as sweep

    return sweep()


@platform_task("compliance.delete_due_tenants", time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def delete_due_tenants() -> int:
    """Beat: delete every row and destroy the keys of tenants whose grace period has passed."""
    from .offboarding import delete_due_tenants as sweep

    return sweep()
