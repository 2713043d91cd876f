"""Okta adapter against the fake Okta: System Log paging, faults, resume, directory."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import Account, AccountStatus, CloudUser, GroupMembership
from apps.connectors import services
from apps.connectors.models import InstanceStatus
from apps.connectors.status import words
from apps.tenants.scoping import tenant_context

from .helpers import cursor, reload, stored, stored_ids

pytestmark = pytest.mark.django_db


def _events(okta, count: int, start_minutes_ago: int = 50) -> list[dict]:
    base = timezone.now() - dt.timedelta(minutes=start_minutes_ago)
    return [okta.add_event(base + dt.timedelta(minutes=i)) for i in range(count)]


def test_every_page_is_read_once_and_mapped(tenant_a, okta, okta_app):
    events = _events(okta, 5)
    okta.add_event(timezone.now() - dt.timedelta(minutes=3), result="FAILURE", ip="2.125.160.216")
    outcome = services.poll_instance(okta_app)

    assert outcome.error is None
    assert outcome.ingest.accepted == 6
    rows = stored(tenant_a, okta_app)
    assert [r.source_event_id for r in rows[:5]] == [e["uuid"] for e in events]
    first = rows[0]
    assert first.activity_type == "login"
    assert first.action_type == "user.session.start"
    assert first.actor == "ann@acme.test"
    assert first.ip == "81.2.69.142"
    assert first.succeeded is True
    assert "Chrome" in first.user_agent
    assert first.object_name == "Salesforce"
    assert rows[-1].activity_type == "failed_login"
    assert rows[-1].succeeded is False
    # 6 events, 2 per page: 3 full pages and the empty one that says "caught up".
    assert len(okta.hits("/api/v1/logs")) == 4
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.HEALTHY
    assert words(instance).startswith("healthy, ")
    assert instance.latest_event_at is not None
    assert cursor(tenant_a, okta_app, "activities")["since"]


def test_overlapping_pages_and_repeated_polls_store_each_event_once(tenant_a, okta, okta_app):
    _events(okta, 7)
    okta.overlap = True  # each page repeats the previous page's last event
    first = services.poll_instance(okta_app)
    assert first.ingest.accepted == 7
    assert first.ingest.duplicates >= 3
    second = services.poll_instance(okta_app)  # re-reads the overlap window
    assert second.ingest.accepted == 0
    counts = stored_ids(tenant_a, okta_app)
    assert len(counts) == 7 and set(counts.values()) == {1}


def test_a_crash_mid_poll_resumes_without_gap_or_duplicate(tenant_a, okta, okta_app):
    events = _events(okta, 7)
    okta.fault("/api/v1/logs", 503, {"errorSummary": "Service Unavailable"}, skip=2)
    outcome = services.poll_instance(okta_app)
    assert outcome.error is not None
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.UNAVAILABLE
    assert "HTTP 503" in words(instance) and "retrying at" in words(instance)
    assert instance.next_poll_at == instance.retry_at > timezone.now()
    assert len(stored(tenant_a, okta_app)) == 4  # the two pages handed over before the fault
    saved = cursor(tenant_a, okta_app, "activities")["since"]
    assert saved.startswith(events[3]["published"][:19])

    services.poll_instance(okta_app)
    counts = stored_ids(tenant_a, okta_app)
    assert set(counts) == {e["uuid"] for e in events}
    assert set(counts.values()) == {1}
    assert reload(tenant_a, okta_app).status == InstanceStatus.HEALTHY


def test_a_page_stored_but_not_acknowledged_is_replayed_without_duplicates(
    tenant_a, okta, okta_app
):
    """The process dies after ingesting a page and before saving its cursor."""
    from apps.activities.ingestion import ingest
    from apps.connectors.adapters.okta import OktaAdapter
    from apps.connectors.client import VendorClient

    _events(okta, 4)
    with VendorClient() as client:
        adapter = OktaAdapter(
            base_url=okta.base_url, credentials={"api_token": okta.api_token}, client=client
        )
        page = next(adapter.activities("activities", {}))
    ingest(tenant=tenant_a, app_instance=okta_app, events=page.events, source="connector")
    assert cursor(tenant_a, okta_app, "activities") == {}  # never saved

    outcome = services.poll_instance(okta_app)
    assert outcome.ingest.accepted == 2 and outcome.ingest.duplicates == 2
    assert set(stored_ids(tenant_a, okta_app).values()) == {1}
    assert len(stored_ids(tenant_a, okta_app)) == 4


@pytest.mark.django_db(databases=["default", "geo_us"])
def test_rate_limit_reads_okta_reset_header(tenant_a, okta, okta_app):
    _events(okta, 1)
    reset = int((timezone.now() + dt.timedelta(minutes=7)).timestamp())
    okta.fault(
        "/api/v1/logs",
        429,
        {"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"},
        {
            "X-Rate-Limit-Limit": "120",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(reset),
        },
    )
    services.poll_instance(okta_app)
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.RATE_LIMITED
    assert abs(instance.retry_at.timestamp() - reset) < 2
    expected = instance.retry_at.astimezone(dt.UTC).strftime("%H:%M")
    assert words(instance) in (
        f"rate limited, retrying at {expected}",
        f"rate limited, retrying at {instance.retry_at.astimezone(dt.UTC):%Y-%m-%d %H:%M}",
    )
    assert len(okta.hits("/api/v1/logs")) == 1  # no retry storm
    assert services.enqueue_due_polls() == 0  # not due before the reset


def test_rejected_token_is_reported_once_without_retrying(tenant_a, okta, okta_app):
    _events(okta, 2)
    okta.api_token = "rotated-in-okta"
    services.poll_instance(okta_app)
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.CREDENTIALS_REJECTED
    assert words(instance).startswith("credentials rejected: Okta refused the API token")
    assert "E0000011" in instance.status_detail
    assert "00okta-secret-token" not in instance.status_detail
    assert instance.retry_at - timezone.now() > dt.timedelta(minutes=50)
    assert len(okta.requests) == 1  # the first refusal ends the poll


def test_system_log_refused_means_audit_log_disabled(tenant_a, okta, okta_app):
    okta.audit_disabled = True
    services.poll_instance(okta_app)
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.AUDIT_DISABLED
    assert words(instance).startswith("audit log disabled in the app")


def test_directory_sync_people_groups_and_leavers(tenant_a, okta, okta_app):
    okta.add_group("00g1", "Finance", "Money people")
    okta.add_group("00g2", "Sales")
    okta.add_user("00u1", "ann@acme.test", department="Finance", groups=["00g1"])
    okta.add_user(
        "00u2",
        "bob@acme.test",
        first="Bob",
        last="Ray",
        status="SUSPENDED",
        groups=["00g1", "00g2"],
    )
    okta.add_user("00u3", "cy@acme.test", first="Cy", last="Dee", status="STAGED")
    services.poll_instance(okta_app)
    with tenant_context(tenant_a):
        accounts = {a.external_id: a for a in Account.objects.filter(app_instance=okta_app)}
        assert accounts["00u1"].user.display_name == "Ann Lee"
        assert accounts["00u1"].user.department == "Finance"
        assert accounts["00u2"].status == AccountStatus.SUSPENDED
        assert accounts["00u3"].status == AccountStatus.STAGED
        groups = sorted(
            GroupMembership.objects.filter(account=accounts["00u2"]).values_list(
                "group__name", flat=True
            )
        )
        assert groups == ["Finance", "Sales"]

    # In Okta: Ann moves to Sales, Bob is deprovisioned (no longer listed).
    okta.users[0]["profile"]["department"] = "Sales"
    okta.members["00g1"].remove("00u1")
    okta.members.setdefault("00g2", []).append("00u1")
    okta.users[1]["status"] = "DEPROVISIONED"
    services.poll_instance(okta_app, directory=True)
    with tenant_context(tenant_a):
        ann = Account.objects.get(app_instance=okta_app, external_id="00u1")
        assert ann.user.department == "Sales"
        assert list(ann.memberships.values_list("group__name", flat=True)) == ["Sales"]
        bob = Account.objects.get(app_instance=okta_app, external_id="00u2")
        assert bob.status == AccountStatus.DELETED and bob.deleted_seen_at is not None
        assert CloudUser.objects.filter(identity="bob@acme.test").exists()


def test_a_broken_page_stops_the_poll_without_a_gap(tenant_a, okta, okta_app):
    events = _events(okta, 5)
    okta.fault("/api/v1/logs", 200, b"<html>maintenance</html>", skip=1)
    services.poll_instance(okta_app, directory=False)
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.ERROR
    assert "could not read (not JSON" in words(instance)
    assert len(stored(tenant_a, okta_app)) == 2
    services.poll_instance(okta_app, directory=False)
    assert set(stored_ids(tenant_a, okta_app)) == {e["uuid"] for e in events}


def test_unreadable_records_are_counted_and_the_rest_land(tenant_a, okta, okta_app):
    events = _events(okta, 3)
    no_id = {k: v for k, v in events[1].items() if k != "uuid"}
    bad_time = {**events[2], "published": "yesterday-ish"}
    okta.fault("/api/v1/logs", 200, [events[0], no_id, bad_time, "not an object"])
    outcome = services.poll_instance(okta_app, directory=False)
    assert outcome.error is None and outcome.skipped_records == 3
    assert set(stored_ids(tenant_a, okta_app)) == {events[0]["uuid"]}
