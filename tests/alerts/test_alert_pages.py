"""The alert console pages: the queue (filters, tabs, bulk actions), one alert (links, triage,
read state), the CSV export, the person page's alerts, the search bar, query counts, and
tenant isolation (charlie, admin of B, gets 404 for everything of A's)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from apps.activities import partitions
from apps.alerts import services
from apps.alerts.models import Alert, AlertStatus
from apps.alerts.views import governance_partial
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.factories import make_tenant, member

from .alertdata import default_policy, directory, make_alert

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def _rows(response) -> list[str]:
    body = response.content.decode()
    tbody = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    return re.findall(r"<tr[ >]", tbody)


def _fresh(tenant, alert) -> Alert:
    with tenant_context(tenant):
        return Alert.objects.get(pk=alert.pk)


@pytest.fixture
def world(tenant_a, tenant_b):
    app, bob, bob_acct = directory(tenant_a, "Contoso CRM", "bob")
    eve = logdata.person(tenant_a, "eve@alpha.test", "Eve Ray")
    high = make_alert(
        tenant_a,
        app=app,
        person=bob,
        account=bob_acct,
        title="Mass download by Bob",
        severity=3,
        activities=3,
        ip="203.0.113.9",
    )
    low = make_alert(tenant_a, app=app, person=eve, title="Eve signed in from AU", severity=1)
    done = make_alert(tenant_a, app=app, person=bob, title="Old closed one")
    with tenant_context(tenant_a):
        services.dismiss(tenant=tenant_a, actor=None, alert=done, comment="noise")
    b_app, zed, _ = directory(tenant_b, "Bravo app", "zed")
    secret = make_alert(tenant_b, app=b_app, person=zed, title="B-secret alert")
    return {"app": app, "bob": bob, "eve": eve, "high": high, "low": low, "done": done, "b": secret}


def test_reader_sees_the_open_queue_without_forms(client, rita, tenant_a, world):
    client.force_login(rita)
    response = client.get(reverse("alerts:list", args=[tenant_a.slug]))
    assert response.status_code == 200
    body = response.content.decode()
    assert len(_rows(response)) == 2  # open ones by default
    assert "Mass download by Bob" in body and "Eve signed in from AU" in body
    assert "Old closed one" not in body and "B-secret alert" not in body
    # Chips link the people; severity and status show as badges.
    assert reverse("accounts:detail", args=[tenant_a.slug, world["bob"].pk]) in body
    assert "High" in body and "Open" in body
    assert 'name="ids"' not in body and reverse("alerts:bulk", args=[tenant_a.slug]) not in body
    assert "Export CSV" not in body  # readers may not export


def test_tabs_and_filters(client, sam, tenant_a, world):
    client.force_login(sam)
    url = reverse("alerts:list", args=[tenant_a.slug])
    closed = client.get(url, {"open": "false"})
    assert len(_rows(closed)) == 1 and "Old closed one" in closed.content.decode()
    everything = client.get(url, {"open": ""})
    assert len(_rows(everything)) == 3
    high = client.get(url, {"severity": "3"})
    assert len(_rows(high)) == 1 and "Mass download by Bob" in high.content.decode()
    bobs = client.get(url, {"user": world["bob"].pk, "open": ""})
    body = bobs.content.decode()
    assert len(_rows(bobs)) == 2 and "Person: Bob" in body
    by_number = client.get(url, {"q": f"#{world['low'].number}"})
    assert len(_rows(by_number)) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"severity": "9"},
        {"status": "closed"},
        {"user": "not-a-uuid"},
        {"ip": "1.2.3"},
        {"assignee": "bob"},
        {"date_from": "yesterday"},
        {"read": "maybe"},
        {"sort": "title"},
        {"open": "perhaps"},
    ],
)
def test_bad_filters_are_a_form_error_not_a_500(client, rita, tenant_a, world, params):
    client.force_login(rita)
    response = client.get(reverse("alerts:list", args=[tenant_a.slug]), params)
    assert response.status_code == 200
    assert "Fix the filters" in response.content.decode()
    assert _rows(response) == []


def test_admin_bulk_resolves_and_comes_back_to_the_same_view(client, sam, tenant_a, world):
    client.force_login(sam)
    queue = reverse("alerts:list", args=[tenant_a.slug])
    page = client.get(queue, {"severity": "3"})
    body = page.content.decode()
    assert 'name="ids"' in body and "Export CSV" in body
    back = f"{queue}?severity=3"
    response = client.post(
        reverse("alerts:bulk", args=[tenant_a.slug]),
        {
            "ids": [world["high"].pk, world["low"].pk, world["b"].pk],
            "operation": "resolve",
            "close_as": "true_positive:confirmed_malicious",
            "comment": "handled",
            "next": back,
        },
    )
    assert response.status_code == 302 and response["Location"] == back
    assert _fresh(tenant_a, world["high"]).status == AlertStatus.RESOLVED
    assert _fresh(tenant_a, world["low"]).resolution_reason == "confirmed_malicious"
    followed = client.get(back)
    assert "2 alerts changed, 1 not found." in followed.content.decode()


def test_bulk_refusals_change_nothing(client, sam, tenant_a, world):
    client.force_login(sam)
    bulk = reverse("alerts:bulk", args=[tenant_a.slug])
    queue = reverse("alerts:list", args=[tenant_a.slug])
    for data in (
        {},
        {"ids": ["x"], "operation": "read"},
        {"ids": [world["high"].pk], "operation": "resolve"},  # no resolution
        {"ids": [world["high"].pk], "operation": "assign"},  # nobody to assign to
        # An outside "next" is not followed.
        {"ids": [world["high"].pk], "operation": "explode", "next": "https://evil.test/"},
    ):
        response = client.post(bulk, data)
        assert response.status_code == 302 and response["Location"] == queue, data
        assert "Nothing changed" in client.get(queue).content.decode()
    assert _fresh(tenant_a, world["high"]).status == AlertStatus.OPEN


def test_reader_cannot_post(client, rita, tenant_a, world):
    client.force_login(rita)
    bulk = client.post(
        reverse("alerts:bulk", args=[tenant_a.slug]),
        {"ids": [world["high"].pk], "operation": "dismiss"},
    )
    detail = client.post(
        reverse("alerts:detail", args=[tenant_a.slug, world["high"].pk]),
        {"op": "dismiss"},
    )
    assert bulk.status_code == detail.status_code == 403
    assert _fresh(tenant_a, world["high"]).status == AlertStatus.OPEN


def test_detail_shows_everything_linked(client, rita, tenant_a, world):
    client.force_login(rita)
    alert = world["high"]
    response = client.get(reverse("alerts:detail", args=[tenant_a.slug, alert.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert f"#{alert.number}" in body and "Mass download by Bob" in body
    assert "Something happened." in body and "seen from FR" in body  # description, evidence
    assert "Bob" in body and "bob@alpha.test" in body and "Contoso CRM" in body
    assert "203.0.113.9" in body
    assert "3 activities linked" in body
    assert len(re.findall(r"activities/[0-9a-f-]{36}/", body)) == 3
    assert "Test policy" in body
    # A reader sees no triage and does not mark the alert read.
    assert 'name="op"' not in body
    assert not _fresh(tenant_a, alert).read


def test_opening_marks_read_for_triagers_and_the_forms_work(client, sam, tenant_a, world):
    client.force_login(sam)
    alert = world["high"]
    url = reverse("alerts:detail", args=[tenant_a.slug, alert.pk])
    page = client.get(url)
    assert 'name="op"' in page.content.decode()
    assert _fresh(tenant_a, alert).read
    assert client.post(url, {"op": "status", "status": "in_progress"}).status_code == 302
    assert client.post(url, {"op": "assign", "assignee": str(sam.pk)}).status_code == 302
    bad = client.post(url, {"op": "resolve", "close_as": "false_positive:test"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    done = client.post(url, {"op": "resolve", "close_as": "false_positive:not_accurate"})
    assert done.status_code == 302
    fresh = _fresh(tenant_a, alert)
    assert (fresh.status, fresh.resolution, fresh.assignee_id) == (
        "resolved",
        "false_positive",
        sam.pk,
    )
    again = client.get(url).content.decode()
    # The history comes from the audit log.
    for action in ("alert.read", "alert.status_changed", "alert.assigned", "alert.resolved"):
        assert action in again
    assert "Alert is not accurate" in again and "Reopen" in again
    assert client.post(url, {"op": "unread"}).status_code == 302
    assert not _fresh(tenant_a, alert).read
    empty = client.post(url, {})
    assert empty.status_code == 400


def test_export_has_resolution_and_closing_date(client, sam, rita, tenant_a, world):
    url = reverse("alerts:export", args=[tenant_a.slug])
    client.force_login(rita)
    assert client.get(url).status_code == 403
    client.force_login(sam)
    response = client.get(url, {"open": ""})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    by_title = {row["title"]: row for row in rows}
    closed = by_title["Old closed one"]
    assert closed["status"] == "Dismissed" and closed["resolved_at_utc"]
    assert by_title["Mass download by Bob"]["people"] == "bob@alpha.test"
    assert "B-secret" not in text
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="alerts.exported")
    assert event.details["rows"] == 3
    bad = client.get(url, {"severity": "9"})
    assert bad.status_code == 302  # back to the queue with the filter error


def test_charlie_gets_404_for_everything_of_a(client, charlie, tenant_a, world):
    client.force_login(charlie)
    alert = world["high"]
    slug = tenant_a.slug
    for response in (
        client.get(reverse("alerts:list", args=[slug])),
        client.get(reverse("alerts:detail", args=[slug, alert.pk])),
        client.get(reverse("alerts:export", args=[slug])),
        client.post(
            reverse("alerts:bulk", args=[slug]), {"ids": [alert.pk], "operation": "dismiss"}
        ),
        client.post(reverse("alerts:detail", args=[slug, alert.pk]), {"op": "dismiss"}),
    ):
        assert response.status_code == 404
    assert _fresh(tenant_a, alert).status == AlertStatus.OPEN


def test_an_alert_of_b_is_404_inside_a(client, alice, tenant_a, world):
    client.force_login(alice)
    response = client.get(reverse("alerts:detail", args=[tenant_a.slug, world["b"].pk]))
    assert response.status_code == 404


def test_person_page_lists_open_alerts_first(client, rita, tenant_a, world):
    client.force_login(rita)
    response = client.get(reverse("accounts:detail", args=[tenant_a.slug, world["bob"].pk]))
    body = response.content.decode()
    assert "1 open alert (1 high) of 2" in body
    assert body.index("Mass download by Bob") < body.index("Old closed one")
    assert f"?user={world['bob'].pk}" in body
    assert "Eve signed in" not in body


def test_search_finds_alerts_by_number_and_title(client, rita, tenant_a, world):
    client.force_login(rita)
    url = reverse("tenants:search", args=[tenant_a.slug])
    body = client.get(url, {"q": f"#{world['low'].number}"}).content.decode()
    assert "Eve signed in from AU" in body
    body = client.get(url, {"q": "mass download"}).content.decode()
    assert reverse("alerts:detail", args=[tenant_a.slug, world["high"].pk]) in body
    assert "B-secret" not in client.get(url, {"q": "secret"}).content.decode()


def test_queue_queries_do_not_grow_with_rows(
    client, sam, tenant_a, world, django_assert_max_num_queries
):
    client.force_login(sam)
    url = reverse("alerts:list", args=[tenant_a.slug])
    with django_assert_max_num_queries(16) as few:
        client.get(url)
    for i in range(20):
        person = logdata.person(tenant_a, f"p{i}@alpha.test", f"P {i}")
        app = logdata.app(tenant_a, f"App {i}")
        make_alert(tenant_a, app=app, person=person, title=f"Alert {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(_rows(response)) == 22


def test_governance_actions_are_offered_to_admins_only(client, sam, rita, tenant_a, world):
    if governance_partial() is None:
        pytest.skip("the governance partial is not there yet")
    url = reverse("alerts:detail", args=[tenant_a.slug, world["high"].pk])
    run = reverse("governance:run", args=[tenant_a.slug])
    client.force_login(sam)
    assert run in client.get(url).content.decode()  # on Bob's account in the CRM
    client.force_login(rita)
    assert run not in client.get(url).content.decode()


def test_a_us_tenant_triages_in_its_own_database(client):
    usa = make_tenant("Usa", geo="us")
    admin = member(usa, Role.SECURITY_ADMIN, username="ann@usa.test")
    app, person, _ = directory(usa, "US app", "uma")
    alert = make_alert(usa, app=app, person=person, title="US alert")
    assert alert._state.db == "geo_us"
    client.force_login(admin)
    assert "US alert" in client.get(reverse("alerts:list", args=[usa.slug])).content.decode()
    detail = reverse("alerts:detail", args=[usa.slug, alert.pk])
    assert client.get(detail).status_code == 200
    assert client.post(detail, {"op": "dismiss", "comment": "ok"}).status_code == 302
    bulk = client.post(
        reverse("alerts:bulk", args=[usa.slug]), {"ids": [alert.pk], "operation": "open"}
    )
    assert bulk.status_code == 302
    fresh = _fresh(usa, alert)
    assert fresh.status == AlertStatus.OPEN and fresh.read
    with tenant_context(usa):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"alert.read", "alert.dismissed", "alert.reopened"} <= actions


def test_the_policy_link_follows_the_kind_of_policy(client, rita, tenant_a, world):
    detection = default_policy(
        tenant_a, name="Impossible travel (test)", kind="anomaly", detector="test_travel"
    )
    alert = make_alert(tenant_a, app=world["app"], person=world["bob"], policy=detection)
    client.force_login(rita)
    slug = tenant_a.slug
    body = client.get(reverse("alerts:detail", args=[slug, alert.pk])).content.decode()
    assert reverse("policies:detection", args=[slug, detection.pk]) in body
    body = client.get(reverse("alerts:detail", args=[slug, world["high"].pk])).content.decode()
    assert reverse("policies:detail", args=[slug, world["high"].policy_id]) in body
