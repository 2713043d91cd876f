"""Policies console: lists, create (blank, from a template), preview, edit, switch, delete,
detection settings; readers read only; another tenant's admin gets 404 everywhere."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.urls import reverse

from apps.alerts import policy_services
from apps.alerts.models import Policy, PolicyDay, PolicyKind
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

from .policy_kit import ProbeDetection, make, probe, probe_row, signed_in  # noqa: F401 (probe)

pytestmark = pytest.mark.django_db(databases="__all__")


def url(name: str, tenant, policy=None) -> str:
    kwargs = {"tenant_slug": tenant.slug}
    if policy is not None:
        kwargs["policy_id"] = policy.pk
    return reverse(f"policies:{name}", kwargs=kwargs)


def form_data(**values) -> dict:
    data = {
        "name": "Downloads from France",
        "description": "",
        "severity": "2",
        "category": "threat_detection",
        "filters": '{"location.country": {"eq": ["FR"]}}',
        "mode": "single",
        "repeat_count": "10",
        "repeat_window_minutes": "5",
        "repeat_per_user": "on",
        "daily_alert_limit": "5",
        "dedupe_minutes": "60",
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def fetch(tenant, pk) -> Policy | None:
    with tenant_context(tenant):
        return Policy.objects.filter(pk=pk).first()


def test_list_shows_policies_with_recent_alerts_and_few_queries(
    tenant_a, rita, django_assert_max_num_queries
):
    policies = [make(tenant_a, name=f"Policy {n}") for n in range(6)]
    today = dt.datetime.now(dt.UTC).date()
    with tenant_context(tenant_a):
        for days_ago, alerts in ((0, 2), (6, 3), (7, 100)):  # the 7th day back is out
            PolicyDay.objects.create(
                policy=policies[0], day=today - dt.timedelta(days=days_ago), alerts=alerts
            )
    client = signed_in(rita)
    with django_assert_max_num_queries(12):
        response = client.get(url("list", tenant_a))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Policy 0" in body and "Policy 5" in body and "Single activity" in body
    assert '<td class="right">5</td>' in body  # 2 + 3 alerts in the last 7 days
    assert "Create policy" not in body and "Switch off" not in body  # readers only read
    assert 'aria-current="page">Activity policies<' in body


@pytest.mark.usefixtures("probe")
def test_detections_list_creates_the_rows_and_admins_switch_them(
    tenant_a, sam, rita, django_assert_max_num_queries
):
    reader = signed_in(rita)
    reader.get(url("detections", tenant_a))  # first look creates the settings rows
    with django_assert_max_num_queries(12):
        body = reader.get(url("detections", tenant_a)).content.decode()
    assert "Probe detection" in body and "Initial access" in body
    assert "Settings of" not in body
    detection = probe_row(tenant_a)
    admin = signed_in(sam)
    assert "Switch off" in admin.get(url("detections", tenant_a)).content.decode()
    response = admin.post(url("disable", tenant_a, detection), {"next": "detections"})
    assert response.status_code == 302 and response["Location"] == url("detections", tenant_a)
    assert fetch(tenant_a, detection.pk).enabled is False


def test_catalogue_lists_every_template_and_says_what_waits(tenant_a, rita, sam):
    body = signed_in(rita).get(url("templates", tenant_a)).content.decode()
    assert "Mass download by a single user" in body and "More than 50 downloads" in body
    assert "arrives with Cloud Discovery" in body
    assert "arrives with file monitoring and content inspection" in body
    assert "?template=" not in body  # readers cannot create
    admin = signed_in(sam).get(url("templates", tenant_a)).content.decode()
    assert admin.count("?template=") == 5


def test_create_from_template_prefills_and_records_it(tenant_a, sam):
    client = signed_in(sam)
    page = client.get(url("create", tenant_a) + "?template=multiple_failed_signins")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'value="Multiple failed user sign-in attempts to an app"' in body
    assert "failed_login" in body and 'value="11"' in body and 'value="5"' in body
    assert 'name="template" value="multiple_failed_signins"' in body
    assert client.get(url("create", tenant_a) + "?template=sharing_public_s3").status_code == 404
    response = client.post(
        url("create", tenant_a),
        form_data(
            name="Failed sign-ins",
            filters='{"activity.eventType": {"eq": ["failed_login"]}}',
            mode="repeated",
            repeat_count="11",
            repeat_window_minutes="5",
            repeat_per_app="on",
            template="multiple_failed_signins",
            governance=["require_sign_in"],
        ),
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        policy = Policy.objects.get(name="Failed sign-ins")
    assert response["Location"] == url("detail", tenant_a, policy)
    assert (policy.template, policy.repeat_count, policy.repeat_per_app) == (
        "multiple_failed_signins",
        11,
        True,
    )
    assert policy.governance == ["require_sign_in"]


def test_create_from_a_template_whose_name_is_taken_suggests_another(tenant_a, sam):
    # A built-in detection may have this name already: taken all the same.
    with contextlib.suppress(policy_services.PolicyRefused):
        make(tenant_a, name="Mass download by a single user")
    make(tenant_a, name="Mass download by a single user (2)")
    body = signed_in(sam).get(url("create", tenant_a) + "?template=mass_download_single_user")
    assert 'value="Mass download by a single user (3)"' in body.content.decode()


def test_bad_input_comes_back_on_its_field_and_saves_nothing(tenant_a, sam):
    group = logdata.group(tenant_a, "Engineering", app_instance=logdata.app(tenant_a, "Okta"))
    client = signed_in(sam)
    page = client.get(url("create", tenant_a)).content.decode()
    assert "Engineering (Okta)" in page and "Suspend user" in page and "ip.category" in page
    response = client.post(
        url("create", tenant_a),
        form_data(
            filters='{"date": {"gte_ndays": 1}, "location.country": {"eq": ["France"]}}',
            mode="repeated",
            repeat_count="1",
            daily_alert_limit="5000",
            include_groups=[str(group.pk)],
        ),
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "date: a policy looks at each new activity" in body
    assert "location.country.eq: Countries are two-letter ISO codes" in body
    assert "must be from 2 to 10,000 (got 1)" in body
    assert "must be from 1 to 1,000 (got 5,000)" in body
    bad_json = client.post(url("create", tenant_a), form_data(filters="{oops"))
    assert bad_json.status_code == 400 and "Not valid JSON" in bad_json.content.decode()
    with tenant_context(tenant_a):
        assert not Policy.objects.filter(kind=PolicyKind.ACTIVITY).exists()


def test_preview_counts_matching_activities_and_saves_nothing(tenant_a, sam):
    app = logdata.app(tenant_a)
    logdata.many(tenant_a, app, 3, country="FR")
    logdata.many(tenant_a, app, 2, country="DE")
    old = logdata.activity_row(app, logdata.base_time() - dt.timedelta(days=8), country="FR")
    logdata.add(tenant_a, [old])
    client = signed_in(sam)
    response = client.post(url("create", tenant_a), form_data(name="", preview="1"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<strong>3</strong> activities of the last 7 days match" in body
    assert "This field is required" not in body  # the preview is not a save
    bad = client.post(url("create", tenant_a), form_data(filters='{"created": {}}', preview="1"))
    assert bad.status_code == 400 and "created: a policy looks" in bad.content.decode()
    with tenant_context(tenant_a):
        assert not Policy.objects.exists()


def test_detail_edit_switch_delete(tenant_a, alice, rita):
    policy = make(tenant_a, governance=["notify_user"])
    reader = signed_in(rita).get(url("detail", tenant_a, policy)).content.decode()
    assert "Downloads from France" in reader and "Notify user" in reader and "everyone" in reader
    assert "Edit" not in reader and "Delete" not in reader
    client = signed_in(alice)
    assert "Delete" in client.get(url("detail", tenant_a, policy)).content.decode()
    edit = client.get(url("edit", tenant_a, policy)).content.decode()
    assert 'value="Downloads from France"' in edit and "&quot;FR&quot;" in edit
    response = client.post(url("edit", tenant_a, policy), form_data(name="FR downloads"))
    assert response.status_code == 302 and fetch(tenant_a, policy.pk).name == "FR downloads"
    client.post(url("disable", tenant_a, policy))
    assert fetch(tenant_a, policy.pk).enabled is False
    response = client.post(url("enable", tenant_a, policy), {"next": "list"})
    assert response["Location"] == url("list", tenant_a)
    assert fetch(tenant_a, policy.pk).enabled is True
    response = client.post(url("delete", tenant_a, policy))
    assert response["Location"] == url("list", tenant_a) and fetch(tenant_a, policy.pk) is None
    with tenant_context(tenant_a):
        done = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert done[-4:] == ["policy.updated", "policy.disabled", "policy.enabled", "policy.deleted"]


@pytest.mark.usefixtures("probe")
def test_detection_settings_page(tenant_a, sam, rita):
    detection = probe_row(tenant_a)
    reader = signed_in(rita).get(url("detection", tenant_a, detection)).content.decode()
    assert "Trusted countries" in reader and "<dd>fr</dd>" in reader
    assert 'name="opt_threshold"' not in reader and "Save settings" not in reader
    client = signed_in(sam)
    page = client.get(url("detection", tenant_a, detection)).content.decode()
    assert 'name="opt_threshold"' in page and 'min="2"' in page and 'max="100"' in page
    assert 'name="opt_sensitivity"' in page and 'name="opt_countries"' in page
    data = {
        "enabled": "on",
        "severity": "3",
        "opt_threshold": "1",
        "opt_sensitivity": "high",
        "opt_countries": "GB\nDE",
    }
    response = client.post(url("detection", tenant_a, detection), data)
    assert response.status_code == 400
    assert "threshold must be at least 2." in response.content.decode()
    assert fetch(tenant_a, detection.pk).tuning == ProbeDetection.defaults()
    response = client.post(url("detection", tenant_a, detection), {**data, "opt_threshold": "20"})
    assert response.status_code == 302
    saved = fetch(tenant_a, detection.pk)
    assert saved.severity == 3 and saved.enabled
    assert saved.tuning == {
        "threshold": 20,
        "sensitivity": "high",
        "ignore_vpn": False,
        "countries": ["gb", "de"],
    }
    # A detection has no activity-policy pages, and cannot be deleted.
    assert client.get(url("detail", tenant_a, detection)).status_code == 404
    assert client.post(url("delete", tenant_a, detection)).status_code == 404


def test_readers_cannot_write(tenant_a, rita):
    policy = make(tenant_a)
    client = signed_in(rita)
    assert client.get(url("create", tenant_a)).status_code == 403
    assert client.get(url("edit", tenant_a, policy)).status_code == 403
    assert client.post(url("create", tenant_a), form_data(name="Mine")).status_code == 403
    for name in ("edit", "disable", "delete"):
        assert client.post(url(name, tenant_a, policy), form_data()).status_code == 403
    assert fetch(tenant_a, policy.pk).enabled and fetch(tenant_a, policy.pk).name == policy.name


@pytest.mark.usefixtures("probe")
def test_another_tenants_admin_gets_404_everywhere(tenant_a, tenant_b, charlie):
    policy = make(tenant_a)
    detection = probe_row(tenant_a)
    client = signed_in(charlie)
    for name in ("list", "detections", "templates", "create"):
        assert client.get(url(name, tenant_a)).status_code == 404
    for name in ("detail", "edit"):
        assert client.get(url(name, tenant_a, policy)).status_code == 404
    for name in ("edit", "enable", "disable", "delete"):
        assert client.post(url(name, tenant_a, policy), form_data()).status_code == 404
    assert client.post(url("detection", tenant_a, detection), {"severity": "0"}).status_code == 404
    # In his own tenant, A's ids are unknown too.
    assert client.get(url("detail", tenant_b, policy)).status_code == 404
    assert client.post(url("delete", tenant_b, policy)).status_code == 404
    assert client.get(url("detection", tenant_b, detection)).status_code == 404
    assert fetch(tenant_a, policy.pk) is not None
    with tenant_context(tenant_b):
        assert not Policy.objects.filter(kind=PolicyKind.ACTIVITY).exists()


def test_every_detection_settings_page_renders_and_saves_its_own_values(tenant_a, sam):
    """Whatever options a detection declares, its page shows them and takes them back."""
    client = signed_in(sam)
    client.get(url("detections", tenant_a))
    with tenant_context(tenant_a):
        detections = list(Policy.objects.filter(kind=PolicyKind.ANOMALY))
    assert detections, "the built-in detections have their settings rows"
    for detection in detections:
        page = client.get(url("detection", tenant_a, detection))
        assert page.status_code == 200, detection.detector
        form = page.context["form"]
        data = {"severity": str(detection.severity)}
        if detection.enabled:
            data["enabled"] = "on"
        for name in form.fields:
            value = form.initial.get(name)
            if name.startswith("opt_") and value not in (None, False):
                data[name] = "on" if value is True else str(value)
        response = client.post(url("detection", tenant_a, detection), data)
        assert response.status_code == 302, (detection.detector, response.context["form"].errors)
        assert fetch(tenant_a, detection.pk).tuning == detection.tuning  # unchanged
