"""Celery tasks of governance: carry out one recorded action (see `apps.governance.executor`)."""

from __future__ import annotations

from apps.tenants.tasking import tenant_task


@tenant_task("governance.execute_action")
def execute_action(tenant, action_id: str) -> None:
    from .executor import execute

    execute(tenant, action_id)
