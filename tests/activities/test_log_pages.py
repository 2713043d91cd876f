"""The activity log pages: list, filters, one activity, empty states, escaping, query counts,
and tenant isolation (charlie, admin of B, never sees A's log)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from apps.activities import partitions
from apps.activities.models import IpCategory
from tests.activities import logdata

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def _list(tenant, **params):
    return reverse("activities:list", args=[tenant.slug]), params


def _rows(response) -> list[str]:
    """The table rows of the page (the header row excluded)."""
    body = response.content.decode()
    tbody = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    return re.findall(r"<tr>", tbody)


@pytest.fixture
def world(tenant_a):
    """Two apps, two people, activities of several kinds over three days."""
    crm = logdata.app(tenant_a, "Contoso CRM")
    mail = logdata.app(tenant_a, "Contoso Mail")
    bob = logdata.person(tenant_a, "bob@alpha.test", "Bob Stone")
    eve = logdata.person(tenant_a, "eve@partner.test", "Eve Ray", is_external=True)
    bob_crm = logdata.account(tenant_a, crm, bob)
    eve_mail = logdata.account(tenant_a, mail, eve)
    now = logdata.base_time()
    rows = [
        logdata.activity_row(
            crm,
            now,
            user=bob,
            account=bob_crm,
            actor="bob@alpha.test",
            activity_type="download",
            object_name="virus_malware_file.exe",
            ip="10.1.2.3",
            country="FR",
            ip_category=IpCategory.CORPORATE,
            ip_tags=["Head office"],
        ),
        logdata.activity_row(
            crm,
            now - dt.timedelta(minutes=1),
            user=bob,
            account=bob_crm,
            actor="bob@alpha.test",
            activity_type="failed_login",
            action_type="UserLoginFailed",
            succeeded=False,
            object_name="malwarevirusfile.exe",
            ip="10.10.0.1",
            country="DE",
        ),
        logdata.activity_row(
            mail,
            now - dt.timedelta(days=1),
            user=eve,
            account=eve_mail,
            actor="eve@partner.test",
            activity_type="share",
            action_type="SharingSet",
            is_admin=True,
            object_name="Q3 budget.xlsx",
            ip="2001:db8::5",
            country="US",
            ip_category=IpCategory.RISKY,
            ip_tags=["Tor"],
        ),
        logdata.activity_row(
            mail,
            now - dt.timedelta(days=2),
            user=None,
            account=None,
            actor="",
            activity_type="admin",
            action_type="Set-Mailbox",
            object_name="mailbox settings",
            ip=None,
            country="",
        ),
    ]
    logdata.add(tenant_a, rows)
    return {"crm": crm, "mail": mail, "bob": bob, "eve": eve, "rows": rows, "now": now}


def test_reader_sees_the_log_newest_first(client, rita, tenant_a, world):
    client.force_login(rita)
    response = client.get(reverse("activities:list", args=[tenant_a.slug]))
    assert response.status_code == 200
    body = response.content.decode()
    assert len(_rows(response)) == 4
    names = ["virus_malware_file.exe", "malwarevirusfile.exe", "Q3 budget.xlsx", "mailbox settings"]
    positions = [body.index(name) for name in names]
    assert positions == sorted(positions), "newest first"
    # The columns: description, user (linked to the person), app, IP with country, date.
    assert "Download: FileDownloaded virus_malware_file.exe" in body
    person_url = reverse("accounts:detail", args=[tenant_a.slug, world["bob"].id])
    assert f'href="{person_url}"' in body
    assert "Contoso CRM" in body and "2001:db8::5" in body
    assert "\U0001f1eb\U0001f1f7 FR" in body  # the flag of France, then its code
    assert world["now"].strftime("%Y-%m-%d %H:%M:%S") in body
    assert "Export CSV" not in body, "readers may read but not export"


def test_admin_sees_the_export_button(client, sam, tenant_a, world):
    client.force_login(sam)
    body = client.get(reverse("activities:list", args=[tenant_a.slug]), {"country": "FR"})
    assert 'activities/export/?country=FR"' in body.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"activity_type": "download"}, ["virus_malware_file.exe"]),
        ({"type_group": "Failed log-in"}, ["malwarevirusfile.exe"]),
        ({"action_type": "sharingset"}, ["Q3 budget.xlsx"]),
        ({"ip": "10.1.2.3"}, ["virus_malware_file.exe"]),
        ({"ip_prefix": "10.1"}, ["virus_malware_file.exe", "malwarevirusfile.exe"]),
        ({"ip_prefix": "10.1."}, ["virus_malware_file.exe"]),
        ({"ip_category": str(IpCategory.RISKY)}, ["Q3 budget.xlsx"]),
        ({"ip_tag": "Tor"}, ["Q3 budget.xlsx"]),
        ({"country": "DE"}, ["malwarevirusfile.exe"]),
        ({"succeeded": "false"}, ["malwarevirusfile.exe"]),
        ({"is_admin": "true"}, ["Q3 budget.xlsx"]),
        ({"actor": "EVE@"}, ["Q3 budget.xlsx"]),
        ({"q": "malware"}, ["virus_malware_file.exe"]),  # whole words only
        ({"q": '"budget xlsx"'}, []),  # a phrase: "budget.xlsx" is not "budget xlsx"
        ({"q": '"Q3 budget"'}, ["Q3 budget.xlsx"]),
        ({"q": "mailbox budget"}, ["Q3 budget.xlsx", "mailbox settings"]),  # terms are ORed
    ],
)
def test_filters(client, rita, tenant_a, world, params, expected):
    client.force_login(rita)
    response = client.get(reverse("activities:list", args=[tenant_a.slug]), params)
    assert response.status_code == 200
    body = response.content.decode()
    everything = [
        "virus_malware_file.exe",
        "malwarevirusfile.exe",
        "Q3 budget.xlsx",
        "mailbox settings",
    ]
    shown = [name for name in everything if f">{_description(world, name)}" in body]
    assert shown == expected


def _description(world, name):
    row = next(r for r in world["rows"] if r.object_name == name)
    from apps.activities.selectors import describe

    return describe(row)


def test_filters_by_app_person_and_dates(client, rita, tenant_a, world):
    client.force_login(rita)
    url = reverse("activities:list", args=[tenant_a.slug])
    assert len(_rows(client.get(url, {"app": world["mail"].id}))) == 2
    response = client.get(url, {"user": world["eve"].id})
    assert len(_rows(response)) == 1
    assert "Person: Eve Ray" in response.content.decode()  # the pinned filter, by name
    today = world["now"].date()
    yesterday = today - dt.timedelta(days=1)
    both = client.get(url, {"date_from": yesterday, "date_to": yesterday})
    expected = 1 + sum(1 for r in world["rows"][:2] if r.occurred_at.date() == yesterday)
    assert len(_rows(both)) == expected


def test_invalid_filters_show_the_error_and_no_rows(client, rita, tenant_a, world):
    client.force_login(rita)
    url = reverse("activities:list", args=[tenant_a.slug])
    for params in (
        {"ip": "10.1.2"},
        {"ip_prefix": "10.1.*"},
        {"app": "not-a-uuid"},
        {"date_from": "2026-02-31"},
        {"activity_type": "coffee"},
    ):
        response = client.get(url, params)
        assert response.status_code == 200, params
        body = response.content.decode()
        assert "has-error" in body, params
        assert not _rows(response), params


def test_empty_states(client, rita, tenant_a):
    client.force_login(rita)
    url = reverse("activities:list", args=[tenant_a.slug])
    assert "No activities yet" in client.get(url).content.decode()
    assert "No activities match these filters" in client.get(url, {"q": "x"}).content.decode()


def test_detail_shows_every_field_and_similar_links(client, rita, tenant_a, world):
    client.force_login(rita)
    item = world["rows"][2]
    response = client.get(reverse("activities:detail", args=[tenant_a.slug, item.id]))
    assert response.status_code == 200
    body = response.content.decode()
    for text in (
        "Share: SharingSet Q3 budget.xlsx",
        "SharingSet",
        "eve@partner.test",
        "Eve Ray",
        "2001:db8::5",
        "Risky",
        "Tor",
        "Contoso Mail",
        str(item.id),
        item.source_event_id,
        "&quot;Operation&quot;: &quot;FileDownloaded&quot;",  # raw JSON, pretty and escaped
    ):
        assert text in body, text
    base = reverse("activities:list", args=[tenant_a.slug])
    assert f'href="{base}?user={world["eve"].id}"' in body
    assert f'href="{base}?ip=2001%3Adb8%3A%3A5"' in body
    assert f'href="{base}?activity_type=share"' in body
    # A similar link is a filter URL that works.
    same_ip = client.get(base, {"ip": "2001:db8::5"})
    assert len(_rows(same_ip)) == 1


def test_detail_of_an_activity_without_user_or_ip(client, rita, tenant_a, world):
    client.force_login(rita)
    item = world["rows"][3]
    response = client.get(reverse("activities:detail", args=[tenant_a.slug, item.id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "not joined to a person" in body
    assert "Same IP address" not in body


def test_apps_data_is_escaped_everywhere(client, rita, tenant_a):
    """T: XSS. Actor, object name and user agent come from outside; nothing of them runs."""
    crm = logdata.app(tenant_a, "CRM")
    person = logdata.person(tenant_a, "x@alpha.test", logdata.XSS)
    (row,) = logdata.add(
        tenant_a,
        [
            logdata.activity_row(
                crm,
                logdata.base_time(),
                user=person,
                actor=logdata.XSS,
                object_name=logdata.XSS,
                user_agent=logdata.XSS,
                action_type=logdata.XSS,
                raw={"evil": logdata.XSS},
            )
        ],
    )
    client.force_login(rita)
    pages = [
        reverse("activities:list", args=[tenant_a.slug]),
        reverse("activities:detail", args=[tenant_a.slug, row.id]),
        reverse("accounts:detail", args=[tenant_a.slug, person.id]),
        reverse("accounts:list", args=[tenant_a.slug]),
    ]
    for url in pages:
        body = client.get(url).content.decode()
        assert logdata.XSS not in body, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, url


def test_list_query_count_does_not_grow_with_rows(
    client, rita, tenant_a, django_assert_max_num_queries
):
    apps = [logdata.app(tenant_a, f"App {i}") for i in range(5)]
    logdata.one_per_person(tenant_a, apps, 60, "p")
    client.force_login(rita)
    url = reverse("activities:list", args=[tenant_a.slug])
    client.get(url)  # warm the session and permission caches
    with django_assert_max_num_queries(
        10
    ):  # 8 today: session, user, tenant, perms x2, apps, rows, tenants menu
        response = client.get(url)
    assert len(_rows(response)) == 50


def test_charlie_gets_404_for_everything_of_a(client, charlie, tenant_a, world):
    client.force_login(charlie)
    item = world["rows"][0]
    for url in (
        reverse("activities:list", args=[tenant_a.slug]),
        reverse("activities:detail", args=[tenant_a.slug, item.id]),
        reverse("activities:export", args=[tenant_a.slug]),
    ):
        assert client.get(url).status_code == 404, url


def test_another_tenants_activity_is_404_in_ones_own_tenant(client, charlie, tenant_b, world):
    """Charlie asks for A's activity id under B's slug: the same 404 as a missing one."""
    client.force_login(charlie)
    item = world["rows"][0]
    response = client.get(reverse("activities:detail", args=[tenant_b.slug, item.id]))
    assert response.status_code == 404
    # and a filter on A's app id in B's log matches nothing
    response = client.get(
        reverse("activities:list", args=[tenant_b.slug]), {"app": world["crm"].id}
    )
    assert response.status_code == 200
    assert "virus_malware_file.exe" not in response.content.decode()


def test_the_log_is_read_only(client, rita, alice, tenant_a, world):
    for user in (rita, alice):
        client.force_login(user)
        url = reverse("activities:list", args=[tenant_a.slug])
        assert client.post(url, {}).status_code == 405
        detail = reverse("activities:detail", args=[tenant_a.slug, world["rows"][0].id])
        assert client.post(detail, {}).status_code == 405
