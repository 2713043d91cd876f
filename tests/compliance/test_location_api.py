"""The privacy API's data location and integrations: the token's own tenant only, its real geo
and alias, every kind with its retention, the integrations with their data, no database
credential, and charlie's token seeing only tenant B."""

from __future__ import annotations

import pytest
from django.db import connections
from django.urls import reverse

from apps.connectors import services as connector_services
from apps.tenants import token_services
from apps.tenants.models import Role
from tests.factories import make_tenant, member
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db

LOCATION = reverse("api-privacy-data-location")
INTEGRATIONS = reverse("api-privacy-integrations")


def _as(api_client, user, tenant, role):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return api_client


def test_data_location_of_an_eu_tenant(api_client, rita, tenant_a):
    response = _as(api_client, rita, tenant_a, Role.SECURITY_READER).get(LOCATION)
    assert response.status_code == 200
    body = response.json()
    assert (body["geo"], body["alias"], body["movable"]) == ("eu", "default", False)
    assert body["store"]["database"] == connections["default"].settings_dict["NAME"]
    kinds = {p["key"]: p for p in body["tenant_data"]}
    assert {"activities", "discovery", "alerts", "governance", "accounts", "settings", "audit"} <= (
        set(kinds)
    )
    assert (kinds["activities"]["effective_days"], kinds["activities"]["max_days"]) == (180, 180)
    assert kinds["secrets"]["encrypted"] is True
    assert kinds["activities"]["encrypted"] is False
    assert {p["store"]["alias"] for p in body["control_plane"]} == {"default"}
    for conf in (connections[a].settings_dict for a in connections):
        if conf.get("PASSWORD"):
            assert conf["PASSWORD"] not in response.content.decode()
    assert "USER" not in response.content.decode() and "PASSWORD" not in response.content.decode()


@pytest.mark.django_db(databases=["default", "geo_us"])
def test_data_location_of_a_us_tenant(api_client):
    tenant = make_tenant("Uniform", geo="us")
    user = member(tenant, Role.GLOBAL_ADMIN, username="ursula@uniform.test")
    body = _as(api_client, user, tenant, Role.SECURITY_READER).get(LOCATION).json()
    assert (body["geo"], body["geo_name"], body["alias"]) == ("us", "United States", "geo_us")
    assert body["store"]["database"] == connections["geo_us"].settings_dict["NAME"]


def test_integrations_list_the_callers_token_with_its_data(api_client, rita, tenant_a, alice):
    connector_services.create_instance(
        tenant=tenant_a,
        actor=None,
        vendor="okta",
        name="Alpha Okta",
        base_url="https://localhost",
        credentials={"api_token": "okta-secret-value"},
    )
    response = _as(api_client, rita, tenant_a, Role.SECURITY_READER).get(INTEGRATIONS)
    assert response.status_code == 200
    body = response.json()
    assert "do not enforce the roles" in body["warning"]
    items = {i["name"]: i for i in body["integrations"]}
    token = items["matrix"]  # the token this request used
    assert token["provider"] == "api_tokens" and token["direction"] == "outbound"
    receives = [flow["data_kind"] for flow in token["receives"]]
    assert "audit_log" not in receives and "alerts" in receives
    assert {"data_kind": "alerts", "label": "Alerts"} in token["receives"]
    assert {"label": "Created by", "value": "rita@alpha.test"} in token["details"]
    okta = items["Alpha Okta"]
    assert okta["direction"] == "both" and [f["data_kind"] for f in okta["receives"]] == [
        "governance_actions"
    ]
    assert all(i["private_activities_sent"] is False for i in body["integrations"])
    assert "okta-secret-value" not in response.content.decode()


def test_charlies_token_sees_only_tenant_b(api_client, rita, tenant_a, charlie, tenant_b):
    token_services.create_token(
        tenant=tenant_a, creator=rita, name="Alpha secret token", role=Role.SECURITY_READER
    )
    client = _as(api_client, charlie, tenant_b, Role.GLOBAL_ADMIN)
    integrations = client.get(INTEGRATIONS)
    assert [i["name"] for i in integrations.json()["integrations"]] == ["matrix"]
    assert "Alpha secret token" not in integrations.content.decode()
    location = client.get(LOCATION).json()
    assert location["geo"] == "uk"


def test_reads_only(api_client, alice, tenant_a):
    client = _as(api_client, alice, tenant_a, Role.GLOBAL_ADMIN)
    for url in (LOCATION, INTEGRATIONS):
        assert client.post(url, {}, format="json").status_code == 405
        assert client.delete(url).status_code == 405
    api_client.credentials()
    assert api_client.get(LOCATION).status_code == 401


def test_integrations_queries_stay_flat(api_client, alice, tenant_a, django_assert_max_num_queries):
    for n in range(5):
        token_services.create_token(
            tenant=tenant_a, creator=alice, name=f"token {n}", role=Role.SECURITY_READER
        )
    client = _as(api_client, alice, tenant_a, Role.GLOBAL_ADMIN)
    with django_assert_max_num_queries(12):
        response = client.get(INTEGRATIONS)
    assert len(response.json()["integrations"]) == 6
