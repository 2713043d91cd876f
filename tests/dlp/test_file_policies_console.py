"""Console pages of file policies: create (and from a template), edit, detail, switch, delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.alerts import selectors as alert_selectors
from apps.alerts.models import Alert, Policy, PolicyKind
from apps.dlp.models import AccessLevel
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.alerts.policy_kit import signed_in
from tests.dlp.file_policy_kit import app, group, make, owner, scan

pytestmark = pytest.mark.django_db


def url(name, tenant, policy=None):
    args = [tenant.slug] + ([policy.pk] if policy is not None else [])
    return reverse(f"file_policies:{name}", args=args)


FORM = {
    "name": "Cards in spreadsheets",
    "description": "",
    "severity": "3",
    "category": "dlp",
    "sensitive_types": ["payment_card", "iban"],
    "min_matches": "10",
    "file_types": ["2"],
    "extensions": "xlsx, .CSV",
    "access_levels": ["2", "3"],
    "alert": "on",
    "daily_alert_limit": "5",
    "dedupe_minutes": "1440",
    "governance": ["notify_user", "remove_external_sharing"],
}


def test_an_admin_creates_a_file_policy(tenant_a, sam):
    drive = app(tenant_a)
    finance = group(tenant_a, drive, "Finance")
    client = signed_in(sam)
    assert client.get(url("create", tenant_a)).status_code == 200
    response = client.post(
        url("create", tenant_a),
        {**FORM, "apps": [str(drive.pk)], "exclude_groups": [str(finance.pk)]},
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        policy = Policy.objects.get(kind=PolicyKind.FILE)
        assert AuditEvent.objects.filter(action="file_policy.created").exists()
    assert response["Location"] == url("detail", tenant_a, policy)
    assert policy.filters == {
        "sensitive_types": ["payment_card", "iban"],
        "min_matches": 10,
        "file_types": [2],
        "extensions": ["csv", "xlsx"],
        "apps": [str(drive.pk)],
        "access_levels": [2, 3],
    }
    assert policy.tuning == {"alert": True, "block": False}
    assert policy.exclude_groups == [str(finance.pk)] and policy.severity == 3
    assert policy.governance == ["notify_user", "remove_external_sharing"]


def test_bad_values_are_form_errors_and_save_nothing(tenant_a, tenant_b, sam):
    theirs = app(tenant_b, "Their drive")
    client = signed_in(sam)
    response = client.post(
        url("create", tenant_a),
        {**FORM, "sensitive_types": ["no_such_type"], "apps": [str(theirs.pk)]},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "sensitive_types" in form.errors and "apps" in form.errors
    bad_extension = client.post(url("create", tenant_a), {**FORM, "extensions": "x/y"})
    assert bad_extension.status_code == 400
    assert "is not a file extension" in str(bad_extension.context["form"].errors)
    with tenant_context(tenant_a):
        assert not Policy.objects.filter(kind=PolicyKind.FILE).exists()


def test_min_matches_without_types_is_explained(tenant_a, sam):
    response = signed_in(sam).post(
        url("create", tenant_a), {**FORM, "sensitive_types": [], "min_matches": "5"}
    )
    assert response.status_code == 400
    assert "pick at least one" in str(response.context["form"].errors)


def test_the_fifty_policy_limit_is_a_clear_error(tenant_a, sam, monkeypatch):
    monkeypatch.setattr("apps.dlp.policy_services.MAX_FILE_POLICIES", 2)
    make(tenant_a, name="One")
    make(tenant_a, name="Two")
    response = signed_in(sam).post(url("create", tenant_a), FORM)
    assert response.status_code == 400
    assert "at most 2 file policies" in response.content.decode()


def test_a_template_prefills_the_form(tenant_a, sam):
    client = signed_in(sam)
    page = client.get(url("create", tenant_a), {"template": "file_credentials"})
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["name"] == "Credentials in files"
    assert "aws_access_key" in form.initial["sensitive_types"]
    assert client.get(url("create", tenant_a), {"template": "nope"}).status_code == 404


def test_edit_keeps_what_is_not_on_the_form(tenant_a, sam):
    policy = make(tenant_a, tuning={"alert": True, "block": True})
    client = signed_in(sam)
    page = client.get(url("edit", tenant_a, policy))
    assert page.status_code == 200 and page.context["form"].initial["block"] is True
    response = client.post(
        url("edit", tenant_a, policy),
        {**FORM, "name": "Renamed", "sensitive_types": ["payment_card"], "min_matches": "1"},
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        policy.refresh_from_db()
    assert policy.name == "Renamed" and policy.tuning == {"alert": True, "block": False}
    assert policy.enabled is True


def test_detail_shows_matching_files_and_alerts(tenant_a, rita):
    drive = app(tenant_a)
    ann = owner(tenant_a, drive, "ann@acme.test")
    policy = make(tenant_a)
    scan(
        tenant_a,
        name="payroll.csv",
        app_instance=drive,
        external_id="p1",
        owner="ann@acme.test",
        owner_account=ann,
        access_level=AccessLevel.EXTERNAL,
    )
    scan(tenant_a, name="memo.txt", text="nothing here")
    page = signed_in(rita).get(url("detail", tenant_a, policy))
    assert page.status_code == 200
    html = page.content.decode()
    assert "payroll.csv" in html and "memo.txt" not in html
    assert "Cards anywhere: payroll.csv" in html  # the alert
    assert page.context["files_count"] == 1
    assert "4111" not in html
    assert "Edit" not in html.split("Matching now")[0].split("File policy")[-1]  # reader


def test_an_alert_links_to_its_file_policy_page(tenant_a):
    policy = make(tenant_a)
    scan(tenant_a)
    with tenant_context(tenant_a):
        alert = Alert.objects.select_related("policy").get()
    assert alert_selectors.policy_url(tenant_a.slug, alert) == url("detail", tenant_a, policy)


def test_switch_off_on_and_delete(tenant_a, sam):
    policy = make(tenant_a)
    client = signed_in(sam)
    assert client.post(url("disable", tenant_a, policy)).status_code == 302
    with tenant_context(tenant_a):
        assert not Policy.objects.get(pk=policy.pk).enabled
    back = client.post(url("enable", tenant_a, policy), {"next": "list"})
    assert back["Location"] == reverse("policies:list", args=[tenant_a.slug])
    with tenant_context(tenant_a):
        assert Policy.objects.get(pk=policy.pk).enabled
    assert client.post(url("delete", tenant_a, policy)).status_code == 302
    with tenant_context(tenant_a):
        assert not Policy.objects.filter(pk=policy.pk).exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"file_policy.disabled", "file_policy.enabled", "file_policy.deleted"} <= actions


def test_readers_may_look_but_not_change(tenant_a, rita):
    policy = make(tenant_a)
    client = signed_in(rita)
    assert client.get(url("detail", tenant_a, policy)).status_code == 200
    assert client.get(url("create", tenant_a)).status_code == 403
    assert client.post(url("create", tenant_a), FORM).status_code == 403
    assert client.get(url("edit", tenant_a, policy)).status_code == 403
    assert client.post(url("disable", tenant_a, policy)).status_code == 403
    assert client.post(url("delete", tenant_a, policy)).status_code == 403
    with tenant_context(tenant_a):
        assert Policy.objects.get(pk=policy.pk).enabled


def test_charlie_neither_sees_nor_touches_them(tenant_a, charlie):
    policy = make(tenant_a)
    client = signed_in(charlie)
    for name in ("detail", "edit"):
        assert client.get(url(name, tenant_a, policy)).status_code == 404
    for name in ("disable", "delete"):
        assert client.post(url(name, tenant_a, policy)).status_code == 404
    with tenant_context(tenant_a):
        assert Policy.objects.get(pk=policy.pk).enabled


def test_the_policies_page_lists_file_policies(tenant_a, sam, rita, django_assert_max_num_queries):
    for n in range(12):
        make(tenant_a, name=f"File policy {n}", governance=["notify_user"])
    client = signed_in(rita)
    client.get(reverse("policies:list", args=[tenant_a.slug]))  # warm the session
    with django_assert_max_num_queries(20):
        page = client.get(reverse("policies:list", args=[tenant_a.slug]))
    html = page.content.decode()
    with tenant_context(tenant_a):
        first = Policy.objects.get(name="File policy 0")
    assert url("detail", tenant_a, first) in html
    assert "Notify file owner" in html
    assert url("disable", tenant_a, first) not in html  # readers get no switches
    assert (
        url("disable", tenant_a, first)
        in signed_in(sam).get(reverse("policies:list", args=[tenant_a.slug])).content.decode()
    )
