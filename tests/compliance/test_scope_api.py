"""Scoped deployment API (/api/v1/privacy/scope-rules/, activity-privacy/) and the push API's
`out_of_scope` count: validation naming the unknown id, roles, another tenant."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.activities import partitions
from apps.compliance.models import PrivacySettings, ScopeRule
from apps.connectors.models import Vendor
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.activities.ingest_factories import recent
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")

LIST = "/api/v1/privacy/scope-rules/"
PRIVACY = "/api/v1/privacy/activity-privacy/"


def api(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


@pytest.fixture
def setup(tenant_a):
    m365 = logdata.app(tenant_a, "Microsoft 365", Vendor.OFFICE365)
    germany = logdata.group(tenant_a, "Germany", app_instance=m365)
    return {"m365": m365, "germany": germany}


def rules(tenant) -> list[ScopeRule]:
    with tenant_context(tenant):
        return list(ScopeRule.objects.order_by("name"))


def test_crud_by_a_security_admin(sam, tenant_a, setup):
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    body = {
        "name": "Germany",
        "kind": "exclude",
        "groups": [str(setup["germany"].pk)],
        "apps": [f"{setup['m365'].pk}:PowerBI"],
    }
    created = client.post(LIST, body, format="json")
    assert created.status_code == 201, created.json()
    rule_id = created.json()["id"]
    assert created.json()["apps"] == [f"{setup['m365'].pk}:PowerBI"]
    assert client.get(LIST).json()["count"] == 1
    detail = f"{LIST}{rule_id}/"
    changed = client.patch(detail, {"kind": "include", "apps": []}, format="json")
    assert changed.status_code == 200 and changed.json()["kind"] == "include"
    assert changed.json()["apps"] == []
    assert client.delete(detail).status_code == 204
    assert rules(tenant_a) == []
    with tenant_context(tenant_a):
        actions = list(
            AuditEvent.objects.filter(action__startswith="scope.")
            .order_by("seq")
            .values_list("action", flat=True)
        )
    assert actions == ["scope.rule_created", "scope.rule_changed", "scope.rule_deleted"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "include", "groups": "builtin:external"}, "groups"),
        ({"name": "x", "kind": "include", "groups": []}, "groups"),
        ({"name": 1, "kind": "include", "groups": ["builtin:external"]}, "name"),
        ({"name": "x", "kind": "sometimes", "groups": ["builtin:external"]}, "kind"),
        ({"name": "x", "kind": "include", "groups": [7]}, "groups"),
    ],
)
def test_bad_bodies_are_400(sam, tenant_a, body, field):
    response = api(sam, tenant_a, Role.SECURITY_ADMIN).post(LIST, body, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert rules(tenant_a) == []


def test_unknown_and_other_tenants_ids_are_400_naming_them(sam, tenant_a, tenant_b, setup):
    b_app = logdata.app(tenant_b, "B app")
    b_group = logdata.group(tenant_b, "B group", app_instance=b_app)
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    body = {"name": "x", "kind": "include", "groups": [str(b_group.pk)], "apps": [str(b_app.pk)]}
    response = client.post(LIST, body, format="json")
    assert response.status_code == 400
    text = str(response.json())
    assert f"Unknown group “{b_group.pk}”" in text and f"Unknown app “{b_app.pk}”" in text
    response = client.put(PRIVACY, {"private_groups": [str(b_group.pk)]}, format="json")
    assert response.status_code == 400 and str(b_group.pk) in str(response.json())
    assert rules(tenant_a) == []


def test_privacy_groups_get_and_put(sam, rita, tenant_a, setup):
    reader = api(rita, tenant_a, Role.SECURITY_READER)
    assert reader.get(PRIVACY).json() == {"private_groups": []}
    admin = api(sam, tenant_a, Role.SECURITY_ADMIN)
    wanted = [str(setup["germany"].pk), "builtin:application"]
    response = admin.put(PRIVACY, {"private_groups": wanted}, format="json")
    assert response.status_code == 200 and response.json() == {"private_groups": wanted}
    assert reader.get(PRIVACY).json() == {"private_groups": wanted}
    assert reader.put(PRIVACY, {"private_groups": []}, format="json").status_code == 403
    with tenant_context(tenant_a):
        assert PrivacySettings.objects.get().private_groups == wanted


def test_reader_reads_but_cannot_write(rita, tenant_a, setup):
    client = api(rita, tenant_a, Role.SECURITY_READER)
    body = {"name": "x", "kind": "exclude", "groups": ["builtin:external"]}
    assert client.post(LIST, body, format="json").status_code == 403
    assert client.get(LIST).status_code == 200
    assert rules(tenant_a) == []


def test_charlie_never_sees_or_touches_a(charlie, tenant_a, tenant_b, setup):
    with tenant_context(tenant_a):
        rule = ScopeRule.objects.create(name="A rule", kind="exclude", groups=["builtin:external"])
    client = api(charlie, tenant_b, Role.GLOBAL_ADMIN)
    assert client.get(LIST).json()["results"] == []
    detail = f"{LIST}{rule.pk}/"
    assert client.get(detail).status_code == 404
    assert client.patch(detail, {"name": "mine"}, format="json").status_code == 404
    assert client.delete(detail).status_code == 404
    assert client.get(PRIVACY).json() == {"private_groups": []}
    assert [r.name for r in rules(tenant_a)] == ["A rule"]


def test_list_queries_do_not_grow(rita, tenant_a, django_assert_max_num_queries):
    with tenant_context(tenant_a):
        for n in range(30):
            ScopeRule.objects.create(name=f"R{n}", kind="exclude", groups=["builtin:external"])
    client = api(rita, tenant_a, Role.SECURITY_READER)
    with django_assert_max_num_queries(8):
        response = client.get(LIST)
    assert response.json()["count"] == 30


def test_push_api_counts_out_of_scope_events(sam, tenant_a):
    partitions.forget()
    app = logdata.app(tenant_a, "Contoso HR", Vendor.PUSH)
    guest = logdata.person(tenant_a, "guest@elsewhere.test", is_external=True)
    logdata.account(tenant_a, app, guest, username=guest.identity)
    with tenant_context(tenant_a):
        ScopeRule.objects.create(name="No guests", kind="exclude", groups=["builtin:external"])
    events = [
        {
            "app": "Contoso HR",
            "source_event_id": f"e{n}",
            "occurred_at": recent(n).isoformat(),
            "action_type": "SignIn",
            "activity_type": "login",
            "actor": actor,
        }
        for n, actor in enumerate(
            ["guest@elsewhere.test", "bob@alpha.test", "guest@elsewhere.test"]
        )
    ]
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    response = client.post("/api/v1/activities/ingest/", events, format="json")
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "out_of_scope": 2, "rejected": []}
    partitions.forget()
