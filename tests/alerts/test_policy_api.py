"""/api/v1/policies/: activity policies and detection settings through the same services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.alerts.models import Policy, PolicyKind
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context

from .policy_kit import ProbeDetection, api_for, make, probe, probe_row  # noqa: F401 (probe)

pytestmark = pytest.mark.django_db(databases="__all__")

LIST = reverse("api-policies-list")


def detail(policy) -> str:
    return reverse("api-policies-detail", kwargs={"id": policy.pk})


@pytest.fixture
def admin_api(sam, tenant_a):
    return api_for(sam, tenant_a, Role.SECURITY_ADMIN)


@pytest.fixture
def reader_api(rita, tenant_a):
    return api_for(rita, tenant_a, Role.SECURITY_READER)


@pytest.mark.usefixtures("probe")
def test_list_has_policies_and_detections(tenant_a, reader_api, django_assert_max_num_queries):
    for n in range(5):
        make(tenant_a, name=f"Policy {n}")
    reader_api.get(LIST)  # creates the detections' rows
    with django_assert_max_num_queries(12):
        response = reader_api.get(LIST, {"page_size": 100})
    rows = response.json()["results"]
    kinds = {row["name"]: row["kind"] for row in rows}
    assert kinds["Policy 0"] == "activity" and kinds["Probe detection"] == "anomaly"
    probe_json = next(row for row in rows if row["name"] == "Probe detection")
    assert [o["name"] for o in probe_json["options"]] == [
        "threshold",
        "sensitivity",
        "ignore_vpn",
        "countries",
    ]
    assert probe_json["options"][0]["minimum"] == 2 and probe_json["alerts_last_7_days"] == 0
    only = reader_api.get(LIST, {"kind": "activity", "page_size": 100}).json()["results"]
    assert {row["kind"] for row in only} == {"activity"} and len(only) == 5


def test_create_update_delete(tenant_a, admin_api):
    response = admin_api.post(
        LIST,
        {
            "name": "Mass download",
            "filters": {"activity.eventType": {"eq": ["download"]}},
            "mode": "repeated",
            "repeat_count": 51,
            "repeat_window_minutes": 1,
            "severity": 3,
            "governance": ["suspend_user"],
            "template": "mass_download_single_user",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["repeat_count"], body["severity_name"]) == ("activity", 51, "High")
    assert body["template"] == "mass_download_single_user" and body["enabled"] is True
    with tenant_context(tenant_a):
        policy = Policy.objects.get(pk=body["id"])
        event = AuditEvent.objects.get(action="policy.created")
    assert event.actor_label.startswith("sam@alpha.test (token")
    assert policy.created_by_id is not None
    change = {"enabled": False, "dedupe_minutes": 5}
    patched = admin_api.patch(detail(policy), change, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    replaced = admin_api.put(
        detail(policy), {"name": "Everything", "filters": {}}, format="json"
    ).json()
    assert (replaced["name"], replaced["mode"], replaced["repeat_count"]) == (
        "Everything",
        "single",
        1,
    )
    assert replaced["enabled"] is False  # a replace keeps the switch and the template
    assert replaced["template"] == "mass_download_single_user"
    assert admin_api.delete(detail(policy)).status_code == 204
    with tenant_context(tenant_a):
        assert not Policy.objects.filter(pk=policy.pk).exists()


def test_bad_input_is_a_400_naming_field_and_reason(tenant_a, admin_api):
    response = admin_api.post(
        LIST,
        {
            "name": "Bad",
            "filters": {"date": {"gte_ndays": 1}, "ip.address": {"eq": ["nope"]}},
            "mode": "repeated",
            "repeat_count": 1,
            "repeat_window_minutes": 20_000,
            "include_groups": ["8c3f0c54-0000-4000-8000-000000000000"],
        },
        format="json",
    )
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert set(details) == {"filters", "repeat_count", "repeat_window_minutes", "include_groups"}
    assert any(m.startswith("date: a policy looks") for m in details["filters"])
    assert any(m.startswith("ip.address.eq: 'nope' is not an IP") for m in details["filters"])
    typed = admin_api.post(LIST, {"name": "x", "governance": ["fire"]}, format="json")
    assert typed.status_code == 400 and "governance" in typed.json()["error"]["details"]
    anomaly = admin_api.post(LIST, {"name": "x", "kind": "anomaly"}, format="json")
    assert "kind" in anomaly.json()["error"]["details"]
    make(tenant_a, name="Taken")
    taken = admin_api.post(LIST, {"name": "taken"}, format="json").json()
    assert "already exists" in taken["error"]["details"]["name"][0]
    with tenant_context(tenant_a):
        assert list(Policy.objects.values_list("name", flat=True)) == ["Taken"]


@pytest.mark.usefixtures("probe")
def test_detections_change_settings_only(tenant_a, admin_api):
    detection = probe_row(tenant_a)
    response = admin_api.patch(
        detail(detection),
        {"enabled": False, "tuning": {"threshold": 30}, "governance": ["require_sign_in"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["tuning"]["threshold"] == 30 and response.json()["enabled"] is False
    bad = admin_api.patch(detail(detection), {"tuning": {"threshold": 500}}, format="json")
    details = bad.json()["error"]["details"]
    assert details == {"tuning.threshold": ["threshold must be at most 100."]}
    renamed = admin_api.patch(detail(detection), {"name": "Mine"}, format="json")
    assert renamed.status_code == 400 and "keeps its name" in str(renamed.json())
    replaced = admin_api.put(detail(detection), {"name": "Mine"}, format="json")
    assert replaced.status_code == 400 and "PATCH" in str(replaced.json())
    deleted = admin_api.delete(detail(detection))
    assert deleted.status_code == 409 and "switch them off" in str(deleted.json())
    with tenant_context(tenant_a):
        kept = Policy.objects.get(pk=detection.pk)
    assert kept.name == "Probe detection" and kept.tuning["threshold"] == 30


def test_templates_endpoint(reader_api):
    rows = reader_api.get(reverse("api-policies-templates")).json()
    by_key = {row["key"]: row for row in rows}
    assert by_key["mass_download_single_user"]["policy"]["repeat_count"] == 51
    assert by_key["discovery_risky"]["available"] is False
    assert by_key["discovery_risky"]["needs"] == "Cloud Discovery"


def test_readers_cannot_write_and_other_tenants_see_nothing(
    tenant_a, tenant_b, reader_api, charlie
):
    policy = make(tenant_a)
    assert reader_api.post(LIST, {"name": "Mine"}, format="json").status_code == 403
    assert reader_api.patch(detail(policy), {"name": "Mine"}, format="json").status_code == 403
    assert reader_api.delete(detail(policy)).status_code == 403
    other = api_for(charlie, tenant_b, Role.GLOBAL_ADMIN)
    assert other.get(detail(policy)).status_code == 404
    assert other.patch(detail(policy), {"enabled": False}, format="json").status_code == 404
    assert other.delete(detail(policy)).status_code == 404
    names = [row["name"] for row in other.get(LIST, {"page_size": 100}).json()["results"]]
    assert policy.name not in names
    with tenant_context(tenant_a):
        assert Policy.objects.get(pk=policy.pk).enabled
    with tenant_context(tenant_b):
        assert not Policy.objects.filter(kind=PolicyKind.ACTIVITY).exists()


def test_an_unknown_kind_filter_is_refused(reader_api):
    response = reader_api.get("/api/v1/policies/?kind=-58800")
    assert response.status_code == 400
    assert "kind" in response.json()["error"]["details"]


@pytest.mark.usefixtures("probe")
def test_tuning_values_of_the_wrong_type_are_refused_not_crashed(tenant_a, admin_api):
    detection = probe_row(tenant_a)
    for tuning, field in (
        ('{"threshold": 1e999}', "tuning.threshold"),  # JSON's infinity: int() overflows
        ('{"sensitivity": []}', "tuning.sensitivity"),  # unhashable, not a choice
        ('{"sensitivity": {"a": 1}}', "tuning.sensitivity"),
    ):
        response = admin_api.generic(
            "PATCH",
            detail(detection),
            f'{{"tuning": {tuning}}}',
            content_type="application/json",
        )
        assert response.status_code == 400, (tuning, response.content)
        assert field in response.json()["error"]["details"], tuning


def test_filters_nested_too_deeply_are_a_form_error(tenant_a, sam, client):
    client.force_login(sam)
    response = client.post(
        f"/t/{tenant_a.slug}/policies/new/",
        {"name": "Deep", "severity": 2, "category": "threat_detection", "filters": "[" * 3000},
    )
    assert response.status_code == 400
    assert b"nested too deeply" in response.content
    preview = client.post(
        f"/t/{tenant_a.slug}/policies/new/",
        {"name": "Deep", "filters": "[" * 3000, "preview": "1"},
    )
    assert preview.status_code == 400 and b"nested too deeply" in preview.content
