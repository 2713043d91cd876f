"""The alerts API: list with the queue's filters, one alert with its entities, PATCH triage,
bulk, CSV export, errors in the one format, query counts, and tenant isolation."""

from __future__ import annotations

import csv
import io

import pytest

from apps.activities import partitions
from apps.alerts.models import Alert, AlertStatus
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.activities.test_query_api import client_for, error_of
from tests.role_matrix import token_key

from .alertdata import directory, make_alert

pytestmark = pytest.mark.django_db(databases="__all__")
LIST = "/api/v1/alerts/"


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def rita_api(rita, tenant_a):
    return client_for(token_key(rita, tenant_a, Role.SECURITY_READER))


@pytest.fixture
def sam_api(sam, tenant_a):
    return client_for(token_key(sam, tenant_a, Role.SECURITY_ADMIN))


@pytest.fixture
def charlie_api(charlie, tenant_b):
    return client_for(token_key(charlie, tenant_b, Role.GLOBAL_ADMIN))


@pytest.fixture
def data(tenant_a, tenant_b):
    app, bob, account = directory(tenant_a, "CRM", "bob")
    high = make_alert(
        tenant_a, app=app, person=bob, account=account, title="High one", severity=3, activities=2
    )
    low = make_alert(tenant_a, app=app, person=bob, title="Low one", severity=1, ip="10.0.0.7")
    b_app, zed, _ = directory(tenant_b, "Bravo", "zed")
    theirs = make_alert(tenant_b, app=b_app, person=zed, title="b-secret")
    return {"app": app, "bob": bob, "account": account, "high": high, "low": low, "b": theirs}


def _fresh(tenant, alert) -> Alert:
    with tenant_context(tenant):
        return Alert.objects.get(pk=alert.pk)


def test_list_with_filters_and_pages(rita_api, data):
    body = rita_api.get(LIST).json()
    assert body["count"] == 2
    first = body["results"][0]
    assert {"id", "number", "title", "severity", "status", "resolution", "users", "apps"} <= set(
        first
    )
    assert first["users"][0]["identity"] == "bob@alpha.test"
    assert first["apps"][0]["name"] == "CRM"
    assert [r["title"] for r in rita_api.get(LIST, {"severity": 3}).json()["results"]] == [
        "High one"
    ]
    ip = rita_api.get(LIST, {"ip": "10.0.0.7"}).json()["results"]
    assert [r["title"] for r in ip] == ["Low one"]
    several = rita_api.get(LIST, [("severity", "1"), ("severity", "3")]).json()
    assert several["count"] == 2
    by_severity = rita_api.get(LIST, {"sort": "-severity"}).json()["results"]
    assert [r["title"] for r in by_severity] == ["High one", "Low one"]
    paged = rita_api.get(LIST, {"page_size": 1}).json()
    assert paged["count"] == 2 and len(paged["results"]) == 1 and paged["next"]
    assert rita_api.get(LIST, {"app": data["app"].pk}).json()["count"] == 2
    assert rita_api.get(LIST, {"account": data["account"].pk}).json()["count"] == 1
    assert rita_api.get(LIST, {"assignee": "unassigned"}).json()["count"] == 2
    assert rita_api.get(LIST, {"assignee": "me"}).json()["count"] == 0


def test_list_refuses_bad_filters_in_the_error_format(rita_api, data):
    for params, field in (
        ({"severity": "7"}, "severity"),
        ({"status": "closed"}, "status"),
        ({"open": "maybe"}, "open"),
        ({"user": "42"}, "user"),
        ({"ip": "1.2.3"}, "ip"),
        ({"assignee": "boss"}, "assignee"),
        ({"date_to": "31/12/2024"}, "date_to"),
        ({"sort": "title"}, "sort"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00b"}, "q"),
    ):
        error = error_of(rita_api.get(LIST, params), 400)
        assert field in error["details"], params


def test_detail_has_the_entities(rita_api, data):
    alert = data["high"]
    body = rita_api.get(f"{LIST}{alert.pk}/").json()
    assert body["number"] == alert.number and body["title"] == "High one"
    assert [u["identity"] for u in body["users"]] == ["bob@alpha.test"]
    assert body["accounts"][0]["username"] == "bob@alpha.test"
    assert body["accounts"][0]["app"]["name"] == "CRM"
    assert body["ips"] == ["192.0.2.10"]
    assert len(body["activities"]) == 2 and {"id", "occurred_at"} == set(body["activities"][0])
    assert body["policy"]["name"] == "Test policy"
    assert body["evidence"] == ["seen from FR"]
    assert body["governance_actions"] == []


def test_reader_cannot_triage(rita_api, tenant_a, data):
    alert = data["high"]
    error_of(rita_api.patch(f"{LIST}{alert.pk}/", {"status": "in_progress"}), 403)
    error_of(rita_api.post(f"{LIST}bulk/", {"ids": [str(alert.pk)], "operation": "read"}), 403)
    error_of(rita_api.get(f"{LIST}export/"), 403)
    assert _fresh(tenant_a, alert).status == AlertStatus.OPEN


def test_patch_triage(sam_api, sam, tenant_a, data):
    alert = data["high"]
    url = f"{LIST}{alert.pk}/"
    body = sam_api.patch(url, {"status": "in_progress", "assignee": sam.pk, "read": True}).json()
    assert (body["status"], body["assignee"], body["read"]) == ("in_progress", sam.pk, True)
    body = sam_api.patch(
        url, {"resolution": "false_positive", "reason": "too_many", "comment": "noisy"}
    ).json()
    assert (body["status"], body["resolution"], body["reason"]) == (
        "resolved",
        "false_positive",
        "too_many",
    )
    assert body["resolved_by_label"] == (sam.get_full_name() or sam.username)
    with tenant_context(tenant_a):
        resolved = AuditEvent.objects.get(action="alert.resolved")
    assert resolved.actor_id == sam.pk and "token" in resolved.actor_label
    body = sam_api.patch(url, {"status": "open"}).json()
    assert body["status"] == "open" and body["resolution"] == ""
    body = sam_api.patch(f"{LIST}{data['low'].pk}/", {"status": "dismissed", "comment": "x"})
    assert body.json()["status"] == "dismissed"
    assert sam_api.patch(url, {}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"status": "resolved"}, "resolution"),
        ({"resolution": "false_positive"}, "reason"),
        ({"resolution": "false_positive", "reason": "test"}, "reason"),
        ({"resolution": "benign_true_positive", "reason": "x" * 41}, "reason"),
        ({"resolution": "true_positive", "reason": "other", "status": "open"}, "status"),
        ({"reason": "other"}, "reason"),
        ({"comment": "why"}, "comment"),
        ({"status": "dismissed", "comment": "y" * 2001}, "comment"),
        ({"assignee": "sam"}, "assignee"),
        ({"assignee": 999999}, "assignee"),
        ({"read": "perhaps"}, "read"),
    ],
)
def test_patch_refusals_name_the_field_and_write_nothing(sam_api, tenant_a, data, body, field):
    alert = data["high"]
    error = error_of(sam_api.patch(f"{LIST}{alert.pk}/", body), 400)
    assert field in error["details"], error
    fresh = _fresh(tenant_a, alert)
    assert fresh.status == AlertStatus.OPEN and fresh.resolution == ""
    with tenant_context(tenant_a):
        assert not AuditEvent.objects.filter(object_id=str(alert.pk)).exists()


