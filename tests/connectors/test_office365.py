"""Microsoft 365 adapter against the fake Management Activity API and Graph."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import Account, AccountStatus
from apps.connectors import services
from apps.connectors.models import InstanceStatus
from apps.connectors.status import words
from apps.tenants.scoping import tenant_context
from tests.fakes.office365 import FEED

from .helpers import cursor, reload, stored, stored_ids

pytestmark = pytest.mark.django_db

SP = "Audit.SharePoint"
AAD = "Audit.AzureActiveDirectory"


def _blobs(o365, count: int, per_blob: int = 2, minutes_ago: int = 40) -> list[dict]:
    base = timezone.now() - dt.timedelta(minutes=minutes_ago)
    blobs = []
    for i in range(count):
        created = base + dt.timedelta(minutes=i)
        records = [o365.record(created - dt.timedelta(seconds=30 - j)) for j in range(per_blob)]
        blobs.append(o365.add_blob(SP, created, records))
    return blobs


def _record_ids(blobs) -> set[str]:
    return {r["Id"] for b in blobs for r in b["records"]}


def test_subscriptions_listing_pages_and_blobs(tenant_a, o365, o365_app):
    blobs = _blobs(o365, 5)
    login = o365.record(
        timezone.now() - dt.timedelta(minutes=20),
        "UserLoginFailed",
        workload="AzureActiveDirectory",
        RecordType=15,
        ResultStatus="Failed",
        ClientIP="[2001:db8::5]:443",
    )
    o365.add_blob(AAD, timezone.now() - dt.timedelta(minutes=19), [login])

    outcome = services.poll_instance(o365_app)
    assert outcome.error is None, outcome.error and outcome.error.detail
    assert set(o365.subscriptions) == {
        "Audit.AzureActiveDirectory",
        "Audit.Exchange",
        "Audit.SharePoint",
        "Audit.General",
    }
    ids = stored_ids(tenant_a, o365_app)
    assert set(ids) == _record_ids(blobs) | {login["Id"]}
    assert set(ids.values()) == {1}
    # 5 blobs, 2 per listing page: three pages chained by NextPageUri.
    assert (
        len([r for r in o365.hits("/subscriptions/content") if r.query["contentType"] == SP]) == 3
    )
    rows = {r.source_event_id: r for r in stored(tenant_a, o365_app)}
    download = rows[blobs[0]["records"][0]["Id"]]
    assert download.activity_type == "download"
    assert download.ip == "81.2.69.142"  # port dropped
    assert download.actor == "ann@contoso.test"
    assert download.object_name == "pay.xlsx"
    failed = rows[login["Id"]]
    assert failed.activity_type == "failed_login" and failed.succeeded is False
    assert failed.ip == "2001:db8::5"
    assert cursor(tenant_a, o365_app, SP)["since"]
    assert reload(tenant_a, o365_app).status == InstanceStatus.HEALTHY


def test_overlapping_listings_and_records_store_each_event_once(tenant_a, o365, o365_app):
    blobs = _blobs(o365, 4)
    # The same record delivered again in a later blob (Microsoft does not promise otherwise).
    o365.add_blob(SP, timezone.now() - dt.timedelta(minutes=5), [blobs[0]["records"][0]])
    o365.overlap = True
    services.poll_instance(o365_app)
    services.poll_instance(o365_app)
    ids = stored_ids(tenant_a, o365_app)
    assert set(ids) == _record_ids(blobs)
    assert set(ids.values()) == {1}


def test_a_failure_mid_poll_resumes_from_the_last_blob(tenant_a, o365, o365_app):
    blobs = _blobs(o365, 4)
    o365.fault(f"{FEED}/audit/", 500, {"error": {"code": "AF50000", "message": "internal"}}, skip=2)
    services.poll_instance(o365_app)
    instance = reload(tenant_a, o365_app)
    assert instance.status == InstanceStatus.UNAVAILABLE
    assert len(stored(tenant_a, o365_app)) == 4  # blobs 1 and 2
    assert len(cursor(tenant_a, o365_app, SP)["done"]) == 2

    before = len(o365.hits(f"{FEED}/audit/"))
    services.poll_instance(o365_app)
    ids = stored_ids(tenant_a, o365_app)
    assert set(ids) == _record_ids(blobs) and set(ids.values()) == {1}
    # Blobs already read are not fetched again: only blobs 3 and 4.
    assert len(o365.hits(f"{FEED}/audit/")) - before == 2


def test_old_cursor_is_read_in_windows_of_at_most_a_day(tenant_a, o365, o365_app):
    three_days = timezone.now() - dt.timedelta(days=3)
    old = o365.add_blob(SP, three_days + dt.timedelta(hours=5), [o365.record(three_days)])
    with tenant_context(tenant_a):
        from apps.connectors.models import PollCursor

        PollCursor.objects.create(
            app_instance=o365_app, stream=SP, position={"since": three_days.isoformat()}
        )
    outcome = services.poll_instance(o365_app)
    assert outcome.error is None, outcome.error and outcome.error.detail
    assert old["records"][0]["Id"] in stored_ids(tenant_a, o365_app)
    windows = [r for r in o365.hits("/subscriptions/content") if r.query["contentType"] == SP]
    assert len(windows) >= 3  # three days, one window per day at most


def test_expired_access_token_is_renewed_once(tenant_a, o365, o365_app):
    _blobs(o365, 2)
    o365.fault(
        f"{FEED}/audit/",
        401,
        {"error": {"code": "AF10001", "message": "The access token has expired."}},
    )
    outcome = services.poll_instance(o365_app)
    assert outcome.error is None
    assert len(stored(tenant_a, o365_app)) == 4
    # One token for Graph (directory), two for the Management API (the first one "expired").
    assert len(o365.hits("/oauth2/v2.0/token")) == 3


def test_wrong_client_secret_is_credentials_rejected(tenant_a, o365, o365_app):
    o365.client_secret = "a-new-secret-made-in-entra"
    services.poll_instance(o365_app)
    instance = reload(tenant_a, o365_app)
    assert instance.status == InstanceStatus.CREDENTIALS_REJECTED
    assert "AADSTS7000215" in words(instance)
    assert "s3cr3t" not in instance.status_detail
    assert len(o365.hits("/oauth2/")) == 1


def test_audit_log_disabled(tenant_a, o365, o365_app):
    o365.audit_disabled = True
    services.poll_instance(o365_app)
    instance = reload(tenant_a, o365_app)
    assert instance.status == InstanceStatus.AUDIT_DISABLED
    assert words(instance).startswith("audit log disabled in the app")
    assert "AF20012" in words(instance)


def test_rate_limited_with_retry_after(tenant_a, o365, o365_app):
    _blobs(o365, 1)
    o365.rate_limit("/subscriptions/content", retry_after="300")
    before = timezone.now()
    services.poll_instance(o365_app)
    instance = reload(tenant_a, o365_app)
    assert instance.status == InstanceStatus.RATE_LIMITED
    wait = instance.retry_at - before
    assert dt.timedelta(seconds=295) <= wait <= dt.timedelta(seconds=305)
    assert words(instance).startswith("rate limited, retrying at ")


def test_graph_directory_with_next_links(tenant_a, o365, o365_app):
    o365.add_group("g-1", "Finance")
    o365.add_group("g-2", "Engineering")
    o365.add_group("g-3", "Everyone")
    o365.add_user("u-1", "ann@contoso.test", department="Finance", groups=["g-1", "g-3"])
    o365.add_user("u-2", "bob@contoso.test", name="Bob Ray", groups=["g-2", "g-3"])
    o365.add_user("u-3", "cy@contoso.test", name="Cy Dee", enabled=False, groups=["g-3"])
    services.poll_instance(o365_app)
    with tenant_context(tenant_a):
        accounts = {a.external_id: a for a in Account.objects.filter(app_instance=o365_app)}
        assert set(accounts) >= {"u-1", "u-2", "u-3"}
        assert accounts["u-3"].status == AccountStatus.SUSPENDED
        assert accounts["u-1"].user.identity == "ann@contoso.test"
        assert accounts["u-1"].user.department == "Finance"
        everyone = accounts["u-1"].app_instance.groups.get(external_id="g-3")
        assert everyone.memberships.count() == 3
    assert any("$skiptoken" in r.query for r in o365.hits("/v1.0/users"))
