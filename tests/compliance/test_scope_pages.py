"""Scoped deployment and privacy: service rules (known groups and apps of the tenant, audit) and
the console page (rules, summary, privacy groups) with readers and another tenant's admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.compliance import scope_services
from apps.compliance.models import PrivacySettings, ScopeRule
from apps.connectors.models import Vendor
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def setup(tenant_a):
    m365 = logdata.app(tenant_a, "Microsoft 365", Vendor.OFFICE365)
    salesforce = logdata.app(tenant_a, "Salesforce", Vendor.PUSH)
    sales = logdata.group(tenant_a, "Global sales", app_instance=m365)
    germany = logdata.group(tenant_a, "Germany all users", app_instance=m365)
    return {"m365": m365, "salesforce": salesforce, "sales": sales, "germany": germany}


def create(tenant, **fields):
    values = {"name": "Rule", "kind": "include", "groups": ["builtin:external"], "apps": []}
    values.update(fields)
    with tenant_context(tenant):
        return scope_services.create_rule(tenant=tenant, actor=None, **values)


def refusal(tenant, **fields) -> dict:
    with pytest.raises(ValidationError) as caught:
        create(tenant, **fields)
    return caught.value.message_dict


def rules(tenant) -> list[ScopeRule]:
    with tenant_context(tenant):
        return list(ScopeRule.objects.order_by("name"))


def audits(tenant) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action__startswith="scope.").order_by("seq"))


# --- Services ----------------------------------------------------------------------------------


def test_create_normalises_and_audits_ids_only(tenant_a, setup):
    sub = f"{setup['m365'].pk}:PowerBI"
    rule = create(
        tenant_a,
        name="  Sales  ",
        groups=[str(setup["sales"].pk), str(setup["sales"].pk).upper()],
        apps=[sub, str(setup["m365"].pk)],
    )
    assert (rule.name, rule.groups, rule.apps) == (
        "Sales",
        [str(setup["sales"].pk)],
        [sub, str(setup["m365"].pk)],
    )
    (event,) = audits(tenant_a)
    assert event.action == "scope.rule_created" and event.object_id == str(rule.pk)
    assert event.details["groups"] == [str(setup["sales"].pk)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": " "}, "name", "Give the rule a name."),
        ({"kind": "maybe"}, "kind", "Choose include or exclude."),
        ({"groups": []}, "groups", "Choose at least one group."),
        ({"groups": ["builtin:robots"]}, "groups", "Unknown group “builtin:robots”."),
        ({"groups": "builtin:external"}, "groups", "Give a list."),
        ({"apps": ["not-an-id"]}, "apps", "Unknown app “not-an-id”."),
    ],
)
def test_bad_fields_are_refused_naming_them(tenant_a, fields, field, message):
    assert message in refusal(tenant_a, **fields)[field]
    assert rules(tenant_a) == []


def test_unknown_sub_apps_and_other_tenants_ids_are_unknown(tenant_a, tenant_b, setup):
    b_app = logdata.app(tenant_b, "B 365")
    b_group = logdata.group(tenant_b, "B group", app_instance=b_app)
    errors = refusal(tenant_a, groups=[str(b_group.pk)], apps=[str(b_app.pk)])
    assert errors["groups"] == [f"Unknown group “{b_group.pk}”."]
    assert errors["apps"] == [f"Unknown app “{b_app.pk}”."]
    errors = refusal(tenant_a, apps=[f"{setup['salesforce'].pk}:PowerBI"])
    assert "Unknown sub-app “PowerBI”" in errors["apps"][0]
    errors = refusal(tenant_a, apps=[f"{setup['m365'].pk}:Minesweeper"])
    assert "Unknown sub-app “Minesweeper”" in errors["apps"][0]


def test_update_delete_and_privacy_groups_are_audited(tenant_a, setup):
    rule = create(tenant_a)
    with tenant_context(tenant_a):
        scope_services.update_rule(
            tenant=tenant_a, rule=rule, actor=None, kind="exclude", apps=[str(setup["m365"].pk)]
        )
        scope_services.set_private_groups(
            tenant=tenant_a, actor=None, groups=[str(setup["germany"].pk), "builtin:external"]
        )
        scope_services.delete_rule(tenant=tenant_a, rule=rule, actor=None)
        privacy = PrivacySettings.objects.get()
    assert privacy.private_groups == [str(setup["germany"].pk), "builtin:external"]
    assert [e.action for e in audits(tenant_a)] == [
        "scope.rule_created",
        "scope.rule_changed",
        "scope.privacy_groups_changed",
        "scope.rule_deleted",
    ]
    assert audits(tenant_a)[1].details["after"]["kind"] == "exclude"
    assert rules(tenant_a) == []


# --- Console -----------------------------------------------------------------------------------


def page(tenant, name="compliance:scope", **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def test_reader_sees_rules_and_summary_but_no_controls(client, rita, tenant_a, setup):
    create(
        tenant_a, name="Sales only", groups=[str(setup["sales"].pk)], apps=[str(setup["m365"].pk)]
    )
    client.force_login(rita)
    response = client.get(page(tenant_a))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Sales only" in body and "Only members of Global sales (Microsoft 365)." in body
    assert "Everyone. No rule applies to this app." in body  # Salesforce
    assert "Add a rule" not in body and "Save privacy groups" not in body and "Delete" not in body
    assert client.post(page(tenant_a), {"name": "x"}).status_code == 403
    assert client.post(page(tenant_a, "compliance:scope-privacy")).status_code == 403
    assert len(rules(tenant_a)) == 1


def test_admin_adds_edits_and_deletes_a_rule(client, sam, tenant_a, setup):
    client.force_login(sam)
    form = {
        "name": "Germany",
        "kind": "exclude",
        "groups": [str(setup["germany"].pk)],
        "scope": "some",
        "apps": [str(setup["m365"].pk)],
    }
    assert client.post(page(tenant_a), form).status_code == 302
    (rule,) = rules(tenant_a)
    assert (rule.kind, rule.apps) == ("exclude", [str(setup["m365"].pk)])
    body = client.get(page(tenant_a)).content.decode()
    assert "Exclude rule “Germany” added." in body
    assert "Everyone, except members of Germany all users (Microsoft 365)." in body

    edit = page(tenant_a, "compliance:scope-rule", rule_id=rule.pk)
    assert client.get(edit).status_code == 200
    assert client.post(edit, {**form, "scope": "all", "name": "Germany all"}).status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.apps) == ("Germany all", [])

    assert (
        client.post(page(tenant_a, "compliance:scope-rule-delete", rule_id=rule.pk)).status_code
        == 302
    )
    assert rules(tenant_a) == []
    assert [e.actor_label for e in audits(tenant_a)][-1]  # who did it is recorded


def test_bad_form_is_400_with_the_reason(client, sam, tenant_a, setup):
    client.force_login(sam)
    response = client.post(
        page(tenant_a),
        {"name": "x", "kind": "include", "groups": ["builtin:external"], "scope": "some"},
    )
    assert response.status_code == 400
    assert "Choose at least one app" in response.content.decode()
    response = client.post(
        page(tenant_a), {"name": "x", "kind": "include", "groups": ["nope"], "scope": "all"}
    )
    assert response.status_code == 400 and "nope" in response.content.decode()
    assert rules(tenant_a) == []


def test_admin_sets_privacy_groups(client, alice, tenant_a, setup):
    client.force_login(alice)
    response = client.post(
        page(tenant_a, "compliance:scope-privacy"), {"private_groups": [str(setup["germany"].pk)]}
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert PrivacySettings.objects.get().private_groups == [str(setup["germany"].pk)]
    body = client.get(page(tenant_a)).content.decode()
    assert "Private now:" in body and "Germany all users (Microsoft 365)" in body
    assert client.post(page(tenant_a, "compliance:scope-privacy")).status_code == 302
    with tenant_context(tenant_a):
        assert PrivacySettings.objects.get().private_groups == []


def test_charlie_gets_404_everywhere(client, charlie, tenant_a, tenant_b):
    rule = create(tenant_a)
    client.force_login(charlie)
    assert client.get(page(tenant_a)).status_code == 404
    assert client.post(page(tenant_a, "compliance:scope-privacy")).status_code == 404
    assert client.get(page(tenant_a, "compliance:scope-rule", rule_id=rule.pk)).status_code == 404
    # Through his own tenant's URL, A's rule id is just as unknown.
    assert client.get(page(tenant_b, "compliance:scope-rule", rule_id=rule.pk)).status_code == 404
    delete = page(tenant_b, "compliance:scope-rule-delete", rule_id=rule.pk)
    assert client.post(delete).status_code == 404
    assert rules(tenant_a) == [rule]


def test_page_queries_do_not_grow(client, rita, tenant_a, setup, django_assert_max_num_queries):
    for n in range(20):
        logdata.group(tenant_a, f"Group {n}", app_instance=setup["m365"])
        create(tenant_a, name=f"Rule {n:02d}", groups=[str(setup["sales"].pk)])
    client.force_login(rita)
    with django_assert_max_num_queries(15):
        response = client.get(page(tenant_a))
    assert response.content.decode().count("Rule ") >= 20
