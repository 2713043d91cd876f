"""The retention page and API: periods and oldest records, purge records, changes by global
admins only (audited), values past the maximum refused, and nothing of A's for charlie."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.compliance.models import PurgeRun, RetentionSettings
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.compliance import retention_kit as kit
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db


def _page(tenant) -> str:
    return reverse("compliance:retention", args=[tenant.slug])


def _own(tenant) -> RetentionSettings | None:
    with tenant_context(tenant):
        return RetentionSettings.objects.first()


def _record_runs(tenant, count: int) -> None:
    with tenant_context(tenant):
        for n in range(count):
            PurgeRun.objects.create(
                kind="alerts",
                method="batched_delete",
                cutoff=timezone.now(),
                removed=n + 1,
                details={"by_table": {"alerts.Alert": n + 1}},
                started_at=timezone.now(),
                status="done",
            )


def _token(client, user, tenant, role):
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


# --- Page --------------------------------------------------------------------------------------


def test_readers_see_periods_oldest_records_and_purges_without_the_form(client, rita, tenant_a):
    app = logdata.app(tenant_a)
    kit.activities(tenant_a, app, 12, 1)
    _record_runs(tenant_a, 1)
    client.force_login(rita)

    response = client.get(_page(tenant_a))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Activity log" in body and "Governance log" in body and "Deleted accounts" in body
    assert "180 days" in body and "120 days" in body
    assert f"{kit.ago(12).date():%Y-%m-%d}" in body  # the oldest activity
    assert "alerts.Alert 1" in body  # what the purge removed
    assert "Only global admins can change retention periods." in body
    assert 'name="activities_days"' not in body


def test_the_page_has_a_bounded_number_of_queries(
    client, alice, tenant_a, django_assert_max_num_queries
):
    client.force_login(alice)
    client.get(_page(tenant_a))  # warm the session and caches
    with django_assert_max_num_queries(40) as few:
        client.get(_page(tenant_a))
    _record_runs(tenant_a, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(_page(tenant_a)).status_code == 200


def test_a_global_admin_shortens_a_period_audited(client, alice, tenant_a):
    client.force_login(alice)

    response = client.post(_page(tenant_a), {"activities_days": "30", "alerts_days": ""})

    assert response.status_code == 302
    own = _own(tenant_a)
    assert (own.activities_days, own.alerts_days) == (30, None)
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="retention.update")
    assert event.details == {"activities_days": [None, 30]}
    assert event.actor_id == alice.pk
    page = client.get(_page(tenant_a)).content.decode()
    assert "30 days" in page and "shortened" in page


def test_a_period_past_the_maximum_is_refused(client, alice, tenant_a):
    client.force_login(alice)

    response = client.post(_page(tenant_a), {"governance_days": "121", "discovery_days": "0"})

    assert response.status_code == 400
    assert "less than or equal to 120" in response.content.decode()
    assert _own(tenant_a) is None


def test_readers_may_not_change_and_charlie_sees_nothing(client, rita, charlie, tenant_a):
    client.force_login(rita)
    assert client.post(_page(tenant_a), {"activities_days": "1"}).status_code == 403
    client.force_login(charlie)
    assert client.get(_page(tenant_a)).status_code == 404
    assert client.post(_page(tenant_a), {"activities_days": "1"}).status_code == 404
    assert _own(tenant_a) is None


# --- API ---------------------------------------------------------------------------------------

SETTINGS_URL = "/api/v1/privacy/retention/"
RUNS_URL = "/api/v1/privacy/retention/runs/"


def test_api_reads_periods_and_runs(api_client, rita, tenant_a, django_assert_max_num_queries):
    _record_runs(tenant_a, 2)
    _token(api_client, rita, tenant_a, Role.SECURITY_READER)

    data = api_client.get(SETTINGS_URL).json()
    with django_assert_max_num_queries(15) as few:
        runs = api_client.get(RUNS_URL).json()
    _record_runs(tenant_a, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api_client.get(RUNS_URL).json()["results"]) == 22

    assert data["activities_days"] is None
    periods = {p["kind"]: p for p in data["periods"]}
    assert periods["activities"]["days"] == periods["activities"]["maximum"] == 180
    assert periods["discovery"]["days"] == 90 and periods["governance"]["days"] == 120
    assert periods["accounts"]["field"] == "deleted_accounts_days"
    assert sorted(run["removed"] for run in runs["results"]) == [1, 2]


def test_api_patch_changes_and_resets_periods(api_client, alice, tenant_a):
    _token(api_client, alice, tenant_a, Role.GLOBAL_ADMIN)

    response = api_client.patch(
        SETTINGS_URL, {"alerts_days": 60, "deleted_accounts_days": 365}, format="json"
    )

    assert response.status_code == 200
    periods = {p["kind"]: p for p in response.json()["periods"]}
    assert periods["alerts"] == {**periods["alerts"], "days": 60, "own": 60, "maximum": 180}
    assert periods["accounts"]["days"] == 365
    response = api_client.patch(SETTINGS_URL, {"alerts_days": None}, format="json")
    assert response.json()["alerts_days"] is None
    assert _own(tenant_a).alerts_days is None
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="retention.update").count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"activities_days": 181},
        {"deleted_accounts_days": 731},
        {"discovery_days": 0},
        {"alerts_days": "30"},
        {"alerts_days": True},
        {"retention": 5},
    ],
)
def test_api_refuses_bad_periods_with_400(api_client, alice, tenant_a, body):
    _token(api_client, alice, tenant_a, Role.GLOBAL_ADMIN)

    response = api_client.patch(SETTINGS_URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(body)
    assert _own(tenant_a) is None


def test_api_readers_may_not_patch_and_charlie_sees_only_his_tenant(
    api_client, rita, charlie, tenant_a, tenant_b
):
    kit.own_periods(tenant_a, activities_days=30)
    _record_runs(tenant_a, 1)
    _token(api_client, rita, tenant_a, Role.SECURITY_READER)
    assert api_client.patch(SETTINGS_URL, {"activities_days": 1}, format="json").status_code == 403
    assert _own(tenant_a).activities_days == 30

    _token(api_client, charlie, tenant_b, Role.GLOBAL_ADMIN)
    assert api_client.get(SETTINGS_URL).json()["activities_days"] is None  # B's, not A's
    assert api_client.get(RUNS_URL).json()["results"] == []
    api_client.patch(SETTINGS_URL, {"activities_days": 10}, format="json")
    assert _own(tenant_a).activities_days == 30
    assert _own(tenant_b).activities_days == 10
