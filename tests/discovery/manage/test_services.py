"""Services of discovery management: tags and their mutual exclusion, bulk tagging, overrides,
the score metric, the anonymisation default and custom apps (validation, audit)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.discovery import selectors_manage as selectors
from apps.discovery import services_custom_apps as custom_apps
from apps.discovery import services_manage as manage
from apps.discovery.catalog.scoring import Weights, score
from apps.discovery.models import AppOverride, AppTag, AppTagging, CustomApp, TagKind
from apps.discovery.services import DiscoveryRefused, settings_for_tenant
from apps.tenants.scoping import tenant_context

from .helpers import custom_app, events

pytestmark = pytest.mark.django_db


@pytest.fixture
def a(tenant_a):
    with tenant_context(tenant_a):
        yield tenant_a


def _tags(app: str) -> set[str]:
    return set(AppTagging.objects.filter(app=app).values_list("tag__name", flat=True))


def test_builtin_tags_are_made_once_per_tenant(a, tenant_b):
    manage.ensure_builtin_tags()
    manage.ensure_builtin_tags()
    kinds = sorted(AppTag.objects.values_list("kind", flat=True))
    assert kinds == ["monitored", "sanctioned", "unsanctioned"]
    assert manage.builtin_tag(TagKind.SANCTIONED).name == "Sanctioned"
    with tenant_context(tenant_b):
        assert not AppTag.objects.exists()


def test_custom_tag_crud_and_builtins_protected(a):
    tag = manage.create_tag(name="  Approved   by legal ", actor="t")
    assert tag.name == "Approved by legal" and tag.kind == TagKind.CUSTOM
    with pytest.raises(DiscoveryRefused) as exc:
        manage.create_tag(name="approved BY legal", actor="t")
    assert exc.value.field == "name"
    for reserved in ("sanctioned", "Monitored", ""):
        with pytest.raises(DiscoveryRefused):
            manage.create_tag(name=reserved, actor="t")
    manage.rename_tag(tag=tag, name="Legal OK", actor="t")
    assert AppTag.objects.get(pk=tag.pk).name == "Legal OK"
    builtin = manage.builtin_tag(TagKind.UNSANCTIONED)
    for call in (
        lambda: manage.rename_tag(tag=builtin, name="x", actor="t"),
        lambda: manage.delete_tag(tag=builtin, actor="t"),
    ):
        with pytest.raises(DiscoveryRefused):
            call()
    manage.tag_app(app="dropbox", tag=tag, actor="t")
    manage.delete_tag(tag=tag, actor="t")
    assert not AppTagging.objects.filter(app="dropbox").exists()
    assert [e.details["name"] for e in events(a, "discovery.tag_deleted")] == ["Legal OK"]
    assert AppTag.objects.filter(pk=builtin.pk).exists()


def test_sanctioned_and_unsanctioned_exclude_each_other(a):
    sanctioned = manage.builtin_tag(TagKind.SANCTIONED)
    unsanctioned = manage.builtin_tag(TagKind.UNSANCTIONED)
    monitored = manage.builtin_tag(TagKind.MONITORED)
    assert manage.tag_app(app="dropbox", tag=sanctioned, actor="t") is True
    assert manage.tag_app(app="dropbox", tag=sanctioned, actor="t") is False
    manage.tag_app(app="dropbox", tag=monitored, actor="t")
    assert _tags("dropbox") == {"Sanctioned", "Monitored"}
    manage.tag_app(app="dropbox", tag=unsanctioned, actor="t")
    assert _tags("dropbox") == {"Unsanctioned", "Monitored"}
    manage.tag_app(app="dropbox", tag=sanctioned, actor="t")
    assert _tags("dropbox") == {"Sanctioned", "Monitored"}
    tagged = events(a, "discovery.app_tagged")
    assert len(tagged) == 4  # the no-op second "sanctioned" is not recorded
    assert tagged[-1].details == {
        "app": "dropbox",
        "tag": "Sanctioned",
        "replaced": ["Unsanctioned"],
    }
    assert manage.untag_app(app="dropbox", tag=monitored, actor="t") is True
    assert manage.untag_app(app="dropbox", tag=monitored, actor="t") is False
    assert _tags("dropbox") == {"Sanctioned"}
    assert len(events(a, "discovery.app_untagged")) == 1


def test_unknown_app_is_a_field_error(a, tenant_b):
    tag = manage.builtin_tag(TagKind.MONITORED)
    for key in ("no-such-app", "custom-nonsense", "custom-00000000-0000-0000-0000-000000000000"):
        with pytest.raises(DiscoveryRefused) as exc:
            manage.tag_app(app=key, tag=tag, actor="t")
        assert exc.value.field == "app"
    foreign = custom_app(tenant_b, "Bravo LOB", ["lob.bravo.test"])
    with pytest.raises(DiscoveryRefused):
        manage.tag_app(app=foreign.key, tag=tag, actor="t")
    assert not AppTagging.objects.exists()


def test_custom_app_keys_can_be_tagged(a):
    app = custom_app(a, "Intranet", ["intranet.alpha.test"], tag="unsanctioned")
    assert _tags(app.key) == {"Unsanctioned"}
    assert manage.app_ref(app.key).name == "Intranet"


def test_bulk_tag_is_all_or_nothing(a):
    tag = manage.create_tag(name="Watch list", actor="t")
    manage.tag_app(app="box", tag=tag, actor="t")
    with pytest.raises(DiscoveryRefused) as exc:
        manage.tag_apps(apps=["dropbox", "nope-app"], tag=tag, actor="t")
    assert exc.value.field == "apps"
    assert not AppTagging.objects.filter(app="dropbox").exists()
    assert manage.tag_apps(apps=["dropbox", "box", "dropbox", " "], tag=tag, actor="t") == 1
    assert set(AppTagging.objects.filter(tag=tag).values_list("app", flat=True)) == {
        "dropbox",
        "box",
    }
    with pytest.raises(DiscoveryRefused):
        manage.tag_apps(apps=[], tag=tag, actor="t")
    unsanctioned = manage.builtin_tag(TagKind.UNSANCTIONED)
    manage.tag_app(app="slack", tag=manage.builtin_tag(TagKind.SANCTIONED), actor="t")
    manage.tag_apps(apps=["slack", "mega"], tag=unsanctioned, actor="t")
    assert _tags("slack") == {"Unsanctioned"}
    (event,) = events(a, "discovery.apps_tagged")[-1:]
    assert event.details["apps"] == ["slack", "mega"]


def test_override_set_round_and_clear(a):
    override = manage.set_override(app="mega", score="7.25", note=" legal said ok ", actor="t")
    assert override.score == Decimal("7.3") and override.note == "legal said ok"
    manage.set_override(app="mega", score=3, actor="t")
    assert AppOverride.objects.get(app="mega").score == Decimal("3.0")
    for bad in ("11", "-1", "abc", "NaN", ""):
        with pytest.raises(DiscoveryRefused) as exc:
            manage.set_override(app="mega", score=bad, actor="t")
        assert exc.value.field == "score"
    assert manage.clear_override(app="mega", actor="t") is True
    assert manage.clear_override(app="mega", actor="t") is False
    assert not AppOverride.objects.exists()
    assert [e.details["score"] for e in events(a, "discovery.score_overridden")] == ["7.3", "3.0"]
    assert len(events(a, "discovery.score_override_cleared")) == 1
    # The override replaces the computed score.
    assert score({"mfa": True}, override=Decimal("3.0")).total == 3.0


def test_score_metric_changes_the_computed_score(a):
    attributes = {"mfa": True, "saml": False, "soc2": True}
    assert score(attributes, Weights.of(settings_for_tenant())).total == 7.5  # (5 + 10) / 2
    manage.update_score_metric(
        actor="t",
        group_weights={"security": 4, "compliance": 1},
        attribute_weights={"saml": 0},
    )
    row = settings_for_tenant()
    assert row.group_weights == {"security": 4, "compliance": 1}
    assert row.attribute_weights == {"saml": 0}
    assert score(attributes, Weights.of(row)).total == 10.0  # saml ignored
    manage.update_score_metric(actor="t", attribute_weights={}, na_negative=True)
    row = settings_for_tenant()
    # Every unknown attribute now counts as 0: the score falls.
    assert score(attributes, Weights.of(row)).total < 7.5
    (first, second) = events(a, "discovery.score_metric_changed")
    assert first.details["group_weights"] == {"security": 4, "compliance": 1}
    assert second.details == {"attribute_weights": {}, "na_negative": True}
    manage.update_score_metric(actor="t", na_negative=True)  # no change, no record
    assert len(events(a, "discovery.score_metric_changed")) == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"group_weights": {"bogus": 1}}, "group_weights"),
        ({"group_weights": {"general": 5}}, "group_weights"),
        ({"group_weights": {"general": True}}, "group_weights"),
        (
            {"group_weights": dict.fromkeys(("general", "security", "compliance", "legal"), 0)},
            "group_weights",
        ),
        ({"attribute_weights": {"headquarters": 1}}, "attribute_weights"),  # not scored
        ({"attribute_weights": []}, "attribute_weights"),
    ],
)
def test_score_metric_refuses_bad_levels(a, kwargs, field):
    with pytest.raises(DiscoveryRefused) as exc:
        manage.update_score_metric(actor="t", **kwargs)
    assert exc.value.field == field
    assert settings_for_tenant().group_weights == {}


def test_anonymize_default(a):
    manage.set_anonymize_default(enabled=True, actor="t")
    manage.set_anonymize_default(enabled=True, actor="t")
    assert settings_for_tenant().anonymize_by_default is True
    assert len(events(a, "discovery.anonymize_default_changed")) == 1


def test_custom_app_domains_are_validated(a):
    app = custom_apps.create_custom_app(
        name="HR portal",
        category="human_resource_management",
        domains="HR.Alpha.test, hr-files.alpha.test\n192.0.2.7 hr.alpha.test.",
        actor="t",
    )
    assert app.domains == ["hr.alpha.test", "hr-files.alpha.test", "192.0.2.7"]
    for bad in (
        ["evil.test\nhttp_access allow all"],
        ['evil.test" ; rm'],
        ["*.evil.test"],
        ["localhost"],
        ["under_score.test"],
        ["-bad.test"],
        ["1.2.3.999"],
        ["http://evil.test/"],
        [],
    ):
        with pytest.raises(DiscoveryRefused) as exc:
            custom_apps.create_custom_app(name=f"Bad {bad!r}", domains=bad, actor="t")
        assert exc.value.field == "domains"
    with pytest.raises(DiscoveryRefused) as exc:
        custom_apps.create_custom_app(name="Other", domains=["hr.alpha.test"], actor="t")
    assert exc.value.field == "domains" and "HR portal" in str(exc.value)
    with pytest.raises(DiscoveryRefused) as exc:
        custom_apps.create_custom_app(name="hr PORTAL", domains=["x.alpha.test"], actor="t")
    assert exc.value.field == "name"
    with pytest.raises(DiscoveryRefused) as exc:
        custom_apps.create_custom_app(name="Cat", category="nope", domains=["c.test"], actor="t")
    assert exc.value.field == "category"
    assert CustomApp.objects.count() == 1


def test_custom_app_update_and_delete(a):
    app = custom_app(a, "Wiki", ["wiki.alpha.test"], tag="sanctioned")
    manage.set_override(app=app.key, score=9, actor="t")
    custom_apps.update_custom_app(
        app=app, domains=["wiki.alpha.test", "docs.alpha.test"], actor="t"
    )
    assert CustomApp.objects.get(pk=app.pk).domains == ["wiki.alpha.test", "docs.alpha.test"]
    (changed,) = events(a, "discovery.custom_app_changed")
    assert changed.details["to"] == {"domains": ["wiki.alpha.test", "docs.alpha.test"]}
    custom_apps.update_custom_app(app=app, name="Wiki", actor="t")  # nothing changes
    assert len(events(a, "discovery.custom_app_changed")) == 1
    custom_apps.delete_custom_app(app=app, actor="t")
    assert not AppTagging.objects.filter(app=app.key).exists()
    assert not AppOverride.objects.filter(app=app.key).exists()
    assert events(a, "discovery.custom_app_deleted")[0].details["name"] == "Wiki"


def test_custom_app_domains_drive_matching(a):
    from apps.discovery.pipeline import matcher_for_tenant

    app = custom_app(a, "Our Dropbox mirror", ["files.dropbox.com"])
    matcher = matcher_for_tenant()
    assert matcher.match("eu.files.dropbox.com") == (app.key, "files.dropbox.com")
    assert matcher.match("www.dropbox.com")[0] == "dropbox"


def test_reads_for_tables(a, django_assert_max_num_queries):
    from apps.discovery.catalog import apps as catalog_apps

    lob = custom_app(a, "LOB", ["lob.alpha.test"], tag="monitored")
    manage.tag_app(app="dropbox", tag=manage.builtin_tag(TagKind.SANCTIONED), actor="t")
    manage.set_override(app=lob.key, score="2.5", actor="t")
    manage.update_score_metric(actor="t", group_weights={"general": 0})
    keys = ["dropbox", "box", lob.key]
    with django_assert_max_num_queries(1):
        tags = selectors.tags_by_app(keys)
    assert [t.name for t in tags["dropbox"]] == ["Sanctioned"] and tags["box"] == []
    assert [t.name for t in tags[lob.key]] == ["Monitored"]
    with django_assert_max_num_queries(2):
        scores = selectors.scores_for(keys)
    weights = Weights(groups={"general": 0}, attributes={})
    assert scores["box"].total == score(catalog_apps()["box"].attributes, weights).total
    assert scores[lob.key].total == 2.5 and scores[lob.key].overridden
