"""The transparency page reads SIEM agents and webhooks from the integrations registry: each
with exactly the data kinds it is configured for and its status, nothing of another tenant's,
and never a secret or a webhook URL's query string."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.integrations import registry
from apps.integrations.models import Destination, DestinationStatus
from apps.integrations.registry import Data, Direction
from apps.tenants.scoping import tenant_context
from tests.integrations import kit

pytestmark = pytest.mark.django_db


def test_a_webhook_appears_with_exactly_alerts(client, rita, tenant_a):
    hook, secret = kit.webhook(tenant_a, "Flow to ServiceNow")
    found = registry.integrations_for(tenant=tenant_a)
    [item] = [i for i in found if i.provider == "siem_and_webhooks"]
    assert item.name == "Flow to ServiceNow" and item.id == str(hook.pk)
    assert item.type == "Webhook (signed JSON)"
    assert item.receives == (Data.ALERTS,)
    assert item.sends == () and item.direction == Direction.OUTBOUND
    assert item.status == "pending" and item.status_label == "Not connected yet"
    assert item.configure_url == reverse("integrations:detail", args=[tenant_a.slug, hook.pk])
    assert not item.private_activities_sent
    client.force_login(rita)
    body = client.get(reverse("compliance:location", args=[tenant_a.slug])).content.decode()
    row = body[body.index("Flow to ServiceNow") :].split("</tr>")[0]
    assert "Alerts" in row and "Activities" not in row
    assert item.configure_url in row
    assert secret not in body and "flow-signature-123" not in body


def test_a_siem_agent_appears_with_its_kinds_and_status(tenant_a, tenant_b):
    splunk = kit.siem(tenant_a, "Splunk", data_kinds=["activities", "alert"])
    kit.siem(tenant_a, "Activities only", data_kinds=["activities"])
    kit.webhook(tenant_b, "Bravo flow")
    with tenant_context(tenant_a):
        Destination.objects.filter(pk=splunk.pk).update(
            status=DestinationStatus.ERROR, status_reason="connection refused"
        )
    items = {i.name: i for i in registry.integrations_for(tenant=tenant_a)}
    assert "Bravo flow" not in items
    assert items["Splunk"].provider == "siem_and_webhooks"
    assert items["Splunk"].type == "SIEM agent (CEF over syslog)"
    assert items["Splunk"].receives == (Data.ACTIVITIES, Data.ALERTS)
    assert items["Splunk"].status == "error"
    assert items["Splunk"].status_label == "Error: connection refused"
    assert items["Activities only"].receives == (Data.ACTIVITIES,)
    assert dict(items["Splunk"].details)["Sends to"] == "siem.example.test:6514 (TLS)"
