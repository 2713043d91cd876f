"""Private activities in the console (spec 1.6): hidden from the log, one activity, the person
page, the search and an alert's linked activities for everyone by default; revealed for a while,
with a justification and an audit record, to members holding VIEW_PRIVATE (alice); never
exported. Tenant isolation of the new routes (charlie)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse

from apps.activities import partitions, privacy
from apps.activities.models import Activity
from apps.alerts import selectors as alert_selectors
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.alerts import alertdata

pytestmark = pytest.mark.django_db(databases="__all__")

PUBLIC = "public-report.xlsx"
SECRET = "secret-merger-plan.docx"
SECRET_IP = "203.0.113.77"
WHY = "Incident INC-4711: suspected data theft"


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def world(tenant_a):
    """Bob's public activity and Pat's private one (Pat is in an activity-privacy group)."""
    crm = logdata.app(tenant_a, "Contoso CRM")
    bob = logdata.person(tenant_a, "bob@alpha.test", "Bob Stone")
    pat = logdata.person(tenant_a, "pat@alpha.test", "Pat Private")
    now = logdata.base_time()
    public, private = logdata.add(
        tenant_a,
        [
            logdata.activity_row(crm, now, user=bob, actor="bob@alpha.test", object_name=PUBLIC),
            logdata.activity_row(
                crm,
                now - dt.timedelta(minutes=5),
                user=pat,
                actor="pat@alpha.test",
                object_name=SECRET,
                ip=SECRET_IP,
                is_private=True,
            ),
        ],
    )
    return {"public": public, "private": private, "bob": bob, "pat": pat, "app": crm}


def _url(name: str, tenant, *args) -> str:
    return reverse(name, args=[tenant.slug, *args])


def _reveal(client, tenant, justification: str = WHY, **extra):
    return client.post(
        _url("activities:reveal-private", tenant), {"justification": justification, **extra}
    )


def _reveals(tenant) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action=privacy.AUDIT_REVEAL).order_by("seq"))


@pytest.mark.parametrize("who", ["rita", "sam", "alice"])
def test_private_activities_are_hidden_by_default(request, client, tenant_a, world, who):
    client.force_login(request.getfixturevalue(who))
    log = client.get(_url("activities:list", tenant_a)).content.decode()
    assert PUBLIC in log and SECRET not in log
    assert "activity-privacy groups are hidden" in log  # a generic note, no count
    detail = client.get(_url("activities:detail", tenant_a, world["private"].id))
    assert detail.status_code == 404
    assert client.get(_url("activities:detail", tenant_a, world["public"].id)).status_code == 200
    person = client.get(_url("accounts:detail", tenant_a, world["pat"].id)).content.decode()
    assert SECRET not in person and SECRET_IP not in person
    assert "0 activities in the last" in person
    # Only alice (VIEW_PRIVATE) is offered the reveal.
    offered = "Show private activities" in log
    assert offered is (who == "alice")


def test_reveal_needs_a_justification(client, alice, tenant_a, world):
    client.force_login(alice)
    page = client.get(_url("activities:reveal-private", tenant_a))
    assert page.status_code == 200 and 'name="justification"' in page.content.decode()
    for bad in ("", "   ", "too short"):
        answer = _reveal(client, tenant_a, bad)
        assert answer.status_code == 400, bad
        body = answer.content.decode()
        assert 'name="justification"' in body and "has-error" in body
    assert _reveals(tenant_a) == []
    assert SECRET not in client.get(_url("activities:list", tenant_a)).content.decode()


def test_reveal_is_audited_and_shows_private_rows_marked(client, alice, tenant_a, world):
    client.force_login(alice)
    answer = _reveal(client, tenant_a)
    assert answer.status_code == 302
    assert answer["Location"] == _url("activities:list", tenant_a)
    [event] = _reveals(tenant_a)
    assert event.actor_id == alice.pk
    assert event.details["justification"] == WHY and event.details["via"] == "console"
    assert event.details["minutes"] == privacy.REVEAL_MINUTES
    assert "pat@alpha.test" not in str(event.details)  # no monitored identity in the audit
    log = client.get(_url("activities:list", tenant_a)).content.decode()
    assert PUBLIC in log and SECRET in log
    row = next(r for r in re.findall(r"<tr>.*?</tr>", log, re.S) if SECRET in r)
    assert ">private</span>" in row
    assert "Hide again" in log
    detail = client.get(_url("activities:detail", tenant_a, world["private"].id))
    assert detail.status_code == 200 and "private" in detail.content.decode()
    person = client.get(_url("accounts:detail", tenant_a, world["pat"].id)).content.decode()
    assert SECRET in person and "1 activity in the last" in person


def test_reveal_returns_to_the_page_it_came_from_but_never_off_site(client, alice, tenant_a, world):
    client.force_login(alice)
    back = _url("accounts:detail", tenant_a, world["pat"].id)
    assert _reveal(client, tenant_a, next=back)["Location"] == back
    for evil in ("https://evil.test/x", "//evil.test/x"):
        assert _reveal(client, tenant_a, next=evil)["Location"] == _url("activities:list", tenant_a)


def test_a_reveal_expires(client, alice, tenant_a, world):
    client.force_login(alice)
    _reveal(client, tenant_a)
    detail = _url("activities:detail", tenant_a, world["private"].id)
    assert client.get(detail).status_code == 200
    session = client.session
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).timestamp()
    session[privacy.SESSION_KEY] = {str(tenant_a.pk): past}
    session.save()
    assert client.get(detail).status_code == 404
    assert SECRET not in client.get(_url("activities:list", tenant_a)).content.decode()


def test_a_reveal_lasts_the_configured_minutes(client, alice, tenant_a, world):
    client.force_login(alice)
    before = dt.datetime.now(dt.UTC)
    _reveal(client, tenant_a)
    ends = client.session[privacy.SESSION_KEY][str(tenant_a.pk)]
    span = dt.datetime.fromtimestamp(ends, tz=dt.UTC) - before
    assert (
        dt.timedelta(minutes=29) < span <= dt.timedelta(minutes=privacy.REVEAL_MINUTES, seconds=5)
    )


def test_hide_again_ends_the_reveal(client, alice, tenant_a, world):
    client.force_login(alice)
    _reveal(client, tenant_a)
    answer = client.post(_url("activities:hide-private", tenant_a))
    assert answer.status_code == 302
    assert SECRET not in client.get(_url("activities:list", tenant_a)).content.decode()
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action=privacy.AUDIT_HIDE, actor_id=alice.pk).exists()


@pytest.mark.parametrize("who", ["rita", "sam"])
def test_without_the_permission_there_is_no_reveal(request, client, tenant_a, world, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(_url("activities:reveal-private", tenant_a)).status_code == 403
    assert _reveal(client, tenant_a).status_code == 403
    assert client.post(_url("activities:hide-private", tenant_a)).status_code == 403
    assert _reveals(tenant_a) == []
    # A reveal forged into the session is ignored: the permission is asked on every request.
    session = client.session
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)).timestamp()
    session[privacy.SESSION_KEY] = {str(tenant_a.pk): future}
    session.save()
    assert SECRET not in client.get(_url("activities:list", tenant_a)).content.decode()
    detail = _url("activities:detail", tenant_a, world["private"].id)
    assert client.get(detail).status_code == 404


def test_charlie_gets_404_on_the_reveal_routes(client, charlie, tenant_a, world):
    client.force_login(charlie)
    assert client.get(_url("activities:reveal-private", tenant_a)).status_code == 404
    assert _reveal(client, tenant_a).status_code == 404
    assert client.post(_url("activities:hide-private", tenant_a)).status_code == 404
    assert client.get(_url("activities:detail", tenant_a, world["private"].id)).status_code == 404
    assert _reveals(tenant_a) == []


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_export_never_holds_private_rows_even_when_revealed(client, alice, sam, tenant_a, world):
    client.force_login(sam)
    answer = client.get(_url("activities:export", tenant_a))
    assert answer["X-Private-Activities"] == "excluded"
    lines = _csv(answer)
    assert len(lines) == 2 and PUBLIC in lines[1] and SECRET not in str(lines)

    client.force_login(alice)
    _reveal(client, tenant_a)
    lines = _csv(client.get(_url("activities:export", tenant_a), {"user": world["pat"].id}))
    assert SECRET not in str(lines) and SECRET_IP not in str(lines)
    assert len(lines) == 2 and lines[-1][0].startswith("# Private activities")
    with tenant_context(tenant_a):
        event = AuditEvent.objects.filter(action="activities.exported").latest("seq")
    assert event.details["rows"] == 0 and event.details["private_activities"] == "excluded"


def _search(client, tenant, text: str) -> str:
    return client.get(reverse("tenants:search", args=[tenant.slug]), {"q": text}).content.decode()


def test_search_hides_private_activities_unless_revealed(client, rita, alice, tenant_a, world):
    for who in (rita, alice):
        client.force_login(who)
        assert SECRET not in _search(client, tenant_a, "merger")
        assert "last seen" not in _search(client, tenant_a, SECRET_IP)
    _reveal(client, tenant_a)  # alice
    assert SECRET in _search(client, tenant_a, "merger")
    assert "last seen" in _search(client, tenant_a, SECRET_IP)


def test_alert_page_leaves_private_linked_activities_out(client, rita, tenant_a):
    app = logdata.app(tenant_a, "Contoso Mail")
    pat = logdata.person(tenant_a, "pat@alpha.test", "Pat Private")
    alert = alertdata.make_alert(tenant_a, app=app, person=pat, activities=3)
    with tenant_context(tenant_a):
        ids = list(alert.activity_links.values_list("activity_id", flat=True))
        Activity.objects.filter(id__in=ids[:2]).update(is_private=True)
        linked = alert_selectors.linked_activities(alert)
        revealed = alert_selectors.linked_activities(alert, include_private=True)
    assert (len(linked.rows), linked.linked, linked.private, linked.missing) == (1, 1, 2, 0)
    assert {row.id for row in linked.rows} == {ids[2]}
    assert len(revealed.rows) == 3 and revealed.private == 0
    client.force_login(rita)
    page = client.get(reverse("alerts:detail", args=[tenant_a.slug, alert.pk])).content.decode()
    assert "no longer in the log" not in page  # hidden is not reported as purged
    assert "1 activity linked" in page  # nor counted
    for hidden in ids[:2]:
        assert str(hidden) not in page


def test_alert_page_shows_private_linked_activities_while_revealed(client, alice, tenant_a):
    app = logdata.app(tenant_a, "Contoso Mail")
    pat = logdata.person(tenant_a, "pat@alpha.test", "Pat Private")
    alert = alertdata.make_alert(tenant_a, app=app, person=pat, activities=3)
    with tenant_context(tenant_a):
        ids = list(alert.activity_links.values_list("activity_id", flat=True))
        Activity.objects.filter(id__in=ids[:2]).update(is_private=True)
    url = reverse("alerts:detail", args=[tenant_a.slug, alert.pk])
    client.force_login(alice)
    assert "1 activity linked" in client.get(url).content.decode()
    _reveal(client, tenant_a)
    page = client.get(url).content.decode()
    assert "3 activities linked" in page


def test_log_query_count_while_revealed(client, alice, tenant_a, django_assert_max_num_queries):
    apps = [logdata.app(tenant_a, f"App {i}") for i in range(5)]
    rows = logdata.one_per_person(tenant_a, apps, 60, "p")
    with tenant_context(tenant_a):
        Activity.objects.filter(id__in=[row.id for row in rows[::2]]).update(is_private=True)
    client.force_login(alice)
    _reveal(client, tenant_a)
    url = _url("activities:list", tenant_a)
    client.get(url)  # warm the session and permission caches
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert response.content.decode().count('title="Private activity') == 25
