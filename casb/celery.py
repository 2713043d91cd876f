"""The Celery app and the one beat schedule.

JSON only, late acks, reject on worker loss, prefetch 1: a task whose worker dies is delivered
again, so every task is idempotent (see DESIGN.md, "Background work"). With Redis the visibility
timeout is at least twice the longest hard time limit, or a slow task would be delivered twice.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casb.settings")

TASK_TIME_LIMIT = 15 * 60  # hard limit of the longest task, seconds
VISIBILITY_TIMEOUT = 2 * TASK_TIME_LIMIT

app = Celery("casb")


def _broker_options(url: str, broker_dir: str) -> dict:
    if url.startswith("filesystem://"):
        # The embedded broker of the one-command demo: a folder, no server to install.
        # The exchange table (control_folder) defaults to ./control: keep it under var/ too.
        for sub in ("in", "processed", "control"):
            os.makedirs(os.path.join(broker_dir, sub), exist_ok=True)
        return {
            "data_folder_in": os.path.join(broker_dir, "in"),
            "data_folder_out": os.path.join(broker_dir, "in"),
            "processed_folder": os.path.join(broker_dir, "processed"),
            "control_folder": os.path.join(broker_dir, "control"),
            "store_processed": False,
        }
    return {
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    }


def configure(application: Celery) -> None:
    from django.conf import settings

    application.conf.update(
        broker_url=settings.CELERY_BROKER_URL,
        broker_transport_options=_broker_options(
            settings.CELERY_BROKER_URL, str(settings.CELERY_BROKER_FILESYSTEM_DIR)
        ),
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=TASK_TIME_LIMIT,
        task_soft_time_limit=TASK_TIME_LIMIT - 60,
        task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER,
        timezone="UTC",
        beat_schedule=BEAT_SCHEDULE,
        beat_schedule_filename=str(settings.VAR_DIR / "celerybeat-schedule"),
    )


# The one place periodic jobs are declared. Each entry expires before its next run.
BEAT_SCHEDULE = {
    "verify-audit-chains": {
        "task": "tenants.verify_audit_chains",
        "schedule": crontab(minute=17, hour=3),
        "options": {"expires": 23 * 3600},
    },
    "purge-expired-api-tokens": {
        "task": "tenants.purge_expired_api_tokens",
        "schedule": crontab(minute=5),
        "options": {"expires": 3000},
    },
    # Connected apps: queue a poll for every enabled instance that is due (connectors).
    "connectors-poll-due": {
        "task": "connectors.poll_due",
        "schedule": crontab(),  # every minute
        "options": {"expires": 50},
    },
    # Day partitions of the activity table, a week ahead, in every geo database.
    "activities.ensure_partitions": {
        "task": "activities.ensure_partitions",
        "schedule": crontab(minute=23, hour=0),
        "options": {"expires": 23 * 3600},
    },
    # Policy evaluation: tenants whose batches wait (lost message, busy lock) are picked up.
    "alerts.evaluate-stragglers": {
        "task": "alerts.evaluate_stragglers",
        "schedule": crontab(),  # every minute
        "options": {"expires": 50},
    },
    # Governance actions whose message was lost, or whose retry is due, are sent again.
    "governance.dispatch-due": {
        "task": "governance.dispatch_due",
        "schedule": crontab(),  # every minute
        "options": {"expires": 50},
    },
    # Privacy and data lifecycle: retention purge, deleted-account cleanup, offboarded tenants.
    "compliance.purge-retention": {
        "task": "compliance.purge_retention",
        "schedule": crontab(minute=41, hour=1),
        "options": {"expires": 23 * 3600},
    },
    "compliance.cleanup-deleted-accounts": {
        "task": "compliance.cleanup_deleted_accounts",
        "schedule": crontab(minute=11, hour=2),
        "options": {"expires": 23 * 3600},
    },
    "compliance.delete-due-tenants": {
        "task": "compliance.delete_due_tenants",
        "schedule": crontab(minute=31, hour=2),
        "options": {"expires": 23 * 3600},
    },
    # Integrations: push every destination with something due, prune the delivered outbox.
    "integrations.push-due": {
        "task": "integrations.push_due",
        "schedule": crontab(),  # every minute
        "options": {"expires": 50},
    },
    # Content inspection: scan new and changed files of connected apps that support files.
    "dlp.scan-files": {
        "task": "dlp.scan_files_due",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 14 * 60},
    },
    # Data-subject requests whose message was lost or whose worker died are sent again.
    "compliance.resend-subject-requests": {
        "task": "compliance.resend_subject_requests",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    # Discovery uploads whose message was lost or whose worker died are sent again.
    "discovery.resume-stalled": {
        "task": "discovery.resume_stalled",
        "schedule": crontab(),  # every minute
        "options": {"expires": 50},
    },
}

configure(app)
app.autodiscover_tasks()
