"""Portal access restrictions enforced on requests: networks (v4, v6), countries from the real
offline geoip2fast data, X-Forwarded-For only through trusted proxies; refusals are audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context

GB_ADDRESS = "81.2.69.142"
US_ADDRESS = "8.8.8.8"


def _dashboard(tenant):
    return reverse("tenants:dashboard", args=[tenant.slug])


def _policy(tenant, networks=(), countries=()):
    tenant.allowed_networks = list(networks)
    tenant.allowed_countries = list(countries)
    tenant.save(update_fields=["allowed_networks", "allowed_countries"])


def _denials(tenant):
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action="access.denied").order_by("seq"))


def test_disallowed_address_gets_the_403_page_and_an_audit_record(client, sam, tenant_a):
    _policy(tenant_a, networks=["198.51.100.0/24"])
    client.force_login(sam)
    response = client.get(_dashboard(tenant_a), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert "tenants/access_denied.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert "Access refused" in body and "203.0.113.9" in body
    [event] = _denials(tenant_a)
    assert event.ip == "203.0.113.9"
    assert event.actor_label == "sam@alpha.test"
    assert event.details == {"reason": "network_not_allowed", "path": "/t/alpha/"}


@pytest.mark.parametrize(
    ("networks", "address", "status"),
    [
        (["198.51.100.0/24"], "198.51.100.7", 200),
        (["198.51.100.0/24"], "198.51.101.7", 403),
        (["2001:db8::/32"], "2001:db8::5", 200),
        (["2001:db8::/32"], "2001:db9::5", 403),
        (["2001:db8::/32"], "198.51.100.7", 403),  # a v6-only policy refuses v4
        (["198.51.100.0/24", "2001:db8::/32"], "2001:db8:ffff::1", 200),
        (["198.51.100.0/24"], "::ffff:198.51.100.7", 200),  # IPv4-mapped matches as v4
    ],
)
def test_allowed_networks_v4_and_v6(client, rita, tenant_a, networks, address, status):
    _policy(tenant_a, networks=networks)
    client.force_login(rita)
    assert client.get(_dashboard(tenant_a), REMOTE_ADDR=address).status_code == status
    assert len(_denials(tenant_a)) == (status == 403)


@pytest.mark.parametrize(
    ("countries", "address", "status"),
    [
        (["US"], US_ADDRESS, 200),
        (["US"], GB_ADDRESS, 403),
        (["GB"], GB_ADDRESS, 200),
        (["GB"], US_ADDRESS, 403),
        (["GB", "US"], US_ADDRESS, 200),
        (["GB"], "10.1.2.3", 403),  # private: no country, refused by any country rule
    ],
)
def test_allowed_countries_from_real_geoip_data(client, rita, tenant_a, countries, address, status):
    _policy(tenant_a, countries=countries)
    client.force_login(rita)
    response = client.get(_dashboard(tenant_a), REMOTE_ADDR=address)
    assert response.status_code == status
    if status == 403:
        [event] = _denials(tenant_a)
        assert event.details["reason"] == "country_not_allowed"


def test_networks_and_countries_must_both_allow(client, rita, tenant_a):
    _policy(tenant_a, networks=["8.8.8.0/24"], countries=["GB"])
    client.force_login(rita)
    assert client.get(_dashboard(tenant_a), REMOTE_ADDR=US_ADDRESS).status_code == 403
    _policy(tenant_a, networks=["8.8.8.0/24"], countries=["US"])
    assert client.get(_dashboard(tenant_a), REMOTE_ADDR=US_ADDRESS).status_code == 200


def test_forwarded_for_is_ignored_without_trusted_proxies(client, rita, tenant_a, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    _policy(tenant_a, networks=["198.51.100.0/24"])
    client.force_login(rita)
    url = _dashboard(tenant_a)
    spoofed = client.get(url, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert spoofed.status_code == 403
    assert _denials(tenant_a)[0].ip == "203.0.113.9"
    direct = client.get(url, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert direct.status_code == 200


def test_forwarded_for_is_read_right_to_left_behind_one_proxy(client, rita, tenant_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    _policy(tenant_a, networks=["198.51.100.0/24"])
    client.force_login(rita)
    url = _dashboard(tenant_a)
    proxy = "10.0.0.1"
    # Our proxy appended the real client (rightmost); the left entry is the client's own claim.
    allowed = client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7")
    assert allowed.status_code == 200
    refused = client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9")
    assert refused.status_code == 403
    assert _denials(tenant_a)[-1].ip == "203.0.113.9"
    garbage = client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="not-an-address")
    assert garbage.status_code == 403  # no usable address: refused, not a 500


def test_refusal_applies_to_every_tenant_page(client, alice, tenant_a):
    _policy(tenant_a, networks=["198.51.100.0/24"])
    client.force_login(alice)
    for name in ("tenants:audit", "tenants:portal-security", "tenants:settings"):
        url = reverse(name, args=[tenant_a.slug])
        assert client.get(url, REMOTE_ADDR="203.0.113.9").status_code == 403
        response = client.post(url, {"allowed_networks": ""}, REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.allowed_networks == ["198.51.100.0/24"]
    assert len(_denials(tenant_a)) == 6


def test_a_malformed_stored_network_allows_nothing_and_is_not_a_500(client, rita, tenant_a):
    _policy(tenant_a, networks=["garbage", "198.51.100.0/24"])
    client.force_login(rita)
    assert client.get(_dashboard(tenant_a), REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get(_dashboard(tenant_a), REMOTE_ADDR="198.51.100.1").status_code == 200
