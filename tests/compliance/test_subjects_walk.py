"""Erasing a person leaves nothing about them in any tenant model of any geo database, and
leaves the other person's rows where they were."""

from __future__ import annotations

import pytest

from apps.compliance import personal, subjects
from apps.compliance.inventory import tenant_models
from apps.compliance.models import SubjectRequest
from apps.tenants.scoping import tenant_context
from tests.compliance import subjects_kit as kit
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"], transaction=False)


def test_every_tenant_model_is_in_the_registry():
    assert personal.unregistered() == []
    labels = {m._meta.label for m in tenant_models()}
    lists = [set(personal.PERSONAL), set(personal.KEPT), set(personal.NOT_PERSONAL)]
    assert sum(len(names) for names in lists) == len(set().union(*lists))  # no label twice
    assert set().union(*lists) == labels


@pytest.mark.parametrize("geo", ["eu", "us"])
def test_erase_walks_every_model(geo, alice):
    tenant = make_tenant(f"Walk {geo}", geo=geo)
    world = kit.seed(tenant)
    before = kit.leftovers(tenant, world.markers)
    assert any("activities.Activity" in hit for hit in before)  # the scan sees the seed
    assert any("discovery.AppUserDay" in hit for hit in before)

    with tenant_context(tenant):
        row = subjects.erase(
            tenant=tenant, actor=alice, query="ZQUUX-okta", reference=f"ticket about {kit.ZED}"
        )

    assert kit.leftovers(tenant, world.markers) == []
    assert kit.surviving(tenant, world.bob_rows) == {}
    counts = row.counts
    assert counts["profile"] == 1 and counts["accounts"] == 2
    assert counts["activities"] == 5  # four seeded, one raised with the alert
    assert counts["alerts_deleted"] == 1 and counts["alerts_redacted"] == 1
    assert counts["memberships"] == 2
    assert counts["governance_redacted"] == 1
    assert counts["detector_state"] == 3
    assert counts["discovery_usage"] == 2 and counts["discovery_ip_usage"] == 1
    assert counts["files"] == 3 and counts["file_matches"] == 2
    with tenant_context(tenant):
        stored = SubjectRequest.objects.get(pk=row.pk)
        assert stored.subject_label == "z***@contoso.test"
        assert stored.reference == "ticket about [erased]"
        assert subjects.check(tenant=tenant, query=kit.ZED.upper()) == [stored]
        # Bob is still whole: his links on the shared alert and his usage.
        from apps.alerts.models import Alert

        shared = Alert.objects.get(title__startswith="Mass download")
        assert "Bob Builder" in shared.title and kit.BOB in shared.description
        assert shared.ips == [kit.BOB_IP]
        assert list(shared.users.all()) == [world.bob]


def test_an_alert_over_several_peoples_activities_is_kept(alice, tenant_a):
    """A tenant-wide alert (no person linked) over Zed's and someone else's activities stays,
    with Zed's activity link gone."""
    from apps.alerts.models import Alert, AlertActivity
    from tests.activities import logdata
    from tests.alerts.alertdata import make_alert

    world = kit.seed(tenant_a)
    app = logdata.app(tenant_a, "Wide")
    alert = make_alert(tenant_a, app=app, person=None, ip="192.0.2.44", title="Tenant-wide")
    with tenant_context(tenant_a):
        from apps.activities.models import Activity

        zed_activity = Activity.objects.filter(user_id=world.zed.pk).first()
        AlertActivity.objects.create(
            alert=alert, activity_id=zed_activity.id, occurred_at=zed_activity.occurred_at
        )
        subjects.erase(tenant=tenant_a, actor=alice, query=kit.ZED, reference="r")
        kept = Alert.objects.get(pk=alert.pk)
        assert AlertActivity.objects.filter(alert=kept).count() == 1  # the other one
    assert kit.leftovers(tenant_a, world.markers) == []


def test_a_model_missing_from_the_registry_is_named(monkeypatch):
    trimmed = dict(personal.NOT_PERSONAL)
    del trimmed["activities.IpRange"]
    monkeypatch.setattr(personal, "NOT_PERSONAL", trimmed)
    assert personal.unregistered() == ["activities.IpRange"]
