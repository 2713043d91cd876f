"""The discovery management API: tags, tagging, overrides, custom apps, block script, settings
and resolve; field-named 400s, readers 403, and charlie's token (tenant B) seeing nothing of A's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.discovery import services_manage as manage
from apps.discovery.anonymize import Pseudonymizer
from apps.discovery.models import AppOverride, AppTagging, CustomApp, TagKind
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.role_matrix import token_key

from .helpers import custom_app, events

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_sam(api_client, sam, tenant_a):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(sam, tenant_a, Role.SECURITY_ADMIN)}"
    )
    return api_client


@pytest.fixture
def as_rita(api_client, rita, tenant_a):
    key = token_key(rita, tenant_a, Role.SECURITY_READER)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


@pytest.fixture
def as_charlie(api_client, charlie, tenant_b):
    key = token_key(charlie, tenant_b, Role.GLOBAL_ADMIN)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


def _details(response) -> dict:
    return response.json()["error"]["details"]


def test_tags_crud(as_sam, tenant_a, django_assert_max_num_queries):
    listing = reverse("api-discovery-tags-list")
    created = as_sam.post(listing, {"name": "Approved by legal"}, format="json")
    assert created.status_code == 201 and created.json()["builtin"] is False
    tag_id = created.json()["id"]
    clash = as_sam.post(listing, {"name": "Sanctioned"}, format="json")
    assert clash.status_code == 400 and "name" in _details(clash)
    with tenant_context(tenant_a):
        manage.tag_apps(
            apps=["dropbox", "box"], tag=manage.tag_by_name("approved by legal"), actor="t"
        )
    as_sam.get(listing)  # the first call makes the built-in tags
    with django_assert_max_num_queries(8) as few:
        body = as_sam.get(listing).json()
    by_name = {tag["name"]: tag for tag in body["results"]}
    assert by_name["Approved by legal"]["app_count"] == 2
    assert {"Sanctioned", "Unsanctioned", "Monitored"} <= set(by_name)
    with tenant_context(tenant_a):
        for n in range(10):
            manage.create_tag(name=f"Extra {n}", actor="t")
    with django_assert_max_num_queries(len(few.captured_queries)):
        as_sam.get(listing)
    detail = reverse("api-discovery-tags-detail", args=[tag_id])
    renamed = as_sam.patch(detail, {"name": "Legal OK"}, format="json")
    assert renamed.json()["name"] == "Legal OK"
    builtin = by_name["Sanctioned"]["id"]
    refused = as_sam.delete(reverse("api-discovery-tags-detail", args=[builtin]))
    assert refused.status_code == 409 and "built-in" in refused.content.decode().lower()
    assert as_sam.delete(detail).status_code == 204


def test_app_tagging_and_mutual_exclusion(as_sam, tenant_a):
    target = reverse("api-discovery-app-tags", args=["dropbox"])
    assert as_sam.post(target, {"tag": "sanctioned"}, format="json").status_code == 200
    answer = as_sam.post(target, {"tag": "Unsanctioned"}, format="json").json()
    assert [t["name"] for t in answer["tags"]] == ["Unsanctioned"]
    assert answer["name"] == "Dropbox"
    removed = as_sam.post(target, {"tag": "unsanctioned", "action": "remove"}, format="json")
    assert removed.json()["tags"] == []
    unknown_tag = as_sam.post(target, {"tag": "no such tag"}, format="json")
    assert unknown_tag.status_code == 400 and "tag" in _details(unknown_tag)
    missing = as_sam.post(
        reverse("api-discovery-app-tags", args=["nope-app"]), {"tag": "x"}, format="json"
    )
    assert missing.status_code == 404
    bulk = as_sam.post(
        reverse("api-discovery-app-tags-bulk"),
        {"apps": ["dropbox", "box"], "tag": "monitored"},
        format="json",
    )
    assert bulk.json() == {"tagged": 2}
    bad = as_sam.post(
        reverse("api-discovery-app-tags-bulk"),
        {"apps": ["box", "zz-none"], "tag": "sanctioned"},
        format="json",
    )
    assert bad.status_code == 400 and "apps" in _details(bad)
    with tenant_context(tenant_a):
        assert not AppTagging.objects.filter(tag__kind=TagKind.SANCTIONED).exists()
    assert len(events(tenant_a, "discovery.app_tagged")) == 2


def test_overrides(as_sam, tenant_a):
    target = reverse("api-discovery-override", args=["mega"])
    assert as_sam.get(target).json()["score"] is None
    answer = as_sam.put(target, {"score": "6.5", "note": "reviewed"}, format="json")
    assert answer.status_code == 200 and answer.json()["score"] == "6.5"
    for bad in ({"score": 11}, {"score": "6.55"}, {}):
        response = as_sam.put(target, bad, format="json")
        assert response.status_code == 400 and "score" in _details(response)
    assert as_sam.delete(target).status_code == 204
    with tenant_context(tenant_a):
        assert not AppOverride.objects.exists()


def test_custom_apps_crud(as_sam, tenant_a, django_assert_max_num_queries):
    listing = reverse("api-discovery-custom-apps-list")
    created = as_sam.post(
        listing, {"name": "HR", "category": "crm", "domains": ["HR.alpha.test"]}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["domains"] == ["hr.alpha.test"] and body["key"] == f"custom-{body['id']}"
    injected = as_sam.post(
        listing, {"name": "Evil", "domains": ["evil.test\nhttp_access allow all"]}, format="json"
    )
    assert injected.status_code == 400 and "domains" in _details(injected)
    bad_category = as_sam.post(
        listing, {"name": "C", "category": "x", "domains": ["c.test"]}, format="json"
    )
    assert bad_category.status_code == 400 and "category" in _details(bad_category)
    with django_assert_max_num_queries(10) as few:
        as_sam.get(listing)
    for n in range(10):
        custom_app(tenant_a, f"LOB {n}", [f"lob{n}.alpha.test"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert as_sam.get(listing).json()["count"] == 11
    detail = reverse("api-discovery-custom-apps-detail", args=[body["id"]])
    changed = as_sam.patch(detail, {"domains": ["hr.alpha.test", "hr2.alpha.test"]}, format="json")
    assert changed.json()["domains"] == ["hr.alpha.test", "hr2.alpha.test"]
    clash = as_sam.patch(detail, {"domains": ["lob1.alpha.test"]}, format="json")
    assert clash.status_code == 400 and "domains" in _details(clash)
    tagged = as_sam.post(
        reverse("api-discovery-app-tags", args=[body["key"]]),
        {"tag": "unsanctioned"},
        format="json",
    )
    assert tagged.status_code == 200
    script = as_sam.get(reverse("api-discovery-block-script"), {"appliance": "plain"})
    assert script.content.decode() == "hr.alpha.test\nhr2.alpha.test\n"
    assert as_sam.delete(detail).status_code == 204
    with tenant_context(tenant_a):
        assert not CustomApp.objects.filter(pk=body["id"]).exists()


def test_block_script(as_rita, tenant_a):
    custom_app(tenant_a, "Shadow", ["shadow.test", "security.microsoft.com"], tag="unsanctioned")
    target = reverse("api-discovery-block-script")
    response = as_rita.get(target, {"appliance": "squid"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == (
        "acl casb_unsanctioned dstdomain .shadow.test\nhttp_access deny casb_unsanctioned\n"
    )
    assert "_CAS_Squid_block_script.txt" in response["Content-Disposition"]
    bad = as_rita.get(target, {"appliance": "nope"}, HTTP_ACCEPT="text/plain")
    assert bad.status_code == 400 and "appliance" in _details(bad)


def test_settings(as_sam, tenant_a):
    target = reverse("api-discovery-settings")
    body = as_sam.get(target).json()
    assert body["group_weights"] == {"general": 2, "security": 2, "compliance": 2, "legal": 2}
    assert body["attribute_weights"]["mfa"] == 2 and body["anonymize_by_default"] is False
    changed = as_sam.patch(
        target,
        {"group_weights": {"security": 4}, "na_negative": True, "anonymize_by_default": True},
        format="json",
    )
    assert changed.status_code == 200
    body = changed.json()
    assert body["group_weights"]["security"] == 4 and body["group_weights"]["general"] == 2
    assert body["na_negative"] is True and body["anonymize_by_default"] is True
    for bad, field in (
        ({"group_weights": {"bogus": 1}}, "group_weights"),
        ({"group_weights": {"legal": 7}}, "group_weights"),
        ({"attribute_weights": {"headquarters": 1}}, "attribute_weights"),
    ):
        response = as_sam.patch(target, bad, format="json")
        assert response.status_code == 400 and field in _details(response), bad
    assert len(events(tenant_a, "discovery.score_metric_changed")) == 1


def test_readers_cannot_write(as_rita, tenant_a):
    writes = [
        ("post", reverse("api-discovery-tags-list"), {"name": "x"}),
        ("post", reverse("api-discovery-app-tags", args=["dropbox"]), {"tag": "sanctioned"}),
        ("post", reverse("api-discovery-app-tags-bulk"), {"apps": ["box"], "tag": "monitored"}),
        ("put", reverse("api-discovery-override", args=["dropbox"]), {"score": 1}),
        ("post", reverse("api-discovery-custom-apps-list"), {"name": "n", "domains": ["n.test"]}),
        ("patch", reverse("api-discovery-settings"), {"na_negative": True}),
        (
            "post",
            reverse("api-discovery-resolve"),
            {"direction": "to", "value": "a", "justification": "j" * 20},
        ),
    ]
    for method, target, data in writes:
        assert getattr(as_rita, method)(target, data, format="json").status_code == 403, target
    with tenant_context(tenant_a):
        assert not AppTagging.objects.exists() and not CustomApp.objects.exists()


def test_resolve(as_sam, tenant_a):
    with tenant_context(tenant_a):
        pseudonym = Pseudonymizer(tenant_a).pseudonym("ann@alpha.test")
    target = reverse("api-discovery-resolve")
    why = "Incident 4711: data exfiltration investigation"
    missing = as_sam.post(target, {"direction": "from", "value": pseudonym}, format="json")
    assert missing.status_code == 400 and "justification" in _details(missing)
    short = as_sam.post(
        target, {"direction": "from", "value": pseudonym, "justification": "because"}, format="json"
    )
    assert short.status_code == 400 and "justification" in _details(short)
    assert not events(tenant_a, "discovery.pseudonym_resolved")
    answer = as_sam.post(
        target, {"direction": "from", "value": pseudonym, "justification": why}, format="json"
    )
    assert answer.json() == {"direction": "from", "value": "ann@alpha.test"}
    back = as_sam.post(
        target, {"direction": "to", "value": "ann@alpha.test", "justification": why}, format="json"
    )
    assert back.json()["value"] == pseudonym
    bad = as_sam.post(
        target, {"direction": "from", "value": "anon-abc", "justification": why}, format="json"
    )
    assert bad.status_code == 400 and "value" in _details(bad)
    (resolved,) = events(tenant_a, "discovery.pseudonym_resolved")
    assert resolved.details["justification"] == why
    assert "ann@alpha.test" not in str(resolved.details) and "token" in resolved.actor_label


def test_charlie_sees_nothing_of_a(as_charlie, tenant_a):
    app = custom_app(tenant_a, "Alpha LOB", ["lob.alpha.test"], tag="unsanctioned")
    with tenant_context(tenant_a):
        tag = manage.create_tag(name="Alpha secret tag", actor="t")
        manage.tag_app(app=app.key, tag=tag, actor="t")
        manage.set_override(app=app.key, score=2, note="alpha note", actor="t")
    secrets = ("Alpha LOB", "lob.alpha.test", "Alpha secret tag", "alpha note", app.key)
    for target in (
        reverse("api-discovery-tags-list"),
        reverse("api-discovery-custom-apps-list"),
        reverse("api-discovery-settings"),
        reverse("api-discovery-block-script") + "?appliance=plain",
        reverse("api-discovery-app-tags", args=["dropbox"]),
    ):
        response = as_charlie.get(target)
        assert response.status_code == 200, target
        assert not any(secret in response.content.decode() for secret in secrets), target
    for target in (
        reverse("api-discovery-tags-detail", args=[tag.pk]),
        reverse("api-discovery-custom-apps-detail", args=[app.pk]),
        reverse("api-discovery-app-tags", args=[app.key]),
        reverse("api-discovery-override", args=[app.key]),
    ):
        assert as_charlie.get(target).status_code == 404, target
        assert as_charlie.delete(target).status_code in (404, 405), target
    with tenant_context(tenant_a):
        assert AppTagging.objects.filter(app=app.key).count() == 2
        assert AppOverride.objects.filter(app=app.key).exists()
