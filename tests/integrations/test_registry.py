"""The integrations registry: every configured integration of a tenant and exactly which data it
receives, read from the configuration (tokens, connected apps, discovery data sources), and
nothing of another tenant's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.connectors import services as connector_services
from apps.discovery import services as discovery_services
from apps.discovery.models import Receiver
from apps.integrations import registry
from apps.integrations.registry import Data, Direction, Integration
from apps.tenants import token_services
from apps.tenants.models import ApiToken, Membership, Role
from apps.tenants.scoping import tenant_context

pytestmark = pytest.mark.django_db

READER_KINDS = {
    Data.ALERTS,
    Data.ACTIVITIES,
    Data.ACCOUNTS,
    Data.DISCOVERY,
    Data.GOVERNANCE_LOG,
    Data.SETTINGS,
}


def _by_name(tenant) -> dict[str, Integration]:
    return {i.name: i for i in registry.integrations_for(tenant=tenant)}


def _okta(tenant, name="Alpha Okta"):
    return connector_services.create_instance(
        tenant=tenant,
        actor=None,
        vendor="okta",
        name=name,
        base_url="https://localhost",
        credentials={"api_token": "okta-secret-value"},
    )


def test_a_readers_token_is_listed_with_its_roles_data_until_revoked(tenant_a, rita):
    made = token_services.create_token(
        tenant=tenant_a, creator=rita, name="Rita SIEM pull", role=Role.SECURITY_READER
    )
    item = _by_name(tenant_a)["Rita SIEM pull"]
    assert item.provider == "api_tokens"
    assert item.direction == Direction.OUTBOUND
    assert set(item.receives) == READER_KINDS
    # A reader never reads the audit log, exports in bulk or resolves pseudonyms.
    assert not {Data.AUDIT_LOG, Data.ACTIVITY_EXPORTS, Data.DISCOVERY_IDENTITIES} & set(
        item.receives
    )
    assert item.private_activities_sent is False
    details = dict(item.details)
    assert details["Role"] == "Security reader"
    assert details["Created by"] == "rita@alpha.test"
    assert details["Last used"] == "never"
    assert "May also change" not in details
    assert item.configure_url == reverse("tenants:tokens", args=[tenant_a.slug])

    token_services.revoke_token(token=made.token, actor=rita)
    assert "Rita SIEM pull" not in _by_name(tenant_a)


def test_a_global_admins_token_reads_more_and_may_change(tenant_a, alice):
    token_services.create_token(
        tenant=tenant_a, creator=alice, name="Alice automation", role=Role.GLOBAL_ADMIN
    )
    item = _by_name(tenant_a)["Alice automation"]
    assert {Data.AUDIT_LOG, Data.ACTIVITY_EXPORTS, Data.DISCOVERY_IDENTITIES} <= set(item.receives)
    assert "governance actions" in dict(item.details)["May also change"]


def test_a_token_is_capped_by_its_creators_current_role(tenant_a, alice):
    token_services.create_token(
        tenant=tenant_a, creator=alice, name="Orphan", role=Role.GLOBAL_ADMIN
    )
    Membership.objects.filter(tenant=tenant_a, user=alice).update(role=Role.SECURITY_READER)
    assert set(_by_name(tenant_a)["Orphan"].receives) == READER_KINDS

    Membership.objects.filter(tenant=tenant_a, user=alice).delete()
    orphan = _by_name(tenant_a)["Orphan"]
    assert orphan.receives == ()
    assert orphan.status == "no_access"


def test_an_expired_token_receives_nothing_and_is_not_listed(tenant_a, rita):
    made = token_services.create_token(
        tenant=tenant_a,
        creator=rita,
        name="Short lived",
        role=Role.SECURITY_READER,
        expires_at=timezone.now() + timedelta(days=1),
    )
    assert "Short lived" in _by_name(tenant_a)
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now())
    assert "Short lived" not in _by_name(tenant_a)


def test_a_connected_app_is_inbound_and_receives_governance_actions(tenant_a):
    instance = _okta(tenant_a)
    item = _by_name(tenant_a)["Alpha Okta"]
    assert item.provider == "connected_apps"
    assert item.direction == Direction.BOTH
    assert set(item.sends) == {Data.ACTIVITIES, Data.ACCOUNTS}
    assert item.receives == (Data.GOVERNANCE_ACTIONS,)
    details = dict(item.details)
    assert details["Vendor"] == "Okta"
    assert "Suspend user" in details["Governance actions it may receive"]
    assert item.configure_url == reverse("connectors:detail", args=[tenant_a.slug, instance.pk])
    # The credentials are never part of what the registry reports.
    assert "okta-secret-value" not in repr(item)


def test_a_syslog_data_source_is_inbound_with_its_port(tenant_a):
    with tenant_context(tenant_a):
        source = discovery_services.create_data_source(
            name="Alpha firewall",
            log_format="squid_native",
            actor="test",
            receiver=Receiver.SYSLOG_UDP,
            port=5514,
            anonymize=True,
        )
    item = _by_name(tenant_a)["Alpha firewall"]
    assert item.direction == Direction.INBOUND
    assert item.sends == (Data.TRAFFIC_LOGS,) and item.receives == ()
    details = dict(item.details)
    assert details["Log collector port"] == "5514"
    assert details["Usernames"].startswith("anonymised")
    assert item.status_label == "No data yet"
    assert item.configure_url == reverse("discovery:source", args=[tenant_a.slug, source.pk])


def test_charlie_sees_only_his_own_tenants_integrations(tenant_a, tenant_b, rita, charlie):
    token_services.create_token(
        tenant=tenant_a, creator=rita, name="Alpha token", role=Role.SECURITY_READER
    )
    _okta(tenant_a)
    token_services.create_token(
        tenant=tenant_b, creator=charlie, name="Bravo token", role=Role.GLOBAL_ADMIN
    )
    names = set(_by_name(tenant_b))
    assert names == {"Bravo token"}
    assert "Bravo token" not in _by_name(tenant_a)


def test_groups_keep_empty_providers_with_what_would_appear(tenant_a):
    groups = registry.grouped_for(tenant=tenant_a)
    assert [g.provider.name for g in groups][:3] == [
        "api_tokens",
        "connected_apps",
        "discovery_sources",
    ]
    assert all(g.items == [] and g.provider.empty for g in groups)


def test_a_new_provider_registers_once_by_name(tenant_a):
    @registry.register("test_webhooks", label="Webhooks", order=90, empty="Webhooks here.")
    def webhooks(tenant):
        yield Integration(
            provider="test_webhooks",
            id="1",
            name=f"Hook of {tenant.slug}",
            type="Webhook",
            direction=Direction.OUTBOUND,
            status="active",
            status_label="Active",
            configure_url="/",
            receives=(Data.ALERTS,),
        )

    try:
        assert _by_name(tenant_a)["Hook of alpha"].receives_labels == ["Alerts"]
        with pytest.raises(ValueError, match="two integration providers"):
            registry.register("test_webhooks", label="Again")(webhooks)
    finally:
        registry.unregister("test_webhooks")
    assert "Hook of alpha" not in _by_name(tenant_a)


def test_a_microsoft_365_connection_names_the_audit_streams_we_read(tenant_a):
    connector_services.create_instance(
        tenant=tenant_a,
        actor=None,
        vendor="office365",
        name="Alpha 365",
        base_url="https://localhost",
        credentials={
            "tenant_id": "6f1c0d8e-1b7a-4c1e-9a53-3d2a4c0e9b11",
            "client_id": "0f9d2f6a-7c1e-4e3b-8a55-1d2e3f4a5b6c",
            "client_secret": "m365-secret-value",
        },
    )
    details = dict(_by_name(tenant_a)["Alpha 365"].details)
    assert "Audit.Exchange" in details["Audit log streams read"]
    assert details["Vendor"] == "Microsoft 365"
