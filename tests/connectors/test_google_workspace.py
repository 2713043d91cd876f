"""Google Workspace adapter against the fake Reports and Directory APIs."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from apps.accounts.models import Account, AccountStatus
from apps.connectors import services
from apps.connectors.adapters.google_workspace import SCOPES, GoogleWorkspaceAdapter
from apps.connectors.models import InstanceStatus, Vendor
from apps.connectors.status import words
from apps.tenants.scoping import tenant_context
from tests.fakes.google import REPORTS

from .helpers import cursor, reload, stored, stored_ids

pytestmark = pytest.mark.django_db


def _logins(google, count: int, minutes_ago: int = 45) -> list[dict]:
    base = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return [google.add_activity("login", base + dt.timedelta(minutes=i)) for i in range(count)]


def _ids(items) -> set[str]:
    return {f"login:{i['id']['uniqueQualifier']}:0" for i in items}


def test_reports_are_read_newest_first_across_pages(tenant_a, google, google_app):
    logins = _logins(google, 5)
    google.add_activity(
        "login", timezone.now() - dt.timedelta(minutes=5), "login_failure", ip="2.125.160.216"
    )
    download = google.add_activity(
        "drive",
        timezone.now() - dt.timedelta(minutes=4),
        "download",
        parameters=[
            {"name": "doc_id", "value": "1AbC"},
            {"name": "doc_title", "value": "Payroll 2025"},
            {"name": "doc_type", "value": "spreadsheet"},
            {"name": "visibility", "value": "shared_internally"},
        ],
    )
    outcome = services.poll_instance(google_app)
    assert outcome.error is None, outcome.error and outcome.error.detail

    rows = {r.source_event_id: r for r in stored(tenant_a, google_app)}
    assert _ids(logins) <= set(rows)
    assert len(rows) == 7
    drive = rows[f"drive:{download['id']['uniqueQualifier']}:0"]
    assert drive.activity_type == "download"
    assert drive.object_name == "Payroll 2025" and drive.object_type == "spreadsheet"
    failed = next(r for r in rows.values() if r.action_type == "login_failure")
    assert failed.activity_type == "failed_login" and failed.succeeded is False
    # The JWT named the admin it acts for and the read-only scopes; the fake checked its
    # signature with the service account's public key.
    assertion = google.assertions[0]
    assert assertion["sub"] == google.admin_email
    assert assertion["scope"] == SCOPES
    assert "nextPageToken" not in cursor(tenant_a, google_app, "login")
    assert cursor(tenant_a, google_app, "login")["since"]
    assert reload(tenant_a, google_app).status == InstanceStatus.HEALTHY


def test_a_failure_inside_a_window_resumes_on_the_same_window(tenant_a, google, google_app):
    logins = _logins(google, 7)
    google.fault(
        f"{REPORTS}/login", 502, {"error": {"code": 502, "message": "Bad Gateway"}}, skip=2
    )
    services.poll_instance(google_app)
    assert reload(tenant_a, google_app).status == InstanceStatus.UNAVAILABLE
    position = cursor(tenant_a, google_app, "login")
    assert position["page_token"] == "4" and len(position["window"]) == 2
    assert "since" not in position  # the window is not complete yet

    services.poll_instance(google_app)
    resumed = [r for r in google.hits(f"{REPORTS}/login") if r.query.get("pageToken") == "4"]
    assert resumed, "the second poll continued from the saved page token"
    ids = stored_ids(tenant_a, google_app)
    assert set(ids) == _ids(logins) and set(ids.values()) == {1}


def test_overlapping_pages_and_the_overlap_window_store_each_event_once(
    tenant_a, google, google_app
):
    logins = _logins(google, 6)
    google.overlap = True
    first = services.poll_instance(google_app)
    second = services.poll_instance(google_app)  # the hour of overlap is read again
    assert first.ingest.accepted == 6
    assert second.ingest.accepted == 0 and second.ingest.duplicates >= 6
    ids = stored_ids(tenant_a, google_app)
    assert set(ids) == _ids(logins) and set(ids.values()) == {1}


def test_reports_api_disabled_means_audit_log_disabled(tenant_a, google, google_app):
    google.audit_disabled = True
    services.poll_instance(google_app, directory=False)
    instance = reload(tenant_a, google_app)
    assert instance.status == InstanceStatus.AUDIT_DISABLED
    assert "has not been used in project" in words(instance)


def test_refused_service_account_is_credentials_rejected(tenant_a, google, google_app):
    google.reject_credentials = True
    services.poll_instance(google_app)
    instance = reload(tenant_a, google_app)
    assert instance.status == InstanceStatus.CREDENTIALS_REJECTED
    assert "unauthorized_client" in words(instance)
    assert "PRIVATE KEY" not in instance.status_detail


def test_rate_limit_reason_in_a_403(tenant_a, google, google_app):
    _logins(google, 1)
    body = {
        "error": {
            "code": 403,
            "message": "Quota exceeded",
            "errors": [{"reason": "userRateLimitExceeded", "domain": "usageLimits"}],
        }
    }
    google.fault(f"{REPORTS}/login", 403, body, {"Retry-After": "90"})
    services.poll_instance(google_app, directory=False)
    instance = reload(tenant_a, google_app)
    assert instance.status == InstanceStatus.RATE_LIMITED
    assert dt.timedelta(seconds=80) < instance.retry_at - timezone.now() <= dt.timedelta(seconds=91)


def test_server_errors_back_off(tenant_a, google, google_app):
    google.fault(f"{REPORTS}/login", 500, {"error": {"code": 500}}, times=3)
    waits = []
    for _ in range(3):
        services.poll_instance(google_app, directory=False)
        instance = reload(tenant_a, google_app)
        assert instance.status == InstanceStatus.UNAVAILABLE
        waits.append(instance.retry_at - instance.last_attempt_at)
    assert waits[0] < waits[1] < waits[2]  # exponential backoff
    services.poll_instance(google_app, directory=False)
    instance = reload(tenant_a, google_app)
    assert instance.status == InstanceStatus.HEALTHY and instance.failures == 0


def test_expired_token_is_renewed_once(tenant_a, google, google_app):
    _logins(google, 2)
    google.fault(
        f"{REPORTS}/login",
        401,
        {"error": {"code": 401, "message": "Request had invalid authentication credentials."}},
    )
    outcome = services.poll_instance(google_app)
    assert outcome.error is None
    tokens = [r for r in google.requests if r.path == "/token"]
    assert len(tokens) == 2  # the first token, then one renewal after the 401
    assert len(stored(tenant_a, google_app)) == 2


def test_a_second_refusal_after_renewal_is_credentials_rejected(tenant_a, google, google_app):
    google.fault(f"{REPORTS}/login", 401, {"error": {"code": 401, "message": "no"}}, times=5)
    services.poll_instance(google_app, directory=False)
    instance = reload(tenant_a, google_app)
    assert instance.status == InstanceStatus.CREDENTIALS_REJECTED
    assert len([r for r in google.requests if r.path == "/token"]) == 2  # no retry storm
    assert len(google.hits(f"{REPORTS}/login")) == 2


def test_directory_users_groups_and_departments(tenant_a, google, google_app):
    google.add_group("g1", "Finance", "Money")
    google.add_user("1001", "ann@acme.test", department="Finance", admin=True, groups=["g1"])
    google.add_user("1002", "bob@acme.test", name="Bob Ray", suspended=True, groups=["g1"])
    google.add_user("1003", "cy@acme.test", name="Cy Dee")
    _logins(google, 1)  # ann (profileId 1001) logs in
    services.poll_instance(google_app)
    with tenant_context(tenant_a):
        accounts = {a.external_id: a for a in Account.objects.filter(app_instance=google_app)}
        assert set(accounts) == {"1001", "1002", "1003"}  # the actor joined the listed account
        assert accounts["1001"].is_admin and accounts["1001"].user.department == "Finance"
        assert accounts["1002"].status == AccountStatus.SUSPENDED
        assert accounts["1002"].memberships.get().group.name == "Finance"
        activity = stored(tenant_a, google_app)[0]
        assert activity.account_id == accounts["1001"].pk
        assert activity.user_id == accounts["1001"].user_id


def test_service_account_key_is_checked_when_entered(tenant_a, google):
    problems = GoogleWorkspaceAdapter.validate_credentials(
        {"admin_email": "admin@acme.test", "service_account_key": "{not json"}
    )
    assert "service_account_key" in problems
    good = google.credentials()
    assert GoogleWorkspaceAdapter.validate_credentials(good) == {}
    key = json.loads(good["service_account_key"])
    key["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    problems = GoogleWorkspaceAdapter.validate_credentials(
        {**good, "service_account_key": json.dumps(key)}
    )
    assert problems == {"service_account_key": "The key file holds no RSA private key."}
    with pytest.raises(services.InstanceRefused) as refused:
        services.create_instance(
            tenant=tenant_a,
            actor=None,
            vendor=Vendor.GOOGLE_WORKSPACE,
            name="Workspace",
            base_url=google.base_url,
            credentials={"admin_email": "nobody", "service_account_key": "{}"},
        )
    assert set(refused.value.problems) == {"admin_email", "service_account_key"}
