"""Console pages of discovery management: who may do what, what each page shows, the app
actions partial, the resolver (shown once, audited with its justification), and charlie
(tenant B) who sees nothing of A's."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from apps.discovery import selectors_manage as selectors
from apps.discovery import services_manage as manage
from apps.discovery.anonymize import Pseudonymizer
from apps.discovery.models import AppOverride, AppTag, AppTagging, CustomApp, TagKind
from apps.discovery.services import settings_for_tenant
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context

from .helpers import custom_app, events

pytestmark = pytest.mark.django_db


def url(tenant, name: str, *args) -> str:
    return reverse(f"discovery:{name}", args=[tenant.slug, *args])


PAGES = ("tags", "block_script", "score_metric", "custom_apps", "anonymization")


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_for_a_reader_without_write_controls(client, rita, tenant_a, page):
    custom_app(tenant_a, "Alpha LOB", ["lob.alpha.test"], tag="unsanctioned")
    client.force_login(rita)
    response = client.get(url(tenant_a, page))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('method="post"') == 1  # only "sign out"
    assert 'href="/t/' in body  # the tab bar and sub-navigation


@pytest.mark.parametrize("page", PAGES)
def test_charlie_gets_404_everywhere(client, charlie, tenant_a, page):
    custom_app(tenant_a, "Alpha LOB", ["lob.alpha.test"], tag="unsanctioned")
    client.force_login(charlie)
    assert client.get(url(tenant_a, page)).status_code == 404


def test_charlie_sees_nothing_of_a_in_his_tenant(client, charlie, tenant_a, tenant_b):
    app = custom_app(tenant_a, "Alpha LOB", ["lob.alpha.test"], tag="unsanctioned")
    with tenant_context(tenant_a):
        manage.create_tag(name="Alpha secret tag", actor="t")
        manage.set_override(app="mega", score=1, note="alpha note", actor="t")
    client.force_login(charlie)
    for page in PAGES:
        body = client.get(url(tenant_b, page)).content.decode()
        for secret in ("Alpha LOB", "lob.alpha.test", "Alpha secret tag", "alpha note", app.key):
            assert secret not in body, (page, secret)
    post = client.post(url(tenant_b, "app_tag", app.key), {"kind": "sanctioned"})
    assert post.status_code == 404
    edit = client.get(reverse("discovery:custom_app_edit", args=[tenant_b.slug, app.pk]))
    assert edit.status_code == 404


def test_reader_cannot_write(client, rita, tenant_a):
    app = custom_app(tenant_a, "Alpha LOB", ["lob.alpha.test"])
    client.force_login(rita)
    posts = [
        (url(tenant_a, "tags"), {"name": "x"}),
        (url(tenant_a, "tag_rename", manage_builtin(tenant_a, "monitored").pk), {"name": "x"}),
        (url(tenant_a, "app_tag", "dropbox"), {"kind": "sanctioned"}),
        (url(tenant_a, "bulk_tag"), {"apps": "dropbox", "kind": "sanctioned"}),
        (url(tenant_a, "app_override", "dropbox"), {"score": "5"}),
        (url(tenant_a, "score_metric"), {"group_general": "4"}),
        (url(tenant_a, "custom_apps"), {"name": "n", "category": "crm", "domains": "n.test"}),
        (url(tenant_a, "custom_app_delete", app.pk), {}),
        (url(tenant_a, "anonymization"), {"anonymize_by_default": "on"}),
        (url(tenant_a, "anonymization_resolve"), {}),
    ]
    for target, data in posts:
        assert client.post(target, data).status_code == 403, target
    with tenant_context(tenant_a):
        assert not AppTagging.objects.exists() and not AppOverride.objects.exists()
        assert CustomApp.objects.count() == 1


def test_tags_page_create_delete_and_counts(client, sam, tenant_a, django_assert_max_num_queries):
    client.force_login(sam)
    response = client.post(url(tenant_a, "tags"), {"name": "Approved by legal"})
    assert response.status_code == 302
    assert client.post(url(tenant_a, "tags"), {"name": "sanctioned"}).status_code == 400
    with tenant_context(tenant_a):
        tag = AppTag.objects.get(name="Approved by legal")
        manage.tag_apps(apps=["dropbox", "box"], tag=tag, actor="t")
    client.get(url(tenant_a, "tags"))  # the first visit makes the built-in tags
    with django_assert_max_num_queries(12) as few:
        body = client.get(url(tenant_a, "tags")).content.decode()
    assert "Approved by legal" in body and "Unsanctioned" in body
    with tenant_context(tenant_a):
        for n in range(15):
            extra = manage.create_tag(name=f"Extra {n}", actor="t")
            manage.tag_app(app="slack", tag=extra, actor="t")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url(tenant_a, "tags"))
    client.post(url(tenant_a, "tag_rename", tag.pk), {"name": "Legal OK"})
    builtin = manage_builtin(tenant_a, TagKind.SANCTIONED)
    client.post(url(tenant_a, "tag_rename", builtin.pk), {"name": "Allowed"})
    with tenant_context(tenant_a):
        assert set(AppTag.objects.values_list("name", flat=True)) >= {"Legal OK", "Sanctioned"}
    client.post(url(tenant_a, "tag_delete", builtin.pk))
    with tenant_context(tenant_a):
        assert AppTag.objects.filter(pk=builtin.pk).exists()
    client.post(url(tenant_a, "tag_delete", tag.pk))
    with tenant_context(tenant_a):
        assert not AppTag.objects.filter(pk=tag.pk).exists()


def manage_builtin(tenant, kind):
    with tenant_context(tenant):
        return manage.builtin_tag(kind)


def test_app_tag_posts_and_safe_redirects(client, sam, tenant_a):
    client.force_login(sam)
    target = url(tenant_a, "app_tag", "dropbox")
    back = f"/t/{tenant_a.slug}/discovery/?period=30"
    response = client.post(target, {"kind": "sanctioned", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    response = client.post(target, {"kind": "unsanctioned", "next": "https://evil.test/"})
    assert response["Location"] == url(tenant_a, "tags")
    response = client.post(target, {"kind": "monitored", "next": "/t/other-tenant/"})
    assert response["Location"] == url(tenant_a, "tags")
    with tenant_context(tenant_a):
        names = set(AppTagging.objects.filter(app="dropbox").values_list("tag__name", flat=True))
        monitored = AppTag.objects.get(kind=TagKind.MONITORED)
    assert names == {"Unsanctioned", "Monitored"}
    client.post(target, {"op": "remove", "tag": str(monitored.pk)})
    with tenant_context(tenant_a):
        assert AppTagging.objects.filter(app="dropbox").count() == 1
    assert (
        client.post(url(tenant_a, "app_tag", "no-such-app"), {"kind": "sanctioned"}).status_code
        == 404
    )
    response = client.post(target, {})
    assert "Choose a tag" in " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_bulk_tag(client, sam, tenant_a):
    client.force_login(sam)
    response = client.post(
        url(tenant_a, "bulk_tag"), {"apps": ["dropbox", "box"], "kind": "unsanctioned"}
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert set(selectors.apps_with_kind(TagKind.UNSANCTIONED)) == {"dropbox", "box"}
    client.post(url(tenant_a, "bulk_tag"), {"apps": "slack, nope-app", "kind": "unsanctioned"})
    with tenant_context(tenant_a):
        assert "slack" not in selectors.apps_with_kind(TagKind.UNSANCTIONED)


def test_override_set_and_clear(client, sam, tenant_a):
    client.force_login(sam)
    target = url(tenant_a, "app_override", "mega")
    client.post(target, {"score": "8.4", "note": "reviewed"})
    with tenant_context(tenant_a):
        assert str(AppOverride.objects.get(app="mega").score) == "8.4"
    client.post(target, {"score": "12"})
    with tenant_context(tenant_a):
        assert str(AppOverride.objects.get(app="mega").score) == "8.4"
    body = client.get(url(tenant_a, "score_metric")).content.decode()
    assert "MEGA" in body and "reviewed" in body
    client.post(target, {"clear": "1"})
    with tenant_context(tenant_a):
        assert not AppOverride.objects.exists()


def _metric_form(**overrides) -> dict:
    from apps.discovery.catalog.attributes import GROUPS, SCORED

    data = {f"group_{g}": "2" for g in GROUPS}
    data.update({f"attr_{a.key}": "2" for a in SCORED})
    data.update(overrides)
    return data


def test_score_metric_preview_and_save(client, sam, tenant_a):
    from apps.discovery.catalog import apps as catalog_apps
    from apps.discovery.catalog.scoring import Weights, score

    client.force_login(sam)
    form = _metric_form(group_general="0", group_compliance="0", group_legal="0", attr_saml="0")
    proposed = Weights(
        groups={"general": 0, "security": 2, "compliance": 0, "legal": 0},
        attributes={"saml": 0},
    )
    expected = score(catalog_apps()["mega"].attributes, proposed).total
    preview = client.post(url(tenant_a, "score_metric"), {**form, "preview": "1"})
    assert preview.status_code == 200 and preview.context["previewing"]
    rows = {row["app"].slug: row for row in preview.context["preview"]}
    assert rows["mega"]["proposed"] == expected
    assert rows["mega"]["current"] == rows["mega"]["default"]
    with tenant_context(tenant_a):
        assert settings_for_tenant().group_weights == {}
    assert client.post(url(tenant_a, "score_metric"), form).status_code == 302
    with tenant_context(tenant_a):
        row = settings_for_tenant()
    assert row.group_weights == {"general": 0, "compliance": 0, "legal": 0}
    assert row.attribute_weights == {"saml": 0}
    page = client.get(url(tenant_a, "score_metric"))
    rows = {row["app"].slug: row for row in page.context["preview"]}
    assert rows["mega"]["current"] == expected
    bad = _metric_form(group_general="0", group_security="0", group_compliance="0", group_legal="0")
    assert client.post(url(tenant_a, "score_metric"), bad).status_code == 400
    assert client.post(url(tenant_a, "score_metric"), {"group_general": "9"}).status_code == 400


def test_custom_apps_pages(client, sam, tenant_a, django_assert_max_num_queries):
    client.force_login(sam)
    data = {
        "name": "HR portal",
        "category": "human_resource_management",
        "domains": "hr.alpha.test",
    }
    assert client.post(url(tenant_a, "custom_apps"), data).status_code == 302
    bad = client.post(
        url(tenant_a, "custom_apps"),
        {"name": "Evil", "category": "crm", "domains": "evil.test\nhttp_access allow all"},
    )
    assert bad.status_code == 400 and bad.context["form"].errors["domains"]
    clash = client.post(url(tenant_a, "custom_apps"), {**data, "name": "Other"})
    assert clash.status_code == 400 and "HR portal" in str(clash.context["form"].errors["domains"])
    with django_assert_max_num_queries(10) as few:
        body = client.get(url(tenant_a, "custom_apps")).content.decode()
    assert "hr.alpha.test" in body
    assert "uploads from now on" in body
    for n in range(10):
        custom_app(tenant_a, f"LOB {n}", [f"lob{n}.alpha.test"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url(tenant_a, "custom_apps"))
    with tenant_context(tenant_a):
        app = CustomApp.objects.get(name="HR portal")
    edit = url(tenant_a, "custom_app_edit", app.pk)
    assert client.get(edit).status_code == 200
    response = client.post(edit, {**data, "domains": "hr.alpha.test\nhr2.alpha.test"})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert CustomApp.objects.get(pk=app.pk).domains == ["hr.alpha.test", "hr2.alpha.test"]
    client.post(url(tenant_a, "custom_app_delete", app.pk))
    with tenant_context(tenant_a):
        assert not CustomApp.objects.filter(pk=app.pk).exists()


def test_block_script_page_and_download(client, rita, tenant_a):
    custom_app(tenant_a, "Shadow", ["shadow.test", "login.microsoftonline.com"], tag="unsanctioned")
    client.force_login(rita)
    page = client.get(url(tenant_a, "block_script"))
    assert page.context["blocklist"].domains == ["shadow.test"]
    body = page.content.decode()
    assert "login.microsoftonline.com" in body
    assert "<strong>1</strong> domain." in body and "<code>shadow.test</code>" in body
    response = client.get(url(tenant_a, "block_script_download"), {"appliance": "bluecoat"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].endswith('_CAS_BlueCoat_block_script.txt"')
    assert response.content.decode() == "<Proxy>\nurl.domain=shadow.test deny\n"
    assert len(events(tenant_a, "discovery.block_script_generated")) == 1
    bad = client.get(url(tenant_a, "block_script_download"), {"appliance": "nope"})
    assert bad.status_code == 302


def test_anonymization_default(client, sam, tenant_a):
    client.force_login(sam)
    client.post(url(tenant_a, "anonymization"), {"anonymize_by_default": "on"})
    with tenant_context(tenant_a):
        assert settings_for_tenant().anonymize_by_default is True
    client.post(url(tenant_a, "anonymization"), {})
    with tenant_context(tenant_a):
        assert settings_for_tenant().anonymize_by_default is False


def _pseudonym(tenant, name: str) -> str:
    with tenant_context(tenant):
        return Pseudonymizer(tenant).pseudonym(name)


def test_resolve_shows_once_and_audits_justification(client, sam, alice, tenant_a):
    pseudonym = _pseudonym(tenant_a, "ann@alpha.test")
    client.force_login(sam)
    target = url(tenant_a, "anonymization_resolve")
    refused = client.post(target, {"direction": "from", "value": pseudonym, "justification": "x"})
    assert refused.status_code == 400 and "ann@alpha.test" not in refused.content.decode()
    assert not events(tenant_a, "discovery.pseudonym_resolved")
    why = "Incident 4711: data exfiltration investigation"
    response = client.post(target, {"direction": "from", "value": pseudonym, "justification": why})
    assert response.status_code == 200
    assert "ann@alpha.test" in response.content.decode()
    assert "no-store" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    assert "ann@alpha.test" not in client.get(url(tenant_a, "anonymization")).content.decode()
    (event,) = events(tenant_a, "discovery.pseudonym_resolved")
    assert event.details["justification"] == why
    assert "ann@alpha.test" not in str(event.details) and event.actor_label == sam.username
    found = client.post(
        target, {"direction": "to", "value": "Ann@Alpha.test", "justification": why}
    )
    assert pseudonym in found.content.decode()
    (looked_up,) = events(tenant_a, "discovery.pseudonym_looked_up")
    assert "ann@alpha.test" not in str(looked_up.details).lower()
    bad = client.post(target, {"direction": "from", "value": "anon-zzzz", "justification": why})
    assert bad.status_code == 400 and bad.context["resolve_form"].errors["value"]
    # Global admins see the recent resolutions (pseudonym and justification, never the name).
    assert "resolutions" not in client.get(url(tenant_a, "anonymization")).context
    client.force_login(alice)
    page = client.get(url(tenant_a, "anonymization"))
    assert len(page.context["resolutions"]) == 2
    body = page.content.decode()
    assert why in body and "ann@alpha.test" not in body


def test_resolve_of_another_tenants_pseudonym_fails(client, sam, tenant_a, tenant_b):
    foreign = _pseudonym(tenant_b, "bert@bravo.test")
    client.force_login(sam)
    response = client.post(
        url(tenant_a, "anonymization_resolve"),
        {"direction": "from", "value": foreign, "justification": "Checking a foreign pseudonym"},
    )
    assert response.status_code == 400 and "bert@bravo.test" not in response.content.decode()
    with tenant_context(tenant_a):
        assert not AuditEvent.objects.filter(action="discovery.pseudonym_resolved").exists()


def _partial(tenant, user_actions: set, **context) -> str:
    request = RequestFactory().get(f"/t/{tenant.slug}/discovery/apps/x/")
    can = {name: True for name in user_actions}
    with tenant_context(tenant):
        return render_to_string(
            "discovery/manage/inc/app_actions.html",
            {"tenant": tenant, "can": can, **context},
            request=request,
        )


def test_app_actions_partial(tenant_a):
    with tenant_context(tenant_a):
        manage.tag_app(app="mega", tag=manage.builtin_tag("monitored"), actor="t")
        tags = selectors.tags_of("mega")
        custom = manage.create_tag(name="Watch list", actor="t")
        override = manage.set_override(app="mega", score=4, note="n", actor="t")
    html = _partial(
        tenant_a,
        {"manage_discovery"},
        app_key="mega",
        tags=tags,
        custom_tags=[custom],
        override=override,
    )
    assert url(tenant_a, "app_tag", "mega") in html
    assert url(tenant_a, "app_override", "mega") in html
    for text in (
        "Sanction",
        "Unsanction",
        "Monitor",
        "Watch list",
        "Monitored \u00d7",
        "Clear override",
    ):
        assert text in html
    assert 'name="next"' in html and "csrfmiddlewaretoken" in html
    assert _partial(tenant_a, {"view"}, app_key="mega").strip() == ""


def test_resolve_link_prefills_the_pseudonym_without_resolving(client, sam, tenant_a):
    from django.urls import reverse

    from apps.tenants.models import AuditEvent
    from apps.tenants.scoping import tenant_context

    client.force_login(sam)
    url = reverse("discovery:anonymization", args=[tenant_a.slug])
    page = client.get(url, {"direction": "from", "value": "anon-abc"}).content.decode()
    assert 'value="anon-abc"' in page
    with tenant_context(tenant_a):
        assert not AuditEvent.objects.filter(action="discovery.pseudonym_resolved").exists()
