"""Test helpers of policy evaluation: ingest events for real, then evaluate the queued batches."""

from __future__ import annotations

import datetime as dt
import itertools

from apps.activities.events import EventIn
from apps.activities.ingestion import ingest
from apps.alerts.evaluation import evaluate_pending
from apps.alerts.models import Policy
from apps.tenants.scoping import tenant_context

_ids = itertools.count(1)


def event(when: dt.datetime, actor: str = "ann@a.example", **fields) -> EventIn:
    values = {
        "source_event_id": f"ev-{next(_ids)}",
        "occurred_at": when,
        "action_type": "FileDownloaded",
        "activity_type": "download",
        "actor": actor,
        "ip": "81.2.69.142",
        "succeeded": True,
    }
    values.update(fields)
    return EventIn(**values)


def ingest_events(tenant, app_instance, events):
    """Ingest like a connector poll does (batches are queued for evaluation)."""
    return ingest(tenant=tenant, app_instance=app_instance, events=events, source="connector")


def evaluate(tenant, **kwargs):
    with tenant_context(tenant):
        return evaluate_pending(tenant, **kwargs)


def policy(tenant, **fields) -> Policy:
    values = {"name": f"Policy {next(_ids)}", "severity": 2}
    values.update(fields)
    with tenant_context(tenant):
        return Policy.objects.create(**values)