def test_a_refused_change_undoes_the_others_of_the_body(sam_api, sam, tenant_a, data):
    alert = data["high"]
    # The status change is applied first, then the assignee is refused: neither is kept.
    body = {"status": "in_progress", "read": True, "assignee": 999999}
    error = error_of(sam_api.patch(f"{LIST}{alert.pk}/", body), 400)
    assert "assignee" in error["details"]
    fresh = _fresh(tenant_a, alert)
    assert (fresh.status, fresh.read) == (AlertStatus.OPEN, False)
    with tenant_context(tenant_a):
        assert not AuditEvent.objects.filter(object_id=str(alert.pk)).exists()


def test_bulk(sam_api, tenant_a, tenant_b, data):
    ids = [str(data["high"].pk), str(data["low"].pk), str(data["b"].pk)]
    answer = sam_api.post(
        f"{LIST}bulk/",
        {"ids": ids, "operation": "resolve", "resolution": "true_positive", "reason": "other"},
    )
    assert answer.status_code == 200
    assert answer.json() == {"changed": 2, "unchanged": 0, "not_found": [str(data["b"].pk)]}
    assert _fresh(tenant_b, data["b"]).status == AlertStatus.OPEN
    again = sam_api.post(f"{LIST}bulk/", {"ids": ids[:1], "operation": "dismiss"}).json()
    assert again == {"changed": 0, "unchanged": 1, "not_found": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": [], "operation": "read"}, "ids"),
        ({"ids": ["nope"], "operation": "read"}, "ids"),
        ({"ids": ["00000000-0000-0000-0000-000000000001"], "operation": "x"}, "operation"),
        ({"ids": ["00000000-0000-0000-0000-000000000001"], "operation": "resolve"}, "resolution"),
        (
            {
                "ids": ["00000000-0000-0000-0000-000000000001"],
                "operation": "resolve",
                "resolution": "true_positive",
                "reason": "test",
            },
            "reason",
        ),
        ({"ids": ["00000000-0000-0000-0000-000000000001"], "operation": "assign"}, "assignee"),
    ],
)
def test_bulk_refusals(sam_api, data, body, field):
    error = error_of(sam_api.post(f"{LIST}bulk/", body), 400)
    assert field in error["details"], error


def test_export(sam_api, tenant_a, data):
    answer = sam_api.get(f"{LIST}export/", {"severity": 3}, HTTP_ACCEPT="text/csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert [row["title"] for row in rows] == ["High one"]
    assert "resolution" in rows[0] and "resolved_at_utc" in rows[0]
    error_of(sam_api.get(f"{LIST}export/", {"severity": "x"}), 400)
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="alerts.exported").count() == 1


def test_charlie_never_sees_or_touches_a(charlie_api, tenant_a, data):
    alert = data["high"]
    assert [r["title"] for r in charlie_api.get(LIST).json()["results"]] == ["b-secret"]
    error_of(charlie_api.get(f"{LIST}{alert.pk}/"), 404)
    error_of(charlie_api.patch(f"{LIST}{alert.pk}/", {"status": "in_progress"}), 404)
    answer = charlie_api.post(f"{LIST}bulk/", {"ids": [str(alert.pk)], "operation": "dismiss"})
    assert answer.json() == {"changed": 0, "unchanged": 0, "not_found": [str(alert.pk)]}
    exported = b"".join(charlie_api.get(f"{LIST}export/").streaming_content).decode()
    assert "High one" not in exported and "b-secret" in exported
    assert _fresh(tenant_a, alert).status == AlertStatus.OPEN


def test_list_queries_do_not_grow_with_rows(
    rita_api, tenant_a, data, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10) as few:
        rita_api.get(LIST)
    for i in range(15):
        person = logdata.person(tenant_a, f"q{i}@alpha.test")
        make_alert(tenant_a, app=logdata.app(tenant_a, f"App {i}"), person=person)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(rita_api.get(LIST).json()["results"]) == 17
