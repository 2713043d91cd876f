"""The header search bar: people, accounts, IP addresses, apps and activities by object name,
each hit opening the entity page or the filtered log; scoped by tenant and role."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from apps.activities import partitions
from apps.tenants.search import search as run_search
from tests.activities import logdata

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def found(tenant_a, tenant_b):
    crm = logdata.app(tenant_a, "Contoso Salesforce")
    ann = logdata.person(tenant_a, "Ann.Smith@alpha.test", "Ann Smith")
    ann_crm = logdata.account(tenant_a, crm, ann, username="asmith", external_id="005xx01")
    service = logdata.account(tenant_a, crm, None, username="svc-reports", external_id="svc-9")
    (seen,) = logdata.add(
        tenant_a,
        [
            logdata.activity_row(
                crm,
                logdata.base_time(),
                user=ann,
                account=ann_crm,
                ip="198.51.100.7",
                country="NL",
                object_name="Merger plan FINAL.docx",
            )
        ],
    )
    logdata.add(
        tenant_a,
        [
            logdata.activity_row(
                crm,
                logdata.base_time() - dt.timedelta(days=60),
                object_name="Ancient merger notes.txt",
            )
        ],
    )
    b_app = logdata.app(tenant_b, "Bravo Salesforce")
    logdata.person(tenant_b, "ann.other@bravo.test", "Ann Other")
    logdata.add(
        tenant_b,
        [
            logdata.activity_row(
                b_app, logdata.base_time(), ip="198.51.100.8", object_name="Merger B"
            )
        ],
    )
    return {"crm": crm, "ann": ann, "service": service, "activity": seen}


def _search(client, tenant, q: str) -> str:
    response = client.get(reverse("tenants:search", args=[tenant.slug]), {"q": q})
    assert response.status_code == 200
    return response.content.decode()


def test_people_by_name_email_and_upn(client, rita, tenant_a, found):
    client.force_login(rita)
    page = reverse("accounts:detail", args=[tenant_a.slug, found["ann"].id])
    for q in ("Smith", "ann.smith@ALPHA", "alpha.test"):
        body = _search(client, tenant_a, q)
        assert f'href="{page}">Ann Smith</a>' in body, q


def test_accounts_open_the_person_or_the_accounts_log(client, rita, tenant_a, found):
    client.force_login(rita)
    page = reverse("accounts:detail", args=[tenant_a.slug, found["ann"].id])
    assert f'href="{page}">asmith</a>' in _search(client, tenant_a, "asmith")
    assert f'href="{page}">asmith</a>' in _search(client, tenant_a, "005xx01")
    log = reverse("activities:list", args=[tenant_a.slug])
    body = _search(client, tenant_a, "svc-rep")
    assert f'href="{log}?account={found["service"].id}">svc-reports</a>' in body


def test_an_exact_ip_opens_its_activities(client, rita, tenant_a, found):
    client.force_login(rita)
    body = _search(client, tenant_a, "198.51.100.7")
    log = reverse("activities:list", args=[tenant_a.slug])
    assert f'href="{log}?ip=198.51.100.7">198.51.100.7</a>' in body
    assert "NL" in body
    assert "IP addresses" not in _search(client, tenant_a, "198.51.100.9")  # never seen
    assert "IP addresses" not in _search(client, tenant_a, "198.51.100.8")  # B's


def test_apps_by_name(client, rita, tenant_a, found):
    client.force_login(rita)
    body = _search(client, tenant_a, "salesforce")
    log = reverse("activities:list", args=[tenant_a.slug])
    assert f'href="{log}?app={found["crm"].id}">Contoso Salesforce</a>' in body
    assert "Bravo Salesforce" not in body


def test_activities_by_object_name(client, rita, tenant_a, found):
    client.force_login(rita)
    body = _search(client, tenant_a, "merger")
    detail = reverse("activities:detail", args=[tenant_a.slug, found["activity"].id])
    assert f'href="{detail}">Merger plan FINAL.docx</a>' in body
    assert "Ancient merger notes.txt" not in body, "the search looks at the last 30 days"
    assert "Merger B" not in body
    log = reverse("activities:list", args=[tenant_a.slug])
    assert f'href="{log}?q=merger">All activities mentioning' in body
    # Whole words: "merge" is not a word of "Merger plan FINAL.docx".
    assert "Merger plan FINAL.docx" not in _search(client, tenant_a, "merge")


def test_charlie_finds_nothing_of_a(client, charlie, tenant_a, tenant_b, found):
    client.force_login(charlie)
    assert (
        client.get(reverse("tenants:search", args=[tenant_a.slug]), {"q": "ann"}).status_code == 404
    )
    for q in ("Ann Smith", "asmith", "198.51.100.7", "Contoso", "merger plan", "svc-reports"):
        body = _search(client, tenant_b, q)
        for secret in ("Ann Smith", "asmith", "198.51.100.7", "Contoso Salesforce", "FINAL.docx"):
            results = body.split("</p></div>", 1)[1]  # after the echo of the query
            assert secret not in results, (q, secret)
    assert "Ann Other" in _search(client, tenant_b, "ann")


def test_providers_ask_the_role(rf, rita, tenant_a, found):
    """A principal without VIEW gets nothing from any provider (they ask request.actions)."""
    from apps.tenants.scoping import tenant_context

    request = rf.get("/")
    request.user, request.tenant, request.actions = rita, tenant_a, frozenset()
    with tenant_context(tenant_a):
        assert run_search(request, "ann") == {}
        assert run_search(request, "198.51.100.7") == {}


def test_odd_input_is_harmless(client, rita, tenant_a, found):
    client.force_login(rita)
    for q in ('"', "((", "\\", "%_%", "a\x00b", "' OR 1=1 --", "<script>x</script>"):
        response = client.get(reverse("tenants:search", args=[tenant_a.slug]), {"q": q})
        assert response.status_code == 200, q
        assert "<script>x</script>" not in response.content.decode()
