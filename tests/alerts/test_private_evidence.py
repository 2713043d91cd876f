"""Private activities still raise alerts, but the alert, which every member reads, keeps their
details (IP, object, time and action) out (spec 1.6)."""

from __future__ import annotations

import datetime as dt

from apps.activities.models import Activity
from apps.alerts.models import Alert
from apps.alerts.raising import PRIVATE_EVIDENCE
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

from .helpers import evaluate, event, ingest_events, policy


def test_an_alert_on_private_activities_shows_no_details_of_them(tenant_a):
    app = logdata.app(tenant_a)
    policy(tenant_a, name="Downloads", filters={"actionType": {"eq": ["FileDownloaded"]}})
    now = logdata.base_time()
    ingest_events(
        tenant_a,
        app,
        [
            event(now, actor="hr@a.example", ip="81.2.69.142", object_name="Salaries.xlsx"),
            event(now, actor="ann@a.example", ip="5.9.0.1"),
        ],
    )
    with tenant_context(tenant_a):  # HR's activity was stored as private
        Activity.objects.filter(actor="hr@a.example").update(is_private=True)

    evaluate(tenant_a)

    with tenant_context(tenant_a):
        alerts = {a.users.get().identity: a for a in Alert.objects.prefetch_related("users")}
    private, plain = alerts["hr@a.example"], alerts["ann@a.example"]
    assert private.evidence == [PRIVATE_EVIDENCE] and private.ips == []
    assert "81.2.69.142" not in str(private.__dict__) and "Salaries" not in str(private.__dict__)
    assert plain.ips == ["5.9.0.1"]
    assert plain.evidence[0].startswith(f"{now:%Y-%m-%d %H:%M} FileDownloaded from 5.9.0.1")


def test_the_evaluation_row_carries_the_private_flag(tenant_a):
    app = logdata.app(tenant_a)
    [row] = logdata.add(
        tenant_a, [logdata.activity_row(app, dt.datetime.now(dt.UTC), is_private=True)]
    )
    from tests.alerts.alertdata import as_row

    assert as_row(row).is_private is True
