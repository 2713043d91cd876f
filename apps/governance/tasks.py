"""Celery tasks of governance: carry out one recorded action, and the beat job that re-sends
the actions left behind (see `apps.governance.executor`)."""

from __future__ import annotations

from apps.tenants.tasking import platform_task, tenant_task

# A vendor call makes a handful of requests of at most CONNECTOR_HTTP_TIMEOUT each; the executor
# treats an action in progress for longer than its STALE_RUNNING (10 min) as abandoned.
TIME_LIMIT = 5 * 60


@tenant_task(
    "governance.execute_action",
    time_limit=TIME_LIMIT,
    soft_time_limit=TIME_LIMIT - 30,
    # The executor records retryable failures itself and asks for the retry below; Celery's
    # own autoretry would run it again behind the governance log's back.
    autoretry_for=(),
)
def execute_action(tenant, action_id: str) -> str:
    from .executor import execute

    outcome = execute(tenant, action_id)
    if outcome.retry_in is not None:
        # Unlimited here: the action's attempts (GOVERNANCE_MAX_ATTEMPTS) bound the retries.
        raise execute_action.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.status or outcome.reason


@platform_task("governance.dispatch_due", time_limit=120, soft_time_limit=100)
def dispatch_due() -> int:
    """Beat: send again the actions whose message was lost or whose worker died."""
    from .executor import dispatch_due as sweep

    return sweep()
