"""The console shell: every member sees the navigation; strangers get 404."""

from __future__ import annotations

from django.urls import reverse


def test_dashboard_renders_navigation(client, alice, tenant_a):
    client.force_login(alice)
    response = client.get(reverse("tenants:dashboard", args=[tenant_a.slug]))
    assert response.status_code == 200
    for label in (
        "Activities",
        "Users and accounts",
        "Alerts",
        "Policies",
        "Governance log",
        "Cloud Discovery",
        "Files",
        "Settings",
        "Audit",
    ):
        assert label in response.content.decode()


def test_other_tenant_is_404(client, charlie, tenant_a):
    client.force_login(charlie)
    assert client.get(reverse("tenants:dashboard", args=[tenant_a.slug])).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, tenant_a):
    response = client.get(reverse("tenants:dashboard", args=[tenant_a.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_reader_cannot_add_members(client, rita, tenant_a, nobody):
    client.force_login(rita)
    url = reverse("tenants:members", args=[tenant_a.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, {"user": nobody.username, "role": "security_reader"})
    assert response.status_code == 403


def test_admin_adds_member_and_it_is_audited(client, alice, tenant_a, nobody):
    client.force_login(alice)
    url = reverse("tenants:members", args=[tenant_a.slug])
    response = client.post(url, {"user": nobody.email, "role": "security_reader"})
    assert response.status_code == 302
    from apps.tenants.models import AuditEvent
    from apps.tenants.scoping import tenant_context

    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(
            action="member.added", details__member=nobody.username
        ).exists()


def test_search_finds_members(client, rita, alice, tenant_a):
    client.force_login(rita)
    response = client.get(reverse("tenants:search", args=[tenant_a.slug]), {"q": "alice"})
    assert response.status_code == 200
    assert "alice@alpha.test" in response.content.decode()


def test_a_cancelled_tenant_says_when_its_data_goes_on_every_page(client, rita, tenant_a):
    import datetime as dt

    client.force_login(rita)
    url = reverse("tenants:dashboard", args=[tenant_a.slug])
    assert "subscription of" not in client.get(url).content.decode()
    tenant_a.status = "cancelled"
    tenant_a.delete_after = dt.datetime(2027, 1, 9, tzinfo=dt.UTC)
    tenant_a.save(update_fields=["status", "delete_after"])
    page = client.get(url).content.decode()
    assert "is cancelled" in page and "9 Jan 2027" in page
    assert reverse("compliance:offboarding", args=[tenant_a.slug]) in page
