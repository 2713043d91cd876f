"""Each creatable template, made into a policy through the service, fires at its documented
threshold and not below, through real ingestion and evaluation (spec 3.9)."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.activities import iprange_services
from apps.activities.models import IpCategory
from apps.alerts import policy_services, policy_templates
from apps.alerts.models import Alert, AlertType
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

from .helpers import evaluate, event, ingest_events

pytestmark = pytest.mark.django_db(databases="__all__")

OFFICE = "10.1.2.3"  # in the Corporate range below
TOR = "185.220.101.7"  # in the Risky range below
ELSEWHERE = "81.2.69.142"  # in no range


@pytest.fixture
def app_a(tenant_a):
    return logdata.app(tenant_a)


@pytest.fixture
def ranges(tenant_a):
    with tenant_context(tenant_a):
        for name, cidr, category in (
            ("Office", "10.1.0.0/16", IpCategory.CORPORATE),
            ("Tor exits", "185.220.101.0/24", IpCategory.RISKY),
        ):
            iprange_services.create_range(
                tenant=tenant_a, actor=None, name=name, cidrs=[cidr], category=category
            )


def from_template(tenant, key: str):
    values = policy_templates.template(key).values()
    with tenant_context(tenant):  # as the form does: a detection may share the template's name
        values["name"] = policy_services.free_name(values["name"])
    return policy_services.create_policy(tenant=tenant, actor=None, **values)


def titles(tenant) -> list[str]:
    """Titles of the alerts activity policies raised (the built-in detections run too)."""
    with tenant_context(tenant):
        alerts = Alert.objects.filter(alert_type=AlertType.ACTIVITY_POLICY).order_by("number")
        return [title.removesuffix(" (2)") for title in alerts.values_list("title", flat=True)]


def run(tenant, app_instance, events) -> list[str]:
    ingest_events(tenant, app_instance, events)
    evaluate(tenant)
    return titles(tenant)


def test_the_catalogue_is_honest():
    keys = {t.key for t in policy_templates.creatable()}
    assert keys == {
        "admin_activity_non_corporate_ip",
        "logon_risky_ip",
        "mass_download_single_user",
        "multiple_failed_signins",
        "potential_ransomware",
    }
    waiting = [t for t in policy_templates.TEMPLATES if not t.available]
    assert len(waiting) == 16
    assert {t.needs for t in waiting} == {
        "Cloud Discovery",
        "file monitoring and content inspection",
    }


def test_every_creatable_template_makes_a_valid_policy(tenant_a):
    for found in policy_templates.creatable():
        policy = from_template(tenant_a, found.key)
        assert policy.template == found.key and policy.name.startswith(found.name)


def test_mass_download_fires_above_50_in_a_minute(tenant_a, app_a):
    from_template(tenant_a, "mass_download_single_user")
    start = logdata.base_time()
    # 50 downloads by Ann within 50 seconds, and one by Bob: nothing.
    downloads = [event(start + dt.timedelta(seconds=i)) for i in range(50)]
    assert run(tenant_a, app_a, [*downloads, event(start, actor="bob@a.example")]) == []
    # Uploads do not count.
    late = start + dt.timedelta(seconds=55)
    assert run(tenant_a, app_a, [event(late, activity_type="upload")]) == []
    # The 51st download within the minute (another batch) fires.
    assert run(tenant_a, app_a, [event(late)]) == ["Mass download by a single user"]


def test_mass_download_spread_over_more_than_a_minute_does_not_fire(tenant_a, app_a):
    from_template(tenant_a, "mass_download_single_user")
    start = logdata.base_time()
    downloads = [event(start + dt.timedelta(seconds=2 * i)) for i in range(60)]  # 2 minutes
    assert run(tenant_a, app_a, downloads) == []


def test_failed_signins_fire_above_10_in_5_minutes_in_one_app(tenant_a, app_a):
    other_app = logdata.app(tenant_a, name="Other app")
    from_template(tenant_a, "multiple_failed_signins")
    start = logdata.base_time()

    def failed(i, **fields):
        values = {"activity_type": "failed_login", "succeeded": False, **fields}
        return event(start + dt.timedelta(seconds=20 * i), action_type="UserLoginFailed", **values)

    # Ten failures in one app and five in another, within 5 minutes: nothing.
    assert run(tenant_a, app_a, [failed(i) for i in range(10)]) == []
    assert run(tenant_a, other_app, [failed(i) for i in range(5)]) == []
    # Successful sign-ins do not count.
    assert run(tenant_a, app_a, [failed(10, activity_type="login", succeeded=True)]) == []
    # The 11th failure in the same app fires.
    assert run(tenant_a, app_a, [failed(11)]) == ["Multiple failed user sign-in attempts to an app"]


def test_admin_activity_outside_corporate_ranges_fires(tenant_a, app_a, ranges):
    from_template(tenant_a, "admin_activity_non_corporate_ip")
    now = logdata.base_time()
    admin = {"action_type": "Set-Mailbox", "activity_type": "admin", "is_admin": True}
    quiet = [
        event(now, ip=OFFICE, **admin),  # from the office
        event(now, ip=ELSEWHERE),  # not administrative
    ]
    assert run(tenant_a, app_a, quiet) == []
    assert run(tenant_a, app_a, [event(now, ip=ELSEWHERE, **admin)]) == [
        "Administrative activity from a non-corporate IP address"
    ]
    assert (
        run(tenant_a, app_a, [event(now, actor="eve@a.example", ip=TOR, **admin)])
        == ["Administrative activity from a non-corporate IP address"] * 2
    )


def test_logon_from_a_risky_address_fires(tenant_a, app_a, ranges):
    from_template(tenant_a, "logon_risky_ip")
    now = logdata.base_time()
    login = {"action_type": "UserLoggedIn", "activity_type": "login"}
    quiet = [
        event(now, ip=ELSEWHERE, **login),
        event(now, ip=OFFICE, **login),
        event(now, ip=TOR),  # a download, not a sign-in
    ]
    assert run(tenant_a, app_a, quiet) == []
    assert run(tenant_a, app_a, [event(now, ip=TOR, **login)]) == ["Log on from a risky IP address"]


def test_uploads_with_ransomware_extensions_fire(tenant_a, app_a):
    from_template(tenant_a, "potential_ransomware")
    now = logdata.base_time()
    upload = {"action_type": "FileUploaded", "activity_type": "upload"}
    quiet = [
        event(now, object_name="budget.xlsx", **upload),
        event(now, object_name="lockyer-notes.docx.bak", **upload),  # not the word "locky"
        event(now, object_name="budget.xlsx.locky"),  # a download of one
    ]
    assert run(tenant_a, app_a, quiet) == []
    assert run(tenant_a, app_a, [event(now, object_name="Budget.xlsx.LOCKY", **upload)]) == [
        "Potential ransomware activity"
    ]
    assert (
        run(tenant_a, app_a, [event(now, actor="bob@a.example", object_name="a.wncry", **upload)])
        == ["Potential ransomware activity"] * 2
    )
