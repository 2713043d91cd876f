"""Celery tasks of the privacy and data lifecycle (thin: the work is in the services).

Beat runs the three sweeps daily (casb/celery.py). Each is idempotent and safe to stop at any
point: work is committed in small steps. A sweep that has more to do than one task may take
(TASK_TIME_LIMIT) stops at its soft time limit and sends itself again to carry on.
"""

from __future__ import annotations

from apps.tenants.tasking import OutOfTime, platform_task, tenant_task

CARRY_ON_AFTER = 5  # seconds before the next run of a sweep that ran out of time


def _sweep(task, run):
    try:
        return run()
    except OutOfTime:
        task.apply_async(countdown=CARRY_ON_AFTER)
        return "continued in a new run"


@platform_task("compliance.purge_retention")
def purge_retention():
    """Beat: remove what is older than each tenant's retention period, in every geo database."""
    from .retention import purge_all

    return _sweep(purge_retention, purge_all)


@platform_task("compliance.cleanup_deleted_accounts")
def cleanup_deleted_accounts():
    """Beat: remove our copy of accounts deleted in their app longer ago than the window."""
    from .subjects import cleanup_deleted_accounts as sweep

    return _sweep(cleanup_deleted_accounts, sweep)


@platform_task("compliance.delete_due_tenants")
def delete_due_tenants():
    """Beat: delete every row and destroy the keys of tenants whose grace period has passed."""
    from .offboarding import delete_due_tenants as sweep

    return _sweep(delete_due_tenants, sweep)


@tenant_task("compliance.run_subject_request", autoretry_for=())
def run_subject_request(tenant, request_id: str):
    """A data-subject export or erase asked for in the console or the API (see `submit`)."""
    from .subjects import run_request

    return run_request(tenant, request_id)


@platform_task("compliance.resend_subject_requests", time_limit=120, soft_time_limit=100)
def resend_subject_requests() -> int:
    """Beat: send again the requests whose message was lost or whose worker died."""
    from .subjects import resend_stalled

    return resend_stalled()
