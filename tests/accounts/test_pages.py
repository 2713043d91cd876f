"""Users and accounts pages: the people / accounts list with filters, a person's entity page,
query counts, the API, and tenant isolation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import AccountStatus
from apps.activities import partitions
from apps.tenants.models import Role
from tests.activities import logdata
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def directory(tenant_a, tenant_b):
    now = timezone.now()
    crm = logdata.app(tenant_a, "Contoso CRM")
    mail = logdata.app(tenant_a, "Contoso Mail")
    ann = logdata.person(
        tenant_a,
        "ann@alpha.test",
        "Ann Admin",
        department="IT",
        job_title="Sysadmin",
        last_seen=now - dt.timedelta(days=1),
    )
    leo = logdata.person(
        tenant_a, "leo@alpha.test", "Leo Leaver", last_seen=now - dt.timedelta(days=120)
    )
    eve = logdata.person(
        tenant_a, "eve@partner.test", "Eve External", is_external=True, last_seen=None
    )
    ann_crm = logdata.account(tenant_a, crm, ann, is_admin=True, username="ann.admin")
    ann_mail = logdata.account(tenant_a, mail, ann, username="ann@alpha.test")
    leo_mail = logdata.account(
        tenant_a,
        mail,
        leo,
        status=AccountStatus.DELETED,
        deleted_seen_at=now - dt.timedelta(days=30),
        username="leo@alpha.test",
    )
    eve_crm = logdata.account(tenant_a, crm, eve, status=AccountStatus.SUSPENDED, username="eve")
    service = logdata.account(tenant_a, crm, None, username="svc-backup", external_id="svc-1")
    admins = logdata.group(tenant_a, "Domain admins", [ann_crm])
    sales = logdata.group(tenant_a, "Sales", [ann_mail, leo_mail])
    base = logdata.base_time()
    logdata.add(
        tenant_a,
        [
            logdata.activity_row(
                crm,
                base - dt.timedelta(hours=i),
                user=ann,
                account=ann_crm,
                ip=["10.0.0.1", "10.0.0.1", "203.0.113.9"][i % 3],
                country=["FR", "FR", "BR"][i % 3],
                object_name=f"doc-{i}.txt",
            )
            for i in range(25)
        ]
        + [
            logdata.activity_row(
                crm, base - dt.timedelta(days=45), user=ann, object_name="too-old.txt"
            )
        ],
    )
    b_app = logdata.app(tenant_b, "Bravo CRM")
    b_person = logdata.person(tenant_b, "zed@bravo.test", "Zed Bravo")
    logdata.account(tenant_b, b_app, b_person)
    return locals()


def _list(client, tenant, **params):
    return client.get(reverse("accounts:list", args=[tenant.slug]), params).content.decode()


def test_people_list(client, rita, tenant_a, directory):
    client.force_login(rita)
    body = _list(client, tenant_a)
    for text in ("Ann Admin", "Leo Leaver", "Eve External", "Contoso CRM", "Sales"):
        assert text in body, text
    assert "Zed Bravo" not in body
    assert "1\u20133 of 3 people" in body
    assert 'class="badge">external<' in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "leaver"}, {"Leo Leaver"}),
        ({"q": "ann.admin"}, {"Ann Admin"}),  # an account's user name finds its person
        ({"app": "crm"}, {"Ann Admin", "Eve External"}),
        ({"status": "deleted"}, {"Leo Leaver"}),
        ({"status": "suspended"}, {"Eve External"}),
        ({"admin": "true"}, {"Ann Admin"}),
        ({"admin": "false"}, {"Leo Leaver", "Eve External"}),
        ({"domain": "partner.test"}, {"Eve External"}),
        ({"domain": "@ALPHA.test"}, {"Ann Admin", "Leo Leaver"}),
        ({"external": "true"}, {"Eve External"}),
        ({"group": "sales"}, {"Ann Admin", "Leo Leaver"}),
        ({"last_seen": "7d"}, {"Ann Admin"}),
        ({"last_seen": "idle90"}, {"Leo Leaver"}),
        ({"last_seen": "never"}, {"Eve External"}),
    ],
)
def test_people_filters(client, rita, tenant_a, directory, params, expected):
    refs = {"crm": directory["crm"].id, "sales": directory["sales"].id}
    params = {k: refs.get(v, v) for k, v in params.items()}
    client.force_login(rita)
    body = _list(client, tenant_a, **params)
    names = {"Ann Admin", "Leo Leaver", "Eve External"}
    assert {name for name in names if f">{name}</a>" in body} == expected


def test_accounts_list_and_filters(client, rita, tenant_a, directory):
    client.force_login(rita)
    body = _list(client, tenant_a, type="account")
    for text in ("ann.admin", "svc-backup", "not joined", "Deleted in the app", "Suspended"):
        assert text in body, text
    assert "1\u20135 of 5 accounts" in body
    deleted = _list(client, tenant_a, type="account", status="deleted")
    assert "leo@alpha.test" in deleted and "ann.admin" not in deleted
    assert "since " in deleted  # the date it was seen deleted
    admins = _list(client, tenant_a, type="account", admin="true")
    assert "ann.admin" in admins and "svc-backup" not in admins
    group = _list(client, tenant_a, type="account", group=directory["admins"].id)
    assert "1\u20131 of 1 account" in group


def test_invalid_filters_show_errors(client, rita, tenant_a, directory):
    client.force_login(rita)
    body = _list(client, tenant_a, app="nope", last_seen="forever")
    assert "has-error" in body and "Ann Admin" not in body


def test_empty_states(client, rita, tenant_a):
    client.force_login(rita)
    assert "No users yet" in _list(client, tenant_a)
    assert "Nobody matches these filters" in _list(client, tenant_a, q="zzz")


def test_entity_page(client, rita, tenant_a, directory):
    client.force_login(rita)
    ann = directory["ann"]
    response = client.get(reverse("accounts:detail", args=[tenant_a.slug, ann.id]))
    assert response.status_code == 200
    body = response.content.decode()
    for text in (
        "Ann Admin",
        "ann@alpha.test",
        "Sysadmin",
        "Contoso CRM",
        "Contoso Mail",
        "ann.admin",
        "Domain admins",
        "Sales",
        "doc-0.txt",
        "25 activities in the last 30 days",
        "10.0.0.1",
        "203.0.113.9",
        "\U0001f1e7\U0001f1f7 BR",
        "No alerts",
    ):
        assert text in body, text
    assert "too-old.txt" not in body.split("IP addresses")[1], "aggregates cover 30 days"
    log = reverse("activities:list", args=[tenant_a.slug])
    assert f'href="{log}?user={ann.id}"' in body  # "see all" = the log filtered on her
    # IP counts: 10.0.0.1 is used in 2 of every 3 activities.
    assert ">17<" in body and ">8<" in body


def test_entity_page_of_a_leaver_shows_the_deleted_date(client, rita, tenant_a, directory):
    client.force_login(rita)
    leo = directory["leo"]
    body = client.get(reverse("accounts:detail", args=[tenant_a.slug, leo.id])).content.decode()
    seen = directory["leo_mail"].deleted_seen_at.strftime("%Y-%m-%d")
    assert "Deleted in the app" in body and f"seen deleted {seen}" in body
    assert "No activity" in body


def test_query_counts(client, rita, tenant_a, directory, django_assert_max_num_queries):
    for i in range(40):
        person = logdata.person(tenant_a, f"p{i}@alpha.test", f"P{i}")
        account = logdata.account(tenant_a, directory["crm"], person)
        logdata.group(tenant_a, f"G{i}", [account])
    client.force_login(rita)
    url = reverse("accounts:list", args=[tenant_a.slug])
    client.get(url)
    with django_assert_max_num_queries(14):
        assert "1\u201343 of 43 people" in client.get(url).content.decode()
    with django_assert_max_num_queries(12):
        client.get(url, {"type": "account"})
    detail = reverse("accounts:detail", args=[tenant_a.slug, directory["ann"].id])
    with django_assert_max_num_queries(15):
        client.get(detail)


def test_charlie_gets_404(client, charlie, tenant_a, tenant_b, directory):
    client.force_login(charlie)
    ann = directory["ann"]
    assert client.get(reverse("accounts:list", args=[tenant_a.slug])).status_code == 404
    assert client.get(reverse("accounts:detail", args=[tenant_a.slug, ann.id])).status_code == 404
    # A's person under B's slug: the same 404 as a missing one.
    assert client.get(reverse("accounts:detail", args=[tenant_b.slug, ann.id])).status_code == 404
    own = _list(client, tenant_b)
    assert "Zed Bravo" in own and "Ann Admin" not in own


def test_pages_are_read_only(client, alice, tenant_a, directory):
    client.force_login(alice)
    assert client.post(reverse("accounts:list", args=[tenant_a.slug])).status_code == 405
    url = reverse("accounts:detail", args=[tenant_a.slug, directory["ann"].id])
    assert client.post(url).status_code == 405


# --- API --------------------------------------------------------------------------------------


def _api(user, tenant, role=Role.SECURITY_READER) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


def test_users_api(rita, tenant_a, directory, django_assert_max_num_queries):
    api = _api(rita, tenant_a)
    api.get("/api/v1/users/")
    # 9 today (token, tenant, perms, count, people, accounts, memberships...): an N+1 over
    # 3 people would add 3 per relation.
    with django_assert_max_num_queries(10):
        body = api.get("/api/v1/users/").json()
    assert body["count"] == 3
    ann = next(p for p in body["results"] if p["identity"] == "ann@alpha.test")
    assert ann["is_admin"] is True
    assert {a["app"]["name"] for a in ann["accounts"]} == {"Contoso CRM", "Contoso Mail"}
    crm = next(a for a in ann["accounts"] if a["app"]["name"] == "Contoso CRM")
    assert [g["name"] for g in crm["groups"]] == ["Domain admins"]
    filtered = api.get("/api/v1/users/", {"status": "deleted"}).json()["results"]
    assert [p["identity"] for p in filtered] == ["leo@alpha.test"]
    one = api.get(f"/api/v1/users/{directory['leo'].id}/").json()
    assert one["accounts"][0]["status"] == "deleted"
    assert one["accounts"][0]["deleted_seen_at"]
    bad = api.get("/api/v1/users/", {"last_seen": "forever"})
    assert bad.status_code == 400 and "last_seen" in bad.json()["error"]["details"]


def test_accounts_api(rita, tenant_a, directory):
    api = _api(rita, tenant_a)
    body = api.get("/api/v1/accounts/", {"q": "svc"}).json()
    assert [a["username"] for a in body["results"]] == ["svc-backup"]
    assert body["results"][0]["person"] is None
    one = api.get(f"/api/v1/accounts/{directory['ann_crm'].id}/").json()
    assert one["person"] == str(directory["ann"].id) and one["is_admin"] is True


def test_users_api_never_shows_another_tenant(charlie, tenant_b, directory):
    api = _api(charlie, tenant_b, Role.GLOBAL_ADMIN)
    people = api.get("/api/v1/users/").json()["results"]
    assert [p["identity"] for p in people] == ["zed@bravo.test"]
    assert api.get(f"/api/v1/users/{directory['ann'].id}/").status_code == 404
    assert api.get(f"/api/v1/accounts/{directory['ann_crm'].id}/").status_code == 404
    accounts = api.get("/api/v1/accounts/").json()["results"]
    assert all("alpha" not in a["username"] for a in accounts)


def test_users_api_is_read_only(alice, tenant_a, directory):
    api = _api(alice, tenant_a, Role.GLOBAL_ADMIN)
    assert api.post("/api/v1/users/", {}, format="json").status_code == 405
    url = f"/api/v1/users/{directory['ann'].id}/"
    assert api.patch(url, {"display_name": "x"}, format="json").status_code == 405
    assert api.delete(url).status_code == 405
