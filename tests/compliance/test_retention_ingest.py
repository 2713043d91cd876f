"""A tenant's shorter retention also holds at the door: ingestion refuses activities and skips
discovery lines already past the tenant's own period (they would go at the next purge)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.activities.events import EventIn
from apps.activities.ingestion import ingest
from tests.activities import logdata
from tests.discovery.helpers import now_ts, run_snapshot, squid_line

from .retention_kit import own_periods


def _event(event_id: str, days_ago: int) -> EventIn:
    return EventIn(
        source_event_id=event_id,
        occurred_at=timezone.now() - dt.timedelta(days=days_ago),
        action_type="UserLoggedIn",
        activity_type="login",
        actor="ann@alpha.test",
    )


def test_activities_older_than_the_tenants_own_period_are_refused(tenant_a, tenant_b):
    own_periods(tenant_a, activities_days=30)
    events = [_event("recent", 10), _event("old", 40)]

    mine = ingest(
        tenant=tenant_a, app_instance=logdata.app(tenant_a), events=events, source="connector"
    )
    assert mine.accepted == 1
    assert [r.reason for r in mine.rejected] == [
        f"occurred_at {events[1].occurred_at:%Y-%m-%d} is older than the 30-day activity retention"
    ]
    # Another tenant keeps the deployment's 180 days.
    theirs = ingest(
        tenant=tenant_b, app_instance=logdata.app(tenant_b), events=events, source="connector"
    )
    assert theirs.accepted == 2 and not theirs.rejected


def test_discovery_lines_older_than_the_tenants_own_period_are_skipped(tenant_a):
    own_periods(tenant_a, discovery_days=20)
    lines = "\n".join([squid_line(ts=now_ts(5)), squid_line(ts=now_ts(30))]) + "\n"

    upload = run_snapshot(tenant_a, lines)
    assert upload.lines_parsed == 1
    assert upload.skip_reasons == {"older than 20 days": 1}
