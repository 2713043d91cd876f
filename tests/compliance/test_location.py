"""The data location and transparency page: the tenant's real geo and database alias, each kind
of data with its retention, the integrations with their data, the warning that other products
do not enforce our roles, no database credential anywhere, and charlie seeing nothing of A's."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.urls import reverse

from apps.compliance import location
from apps.compliance.models import RetentionSettings
from apps.connectors import services as connector_services
from apps.discovery import services as discovery_services
from apps.discovery.models import Receiver
from apps.integrations.registry import providers
from apps.tenants import token_services
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.factories import make_tenant, member

pytestmark = pytest.mark.django_db

WARNING = "Other products do not enforce the roles of this console"


def page(tenant) -> str:
    return reverse("compliance:location", args=[tenant.slug])


@pytest.fixture
def marked_credentials(monkeypatch):
    """Give every database a recognisable user, password and option for the test (the
    connections are opened first, so they keep working with the real credentials)."""
    for alias in connections:
        connections[alias].ensure_connection()
        conf = connections[alias].settings_dict
        monkeypatch.setitem(conf, "USER", f"dbuser-marker-{alias}")
        monkeypatch.setitem(conf, "PASSWORD", f"dbpass-marker-{alias}")
        monkeypatch.setitem(conf, "OPTIONS", {**conf["OPTIONS"], "sslkey": f"opt-marker-{alias}"})
    return ("dbuser-marker", "dbpass-marker", "opt-marker")


def test_a_reader_sees_the_eu_geo_database_kinds_and_links(client, rita, tenant_a):
    client.force_login(rita)
    response = client.get(page(tenant_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert "European Union" in body
    assert "cannot be moved to another geo" in body
    assert "<code>default</code>" in body
    assert connections["default"].settings_dict["NAME"] in body
    for label in (
        "Activity log",
        "Discovery data",
        "Alerts",
        "Governance log",
        "Users and accounts",
        "Settings and policies",
        "Audit log",
        "Connector credentials and keys (encrypted)",
    ):
        assert label in body, label
    assert "180 days" in body and "120 days" in body and "90 days" in body
    assert "Encrypted at rest with the tenant key." in body
    assert WARNING in body
    assert "only to provide the service" in body and "never stored" in body
    assert reverse("compliance:retention", args=[tenant_a.slug]) in body
    assert reverse("compliance:offboarding", args=[tenant_a.slug]) in body
    # Nothing to submit for anyone: the only form is "sign out".
    assert body.count('method="post"') == 1
    assert "shorten a period there" not in body  # a reader cannot change retention


def test_an_admin_is_told_where_to_change_things(client, sam, tenant_a):
    client.force_login(sam)
    body = client.get(page(tenant_a)).content.decode()
    assert "shorten a period there" in body
    assert "Change or remove an integration on its own page" in body


@pytest.mark.django_db(databases=["default", "geo_us"])
def test_a_us_tenant_shows_its_us_database(client):
    tenant = make_tenant("Uniform", geo="us")
    user = member(tenant, Role.SECURITY_READER, username="ursula@uniform.test")
    with tenant_context(tenant):
        RetentionSettings.objects.create(activities_days=30)
    client.force_login(user)
    body = client.get(page(tenant)).content.decode()
    assert "United States" in body
    assert "<code>geo_us</code>" in body
    assert connections["geo_us"].settings_dict["NAME"] in body
    assert "30 days (shortened from 180)" in body
    answer = location.data_location(tenant=tenant)
    assert answer.alias == "geo_us"
    assert {p.store.alias for p in answer.tenant_data if p.store} == {"geo_us"}
    assert {p.store.alias for p in answer.control_plane} == {"default"}


def test_no_database_user_password_or_option_is_shown(client, alice, tenant_a, marked_credentials):
    client.force_login(alice)
    body = client.get(page(tenant_a)).content.decode()
    assert "default" in body
    for marker in marked_credentials:
        assert marker not in body


def test_the_real_database_user_is_not_shown(client, alice, tenant_a):
    client.force_login(alice)
    body = client.get(page(tenant_a)).content.decode()
    for alias in connections:
        conf = connections[alias].settings_dict
        if conf.get("PASSWORD"):
            assert conf["PASSWORD"] not in body
        if conf.get("USER"):
            # "PostgreSQL" may contain a user named "postgres": look for the whole word.
            assert not re.search(rf"(?<![\w.-]){re.escape(conf['USER'])}(?![\w.-])", body)


def test_integrations_of_the_tenant_with_their_data(client, rita, tenant_a):
    token_services.create_token(
        tenant=tenant_a, creator=rita, name="Rita pull", role=Role.SECURITY_READER
    )
    connector_services.create_instance(
        tenant=tenant_a,
        actor=None,
        vendor="okta",
        name="Alpha Okta",
        base_url="https://localhost",
        credentials={"api_token": "okta-secret-value"},
    )
    client.force_login(rita)
    body = client.get(page(tenant_a)).content.decode()
    assert "Rita pull" in body and "Alpha Okta" in body
    assert "Governance actions (the account, file or app id to act on)" in body
    assert "Never sent" in body
    assert "okta-secret-value" not in body
    assert reverse("tenants:tokens", args=[tenant_a.slug]) in body


def test_empty_states_say_what_would_appear(client, rita, tenant_a):
    client.force_login(rita)
    body = client.get(page(tenant_a)).content.decode()
    # One empty state per registered provider (ICAP and the SIEM/webhook group included).
    assert body.count("None configured.") == len(providers())
    assert "Each active API token would appear here" in body


def test_charlie_gets_404_and_sees_only_his_tenant(client, charlie, rita, tenant_a, tenant_b):
    token_services.create_token(
        tenant=tenant_a, creator=rita, name="Alpha secret token", role=Role.SECURITY_READER
    )
    client.force_login(charlie)
    assert client.get(page(tenant_a)).status_code == 404
    assert client.post(page(tenant_a)).status_code == 404
    body = client.get(page(tenant_b)).content.decode()
    assert "United Kingdom" in body
    assert "Alpha secret token" not in body and tenant_a.name not in body


def test_every_tenant_model_is_described():
    assert location.unclassified_models() == []


def test_encryption_is_claimed_only_where_true(tenant_a):
    answer = location.data_location(tenant=tenant_a)
    encrypted = {p.key for p in answer.tenant_data + answer.control_plane if p.encrypted}
    assert encrypted == {"secrets", "discovery_spool", "tenant_keys"}


def test_page_queries_stay_flat(client, alice, tenant_a, django_assert_max_num_queries):
    for n in range(6):
        token_services.create_token(
            tenant=tenant_a, creator=alice, name=f"token {n}", role=Role.SECURITY_READER
        )
        connector_services.create_instance(
            tenant=tenant_a,
            actor=None,
            vendor="okta",
            name=f"Okta {n}",
            base_url="https://localhost",
            credentials={"api_token": f"secret-{n}"},
        )
        with tenant_context(tenant_a):
            discovery_services.create_data_source(
                name=f"Firewall {n}",
                log_format="squid_native",
                actor="test",
                receiver=Receiver.SYSLOG_TCP,
                port=6000 + n,
            )
    client.force_login(alice)
    # A fixed number per section and one or two per integration provider (ICAP, destinations).
    with django_assert_max_num_queries(14):
        response = client.get(page(tenant_a))
    assert response.status_code == 200
    assert response.content.decode().count("Configure</a>") == 18
