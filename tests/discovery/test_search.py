"""The header search bar finds discovered apps (by name or domain) and discovery reports;
another tenant's never."""

from __future__ import annotations

from django.urls import reverse

from tests.discovery.helpers import run_snapshot, squid_line


def test_search_finds_discovered_apps_and_reports_of_this_tenant_only(
    client, rita, charlie, tenant_a, tenant_b
):
    run_snapshot(tenant_a, squid_line(url="https://www.dropbox.com/") + "\n", name="HQ proxy")
    run_snapshot(tenant_b, squid_line(url="https://app.box.com/") + "\n", name="Bravo proxy")
    client.force_login(rita)
    url = reverse("tenants:search", args=[tenant_a.slug])
    page = client.get(url, {"q": "dropbox"}).content.decode()
    assert "Dropbox" in page
    assert reverse("discovery:app", args=[tenant_a.slug, "dropbox"]) in page
    assert "HQ proxy" in client.get(url, {"q": "proxy"}).content.decode()
    assert "Bravo proxy" not in client.get(url, {"q": "proxy"}).content.decode()
    # By domain; an app seen only by another tenant is not found.
    assert "Dropbox" in client.get(url, {"q": "dropboxapi"}).content.decode()
    box_page = reverse("discovery:app", args=[tenant_a.slug, "box"])
    assert box_page not in client.get(url, {"q": "box.com"}).content.decode()
    client.force_login(charlie)
    other = client.get(reverse("tenants:search", args=[tenant_b.slug]), {"q": "dropbox"})
    assert "Dropbox" not in other.content.decode()
