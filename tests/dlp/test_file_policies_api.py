"""/api/v1/file-policies/: CRUD, field errors, the 50-policy limit, roles and other tenants."""

from __future__ import annotations

import pytest

from apps.alerts.models import Policy, PolicyKind
from apps.dlp import policy_checks
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.alerts.policy_kit import api_for
from tests.dlp.file_policy_kit import app, make

pytestmark = pytest.mark.django_db
LIST = "/api/v1/file-policies/"


def detail(policy) -> str:
    return f"{LIST}{policy.pk}/"


@pytest.fixture
def admin_api(sam, tenant_a):
    return api_for(sam, tenant_a, Role.SECURITY_ADMIN)


@pytest.fixture
def reader_api(rita, tenant_a):
    return api_for(rita, tenant_a, Role.SECURITY_READER)


def test_create_read_change_delete(tenant_a, admin_api):
    drive = app(tenant_a)
    created = admin_api.post(
        LIST,
        {
            "name": "Cards shared outside",
            "severity": 3,
            "filters": {
                "sensitive_types": ["payment_card"],
                "min_matches": 5,
                "access_levels": [2, 3, 4],
                "apps": [str(drive.pk)],
                "extensions": [".XLSX", "csv"],
            },
            "tuning": {"block": True},
            "governance": ["remove_external_sharing", "notify_user"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["filters"] == {
        "sensitive_types": ["payment_card"],
        "min_matches": 5,
        "access_levels": [2, 3, 4],
        "apps": [str(drive.pk)],
        "extensions": ["csv", "xlsx"],
    }
    assert body["tuning"] == {"alert": True, "block": True}
    assert body["category"] == "dlp" and body["enabled"] is True
    assert body["dedupe_minutes"] == 1440 and body["alerts_last_7_days"] == 0
    with tenant_context(tenant_a):
        policy = Policy.objects.get(pk=body["id"])
        assert policy.kind == PolicyKind.FILE
        assert AuditEvent.objects.filter(action="file_policy.created").count() == 1
    assert admin_api.get(detail(policy)).json()["name"] == "Cards shared outside"
    assert [p["id"] for p in admin_api.get(LIST).json()["results"]] == [str(policy.pk)]
    changed = admin_api.patch(
        detail(policy), {"enabled": False, "filters": {"name_contains": "pay"}}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["filters"] == {"name_contains": "pay"}
    assert changed.json()["enabled"] is False
    assert admin_api.delete(detail(policy)).status_code == 204
    with tenant_context(tenant_a):
        assert not Policy.objects.filter(pk=policy.pk).exists()


def test_bad_input_is_a_400_naming_each_field(tenant_a, tenant_b, admin_api):
    theirs = app(tenant_b, "Their drive")
    response = admin_api.post(
        LIST,
        {
            "name": "Bad",
            "severity": 9,
            "filters": {
                "sensitive_types": ["payment_card", "no_such_type"],
                "apps": [str(theirs.pk)],
                "access_levels": [7],
                "sources": ["fax"],
            },
            "governance": ["suspend_user"],
        },
        format="json",
    )
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert set(details) == {
        "severity",
        "filters.sensitive_types",
        "filters.apps",
        "filters.access_levels",
        "filters.sources",
        "governance",
    }
    assert "no_such_type" in details["filters.sensitive_types"][0]
    assert str(theirs.pk) in details["filters.apps"][0]
    with tenant_context(tenant_a):
        assert not Policy.objects.filter(kind=PolicyKind.FILE).exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "x", "severity": "3"},
        {"name": "x", "enabled": "true"},
        {"name": "x", "filters": {"min_matches": "5"}},
        {"name": "x", "filters": {"sensitive_type": ["payment_card"]}},
        {"name": "x", "filters": []},
        {"name": "x", "tuning": {"block": 1}},
        {"name": "x", "unknown": 1},
        {"name": 5},
    ],
)
def test_wrong_json_types_and_unknown_keys_are_400(admin_api, payload):
    response = admin_api.post(LIST, payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]


def test_a_name_taken_by_any_policy_is_refused(tenant_a, admin_api):
    from tests.alerts.policy_kit import make as make_activity_policy

    make_activity_policy(tenant_a, name="Downloads")
    response = admin_api.post(LIST, {"name": "downloads"}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["error"]["details"]["name"][0]


def test_the_51st_file_policy_is_a_409(tenant_a, admin_api, monkeypatch):
    monkeypatch.setattr("apps.dlp.policy_services.MAX_FILE_POLICIES", 3)
    for n in range(3):
        make(tenant_a, name=f"P{n}")
    response = admin_api.post(LIST, {"name": "One too many"}, format="json")
    assert response.status_code == 409
    assert "at most 3 file policies" in response.json()["error"]["message"]
    assert policy_checks.MAX_FILE_POLICIES == 50


def test_readers_read_and_may_not_write(tenant_a, reader_api):
    policy = make(tenant_a)
    assert reader_api.get(detail(policy)).status_code == 200
    assert reader_api.post(LIST, {"name": "Mine"}, format="json").status_code == 403
    assert reader_api.patch(detail(policy), {"enabled": False}, format="json").status_code == 403
    assert reader_api.delete(detail(policy)).status_code == 403
    with tenant_context(tenant_a):
        assert Policy.objects.get(pk=policy.pk).enabled


def test_charlie_neither_sees_nor_touches_them(tenant_a, tenant_b, charlie):
    policy = make(tenant_a)
    api = api_for(charlie, tenant_b, Role.GLOBAL_ADMIN)
    assert api.get(LIST).json()["results"] == []
    assert api.get(detail(policy)).status_code == 404
    assert api.patch(detail(policy), {"enabled": False}, format="json").status_code == 404
    assert api.delete(detail(policy)).status_code == 404
    with tenant_context(tenant_a):
        assert Policy.objects.get(pk=policy.pk).enabled


def test_list_query_count_is_flat(tenant_a, reader_api, django_assert_max_num_queries):
    for n in range(15):
        make(tenant_a, name=f"P{n}", governance=["notify_user"])
    with django_assert_max_num_queries(8):
        response = reader_api.get(LIST)
    assert response.json()["count"] == 15


def test_the_policies_api_reads_file_policies_and_sends_edits_to_theirs(tenant_a, admin_api):
    policy = make(tenant_a)
    listed = admin_api.get("/api/v1/policies/", {"kind": "file"})
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["results"]] == [str(policy.pk)]
    url = f"/api/v1/policies/{policy.pk}/"
    assert admin_api.get(url).json()["kind"] == "file"
    patched = admin_api.patch(url, {"enabled": False}, format="json")
    assert patched.status_code == 400
    assert "/api/v1/file-policies/" in patched.json()["error"]["details"]["kind"][0]
    assert admin_api.put(url, {"name": "x"}, format="json").status_code == 400
    assert admin_api.delete(url).status_code == 409
    created = admin_api.post("/api/v1/policies/", {"kind": "file", "name": "x"}, format="json")
    assert created.status_code == 400
    with tenant_context(tenant_a):
        assert Policy.objects.get(pk=policy.pk).enabled
        assert Policy.objects.count() >= 1 and not Policy.objects.filter(name="x").exists()
