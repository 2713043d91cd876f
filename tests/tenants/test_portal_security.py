"""The portal security page: validation, the self-lock-out guard, MFA switch, audit, roles."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.tenants.access_policy import parse_countries, parse_networks
from apps.tenants.models import AuditEvent, Tenant
from apps.tenants.scoping import tenant_context

GB_ADDRESS = "81.2.69.142"
US_ADDRESS = "8.8.8.8"


def _url(tenant):
    return reverse("tenants:portal-security", args=[tenant.slug])


def _post(client, tenant, ip="127.0.0.1", **data):
    payload = {"allowed_networks": "", "allowed_countries": ""}
    payload.update(data)
    return client.post(_url(tenant), payload, REMOTE_ADDR=ip)


def _changes(tenant):
    with tenant_context(tenant):
        return list(
            AuditEvent.objects.filter(action="settings.portal_security_changed").order_by("seq")
        )


def test_admin_saves_networks_normalised_and_audited(client, alice, tenant_a):
    client.force_login(alice)
    response = _post(
        client,
        tenant_a,
        allowed_networks="127.0.0.0/8\n\n 10.1.2.3/8 \n2001:DB8::/32\n192.0.2.7\n127.0.0.0/8",
    )
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.allowed_networks == [
        "127.0.0.0/8",
        "10.0.0.0/8",
        "2001:db8::/32",
        "192.0.2.7/32",
    ]
    [event] = _changes(tenant_a)
    assert event.actor_label == "alice@alpha.test"
    assert event.ip == "127.0.0.1"
    assert event.details["before"]["allowed_networks"] == []
    assert event.details["after"]["allowed_networks"] == tenant_a.allowed_networks
    assert event.details["changed"] == ["allowed_networks"]
    assert "self_lockout_confirmed" not in event.details


def test_bad_network_lines_are_named(client, alice, tenant_a):
    client.force_login(alice)
    response = _post(client, tenant_a, allowed_networks="127.0.0.0/8\n10.0.0.0/33\n\nfoo bar\n")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Line 2: “10.0.0.0/33” is not a network" in body
    assert "Line 4: “foo bar” is not a network" in body
    tenant_a.refresh_from_db()
    assert tenant_a.allowed_networks == []
    assert _changes(tenant_a) == []


def test_countries_are_validated_against_iso_3166_and_shown_by_name(client, alice, tenant_a):
    client.force_login(alice)
    response = _post(client, tenant_a, ip=GB_ADDRESS, allowed_countries="xx, GB, ZZ")
    assert response.status_code == 400
    assert "“xx”, “ZZ”" in response.content.decode()
    response = _post(client, tenant_a, ip=GB_ADDRESS, allowed_countries="gb ie,GB")
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.allowed_countries == ["GB", "IE"]
    page = client.get(_url(tenant_a), REMOTE_ADDR=GB_ADDRESS).content.decode()
    assert "United Kingdom" in page and "Ireland" in page


def test_parsers_reject_what_the_gate_could_never_match():
    with pytest.raises(ValidationError, match="IPv4 network"):
        parse_networks("::ffff:0:0/96")
    with pytest.raises(ValidationError, match="At most"):
        parse_networks("\n".join(f"10.{i // 256}.{i % 256}.0/24" for i in range(501)))
    assert parse_countries(" ") == []
    with pytest.raises(ValidationError):
        parse_countries("GBR")


def test_policy_refusing_own_address_needs_confirmation(client, alice, tenant_a):
    client.force_login(alice)
    response = _post(client, tenant_a, ip="203.0.113.9", allowed_networks="198.51.100.0/24")
    assert response.status_code == 400
    body = response.content.decode()
    assert "would refuse your current address 203.0.113.9" in body
    assert "outside the allowed networks" in body
    assert 'name="confirm_lockout"' in body
    tenant_a.refresh_from_db()
    assert tenant_a.allowed_networks == []

    response = _post(
        client,
        tenant_a,
        ip="203.0.113.9",
        allowed_networks="198.51.100.0/24",
        confirm_lockout="on",
    )
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.allowed_networks == ["198.51.100.0/24"]
    [event] = _changes(tenant_a)
    assert event.details["self_lockout_confirmed"] is True
    # And the policy now applies to the admin too.
    assert client.get(_url(tenant_a), REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get(_url(tenant_a), REMOTE_ADDR="198.51.100.4").status_code == 200


def test_country_rule_checked_against_own_address(client, alice, tenant_a):
    client.force_login(alice)
    assert _post(client, tenant_a, ip=GB_ADDRESS, allowed_countries="US").status_code == 400
    response = _post(client, tenant_a, ip=GB_ADDRESS, allowed_countries="US")
    assert "its country (United Kingdom) is not allowed" in response.content.decode()
    assert _post(client, tenant_a, ip=US_ADDRESS, allowed_countries="US").status_code == 302
    # A private address has no country: a country rule would refuse it.
    response = _post(client, tenant_a, ip="10.0.0.8", allowed_countries="US")
    assert response.status_code == 403  # the saved rule already refuses this request
    tenant_a.refresh_from_db()
    assert tenant_a.allowed_countries == ["US"]


def test_private_address_needs_confirmation_for_a_country_rule(client, alice, tenant_a):
    client.force_login(alice)
    response = _post(client, tenant_a, allowed_countries="GB")
    assert response.status_code == 400
    assert "its country is unknown" in response.content.decode()


def test_turning_on_mfa_sends_an_unverified_admin_to_enrol(client, alice, tenant_a):
    client.force_login(alice)
    page = client.get(_url(tenant_a)).content.decode()
    assert "has not passed a second factor" in page
    response = _post(client, tenant_a, require_mfa="on", allowed_networks="")
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.require_mfa is True
    [event] = _changes(tenant_a)
    assert event.details["changed"] == ["require_mfa"]
    followed = client.get(response["Location"])
    assert followed.status_code == 302
    assert followed["Location"].startswith(reverse("mfa-enrol"))
    messages = [str(m) for m in followed.wsgi_request._messages]
    assert any("MFA is now required" in m for m in messages)


def test_saving_nothing_new_writes_nothing(client, alice, tenant_a):
    client.force_login(alice)
    response = _post(client, tenant_a)
    assert response.status_code == 302
    assert _changes(tenant_a) == []


def test_over_long_input_is_a_form_error(client, alice, tenant_a):
    client.force_login(alice)
    response = _post(client, tenant_a, allowed_networks="1" * 20001)
    assert response.status_code == 400


def test_reader_and_security_admin_read_but_cannot_write(client, rita, sam, tenant_a):
    for user in (rita, sam):
        client.force_login(user)
        page = client.get(_url(tenant_a))
        assert page.status_code == 200
        assert "Only global admins can change portal security." in page.content.decode()
        assert 'name="allowed_networks"' not in page.content.decode()
        response = _post(client, tenant_a, allowed_networks="10.0.0.0/8", confirm_lockout="on")
        assert response.status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.allowed_networks == []


def test_other_tenant_admin_gets_404_and_changes_nothing(client, charlie, tenant_a):
    client.force_login(charlie)
    assert client.get(_url(tenant_a)).status_code == 404
    response = _post(client, tenant_a, allowed_networks="10.0.0.0/8", confirm_lockout="on")
    assert response.status_code == 404
    assert Tenant.objects.get(pk=tenant_a.pk).allowed_networks == []


def test_anonymous_is_sent_to_sign_in(client, tenant_a):
    for response in (client.get(_url(tenant_a)), _post(client, tenant_a)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
