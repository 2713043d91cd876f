"""Integrations API (/api/v1/integrations/): create, read, change, turn off, delete; the
webhook secret only in the create and rotate-secret answers; strict validation naming the
field; dead letters and delivery history; the backlog figure; readers read only; charlie's token
gets 404 for A's destinations and dead letters."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.connectors import services as connector_services
from apps.integrations.models import Destination, DestinationStatus
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.integrations import kit
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")

LIST = "/api/v1/integrations/destinations/"
WEBHOOK = {
    "kind": "webhook",
    "name": "Flow",
    "data_kinds": ["alert"],
    "config": {"url": "https://hooks.example.test/flow?sig=query-signature-77"},
    "filters": {"min_severity": 2},
}
SIEM = {
    "kind": "siem",
    "name": "Splunk",
    "data_kinds": ["alert", "activities"],
    "config": {**kit.SIEM_CONFIG, "transport": "tcp"},
    "filters": {"activity_types": ["download"]},
}


def api(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


def detail(pk) -> str:
    return f"{LIST}{pk}/"


def test_a_webhook_secret_is_in_the_create_and_rotate_answers_only(sam, tenant_a):
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    created = client.post(LIST, WEBHOOK, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    [hook] = kit.destinations(tenant_a)
    secret = kit.stored_secret(tenant_a, hook)
    assert body["secret"] == secret and secret.startswith("whsec_")
    assert body["kind"] == "webhook" and body["data_kinds"] == ["alert"]
    assert body["status"] == "pending" and body["status_label"] == "Not connected yet"
    assert body["filters"] == {"min_severity": 2}
    # The URL's query string (a flow's signature) is never answered.
    assert body["config"] == {"url": "https://hooks.example.test/flow?…"}
    assert "query-signature-77" not in created.content.decode()
    answers = [
        client.get(LIST),
        client.get(detail(hook.pk)),
        client.patch(detail(hook.pk), {"name": "Flow 2"}, format="json"),
        client.get(f"{detail(hook.pk)}dead-letters/"),
        client.get(f"{detail(hook.pk)}deliveries/"),
        client.get("/api/v1/audit/"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 403), answer.content
        assert secret not in answer.content.decode()
        assert "secret" not in answer.json() if answer.status_code == 200 else True
    assert "secret" not in client.get(detail(hook.pk)).json()
    rotated = client.post(f"{detail(hook.pk)}rotate-secret/")
    assert rotated.status_code == 200
    new = kit.stored_secret(tenant_a, hook)
    assert rotated.json() == {"id": str(hook.pk), "secret": new} and new != secret
    assert new not in client.get(detail(hook.pk)).content.decode()
    audit = kit.audit_text(tenant_a)
    assert secret not in audit and new not in audit and "query-signature-77" not in audit


def test_crud_of_a_siem_agent(sam, tenant_a):
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    created = client.post(LIST, SIEM, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"] == ""
    assert body["data_kinds"] == ["activities", "alert"]
    assert body["config"]["host"] == "siem.example.test" and body["config"]["port"] == 6514
    assert body["backlog"] == {"events": 0, "oldest_waiting_since": None}
    pk = body["id"]
    assert client.get(LIST).json()["count"] == 1
    changed = client.patch(
        detail(pk), {"config": {"port": 1514}, "filters": {"min_severity": 3}}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["config"]["port"] == 1514
    assert changed.json()["config"]["host"] == "siem.example.test"  # merged, not replaced
    assert changed.json()["filters"] == {"min_severity": 3}
    off = client.patch(detail(pk), {"enabled": False}, format="json")
    assert off.status_code == 200
    assert off.json()["enabled"] is False and off.json()["status"] == "disconnected"
    on = client.patch(detail(pk), {"enabled": True}, format="json")
    assert on.json()["enabled"] is True and on.json()["status"] == "pending"
    assert client.delete(detail(pk)).status_code == 204
    assert kit.destinations(tenant_a) == []
    assert kit.audit_actions(tenant_a) == [
        "integration.created",
        "integration.changed",
        "integration.disabled",
        "integration.enabled",
        "integration.deleted",
    ]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({**WEBHOOK, "config": {"url": "http://hooks.example.test/"}}, ("config", "url")),
        ({**WEBHOOK, "config": {"url": 5}}, ("config", "url")),
        ({**WEBHOOK, "config": {"url": "https://169.254.169.254/latest"}}, ("config", "url")),
        ({**WEBHOOK, "config": {"url": "https://[::1]:8443/hook"}}, ("config", "url")),
        ({**WEBHOOK, "data_kinds": ["alert", "activities"]}, ("data_kinds",)),
        ({**WEBHOOK, "data_kinds": []}, ("data_kinds",)),
        ({**WEBHOOK, "kind": "carrier_pigeon"}, ("kind",)),
        ({**WEBHOOK, "config": {"url": "https://x.test/", "host": "h"}}, ("config",)),
        ({**WEBHOOK, "colour": "blue"}, ("colour",)),
        ({**WEBHOOK, "filters": {"min_severity": 7}}, ("filters", "min_severity")),
        ({**WEBHOOK, "filters": {"min_severity": "2"}}, ("filters", "min_severity")),
        ({**WEBHOOK, "filters": {"sharpness": 2}}, ("filters", "sharpness")),
        ({**WEBHOOK, "name": ""}, ("name",)),
        ({**WEBHOOK, "name": 42}, ("name",)),
        ({**SIEM, "config": {**SIEM["config"], "port": 0}}, ("config", "port")),
        ({**SIEM, "config": {**SIEM["config"], "port": "514"}}, ("config", "port")),
        ({**SIEM, "config": {**SIEM["config"], "host": "no such host!"}}, ("config", "host")),
        ({**SIEM, "config": {**SIEM["config"], "transport": "smoke"}}, ("config", "transport")),
        ({**SIEM, "config": {**SIEM["config"], "time_format": "x"}}, ("config", "time_format")),
        ({**SIEM, "config": {**SIEM["config"], "include_pri": "yes"}}, ("config", "include_pri")),
        ({**SIEM, "filters": {"activity_types": ["teleport"]}}, ("filters", "activity_types")),
        ({**SIEM, "filters": {"apps": ["not-an-id"]}}, ("filters", "apps")),
        (
            {**SIEM, "data_kinds": ["alert"], "filters": {"activity_types": ["download"]}},
            ("filters", "activity_types"),
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(sam, tenant_a, body, path):
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    response = client.post(LIST, body, format="json")
    assert response.status_code == 400, response.content
    details = response.json()["error"]["details"]
    for key in path:
        assert key in details, details
        details = details[key]
    assert kit.destinations(tenant_a) == []


def test_another_tenants_app_is_unknown_and_names_are_unique(sam, tenant_a, tenant_b):
    other = connector_services.create_instance(
        tenant=tenant_b,
        actor=None,
        vendor="okta",
        name="Bravo Okta",
        base_url="https://localhost",
        credentials={"api_token": "x"},
    )
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    response = client.post(LIST, {**SIEM, "filters": {"apps": [str(other.pk)]}}, format="json")
    assert response.status_code == 400
    assert "Unknown app" in str(response.json()["error"]["details"]["filters"]["apps"])
    assert client.post(LIST, WEBHOOK, format="json").status_code == 201
    again = client.post(LIST, {**SIEM, "name": "Flow"}, format="json")
    assert again.status_code == 400 and "name" in again.json()["error"]["details"]
    [hook] = kit.destinations(tenant_a)
    bad_patch = client.patch(detail(hook.pk), {"config": {"url": "http://x.test/"}}, format="json")
    assert bad_patch.status_code == 400
    assert kit.destinations(tenant_a)[0].config == WEBHOOK["config"]
    kind_patch = client.patch(detail(hook.pk), {"kind": "siem"}, format="json")
    assert kind_patch.status_code == 400 and "kind" in kind_patch.json()["error"]["details"]


def test_the_backlog_counts_events_after_the_cursor(rita, tenant_a):
    splunk = kit.siem(tenant_a)
    kit.append(tenant_a, refs=("a1", "a2", "a3"))
    client = api(rita, tenant_a, Role.SECURITY_READER)
    body = client.get(detail(splunk.pk)).json()
    assert body["backlog"]["events"] == 3
    assert body["backlog"]["oldest_waiting_since"] == "2026-11-20T12:00:00Z"
    with tenant_context(tenant_a):
        Destination.objects.filter(pk=splunk.pk).update(cursor=2)
    assert client.get(LIST).json()["results"][0]["backlog"]["events"] == 1
    with tenant_context(tenant_a):
        Destination.objects.filter(pk=splunk.pk).update(cursor=3)
    assert client.get(LIST).json()["results"][0]["backlog"] == {
        "events": 0,
        "oldest_waiting_since": None,
    }


def test_dead_letters_and_deliveries_and_resend(sam, rita, tenant_a):
    hook, _ = kit.webhook(tenant_a)
    letter = kit.dead_letter(tenant_a, hook, ref="alert-ref-5")
    kit.delivery(tenant_a, hook, seq=7, ref="alert-ref-6", ok=False, status=503, ms=40)
    reader = api(rita, tenant_a, Role.SECURITY_READER)
    letters = reader.get(f"{detail(hook.pk)}dead-letters/").json()
    assert letters["count"] == 1
    assert letters["results"][0]["ref"] == "alert-ref-5"
    assert letters["results"][0]["error"] == "the receiver answered HTTP 400"
    assert letters["results"][0]["resent_at"] is None
    [attempt] = reader.get(f"{detail(hook.pk)}deliveries/").json()["results"]
    assert attempt["event_id"] == "7-alert-ref-6" and attempt["status_code"] == 503
    assert attempt["ok"] is False and attempt["duration_ms"] == 40
    resend = f"/api/v1/integrations/dead-letters/{letter.pk}/resend/"
    assert reader.post(resend).status_code == 403
    admin = api(sam, tenant_a, Role.SECURITY_ADMIN)
    sent = admin.post(resend)
    assert sent.status_code == 202 and sent.json()["resent_at"] is not None
    assert kit.audit_actions(tenant_a)[-1] == "integration.dead_letter_resent"


def test_a_reader_reads_and_cannot_write(rita, tenant_a):
    hook, secret = kit.webhook(tenant_a)
    letter = kit.dead_letter(tenant_a, hook)
    client = api(rita, tenant_a, Role.SECURITY_READER)
    assert client.get(LIST).status_code == 200
    assert client.get(detail(hook.pk)).status_code == 200
    assert client.post(LIST, WEBHOOK, format="json").status_code == 403
    assert client.patch(detail(hook.pk), {"name": "X"}, format="json").status_code == 403
    assert client.delete(detail(hook.pk)).status_code == 403
    assert client.post(f"{detail(hook.pk)}rotate-secret/").status_code == 403
    assert client.post(f"/api/v1/integrations/dead-letters/{letter.pk}/resend/").status_code == 403
    [still] = kit.destinations(tenant_a)
    assert still.name == "Flow" and kit.stored_secret(tenant_a, still) == secret


def test_charlie_gets_404_for_a_destinations_and_dead_letters(charlie, tenant_a, tenant_b):
    hook, secret = kit.webhook(tenant_a, "Alpha flow")
    letter = kit.dead_letter(tenant_a, hook, ref="alpha-ref")
    client = api(charlie, tenant_b, Role.GLOBAL_ADMIN)
    for path in ("", "dead-letters/", "deliveries/"):
        response = client.get(f"{detail(hook.pk)}{path}")
        assert response.status_code == 404
        assert "Alpha flow" not in response.content.decode()
    assert client.patch(detail(hook.pk), {"name": "Mine"}, format="json").status_code == 404
    assert client.delete(detail(hook.pk)).status_code == 404
    assert client.post(f"{detail(hook.pk)}rotate-secret/").status_code == 404
    assert client.post(f"/api/v1/integrations/dead-letters/{letter.pk}/resend/").status_code == 404
    body = client.get(LIST).content.decode()
    assert client.get(LIST).json()["count"] == 0
    assert "Alpha flow" not in body and secret not in body
    [still] = kit.destinations(tenant_a)
    assert still.name == "Alpha flow" and still.status == DestinationStatus.PENDING
    assert kit.stored_secret(tenant_a, still) == secret
    with tenant_context(tenant_a):
        letter.refresh_from_db()
        assert letter.resent_at is None


def test_the_list_endpoint_queries_stay_flat(alice, tenant_a, django_assert_max_num_queries):
    for n in range(5):
        kit.webhook(tenant_a, f"Flow {n}")
        kit.siem(tenant_a, f"Splunk {n}")
    kit.append(tenant_a, refs=("a", "b"))
    client = api(alice, tenant_a, Role.GLOBAL_ADMIN)
    with django_assert_max_num_queries(10):
        response = client.get(LIST, {"page_size": 100})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 10 and all(r["backlog"]["events"] == 2 for r in results)
