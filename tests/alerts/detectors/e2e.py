"""End-to-end kit of the detections: real ingestion (which enriches the country from the IP)
queues batches, the real evaluator runs every enabled detection on them."""

from __future__ import annotations

import contextlib
import datetime as dt

from apps.alerts.evaluation import ensure_detection_policies
from apps.alerts.models import Alert, Policy, PolicyKind
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.alerts.helpers import evaluate, event, ingest_events

from .kit import IPS


def base() -> dt.datetime:
    """Two days back from a recent round hour: room for a day of activity after it (ingestion
    refuses times more than a day ahead) and for a learning period before it."""
    return logdata.base_time() - dt.timedelta(days=2)


def travel_event(when: dt.datetime, country: str, actor: str = "ann@a.example", **fields):
    """A successful sign-in from an address of `country`."""
    values = {
        "ip": IPS[country],
        "action_type": "UserLoggedIn",
        "activity_type": "login",
    }
    values.update(fields)
    return event(when, actor=actor, **values)


def setup(tenant, app=None):
    """The tenant's detection policies (all on, defaults) and a connected app."""
    with tenant_context(tenant):
        ensure_detection_policies(tenant)
    return app or logdata.app(tenant)


def feed(tenant, app, *batches) -> None:
    """Ingest each batch of events like a connector poll, evaluating after each."""
    for events in batches:
        if events:
            result = ingest_events(tenant, app, events)
            assert not result.rejected, result.rejected
        evaluate(tenant)


@contextlib.contextmanager
def detection(tenant, key: str):
    """The tenant's policy row of one detection, saved on exit (switch it, tune it)."""
    with tenant_context(tenant):
        policy = Policy.objects.get(kind=PolicyKind.ANOMALY, detector=key)
        yield policy
        policy.save()


def alerts_of(tenant, key: str) -> list[Alert]:
    with tenant_context(tenant):
        return list(Alert.objects.filter(policy__detector=key).order_by("number"))
