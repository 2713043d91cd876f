"""Settings > Integrations: the list (data kinds, status, backlog, last delivery), adding a SIEM
agent or a webhook with validation, the webhook's secret shown once, a destination's page (edit,
turn off and on, delete with confirmation, dead letters sent again, delivery history and the
receiver documentation whose Python snippet really verifies our signature), readers reading
only, and charlie seeing nothing of A's."""

from __future__ import annotations

import html
import re
import time

import pytest
from django.urls import reverse

from apps.connectors import services as connector_services
from apps.integrations.models import Destination, DestinationStatus, OutboxEvent
from apps.integrations.webhooks import sign
from apps.tenants.scoping import tenant_context
from tests.integrations import kit

pytestmark = pytest.mark.django_db


def url(name, tenant, *args) -> str:
    return reverse(f"integrations:{name}", args=[tenant.slug, *args])


SIEM_FORM = {
    "name": "Splunk",
    "host": "siem.example.test",
    "port": "514",
    "transport": "tcp",
    "time_format": "rfc5424",
    "include_pri": "on",
    "hostname": "",
    "ca_pem": "",
    "data_kinds": ["alert", "activities"],
    "min_severity": "2",
    "activity_types": ["download", "share"],
}


def test_the_list_shows_data_kinds_status_backlog_and_last_delivery(client, rita, tenant_a):
    splunk = kit.siem(tenant_a, "Splunk")
    hook, _ = kit.webhook(tenant_a, "Flow")
    kit.siem(tenant_a, "Old SIEM", data_kinds=["activities"])
    kit.append(tenant_a, refs=("a1", "a2", "a3"))
    with tenant_context(tenant_a):
        # Splunk received the first event; Flow is failing; Old SIEM is off.
        Destination.objects.filter(pk=splunk.pk).update(
            cursor=1, status=DestinationStatus.CONNECTED, last_delivered_at=kit.WHEN
        )
        Destination.objects.filter(pk=hook.pk).update(
            status=DestinationStatus.ERROR, status_reason="the receiver answered HTTP 503"
        )
        Destination.objects.filter(name="Old SIEM").update(
            enabled=False, status=DestinationStatus.DISCONNECTED
        )
    client.force_login(rita)
    body = client.get(url("list", tenant_a)).content.decode()
    rows = {
        name: row
        for row in body.split("<tr>")[2:]
        for name in re.findall(r">([^<]+)</a></td>", row)
    }
    assert set(rows) == {"Splunk", "Flow", "Old SIEM"}
    assert '<span class="badge">Alerts</span>' in rows["Splunk"]
    assert "Activities" in rows["Splunk"] and "Connected" in rows["Splunk"]
    assert "2 events waiting, oldest since 2026-11-20 12:00" in rows["Splunk"]
    assert "2026-11-20 12:00" in rows["Splunk"].split("</td>")[-2]  # last delivery
    assert "Alerts" in rows["Flow"] and "Activities" not in rows["Flow"]
    assert "Error" in rows["Flow"] and "the receiver answered HTTP 503" in rows["Flow"]
    assert "3 events waiting" in rows["Flow"] and "never" in rows["Flow"]
    # The webhook URL is shown without its query string (a flow URL carries its signature).
    assert "https://hooks.example.test/flow?…" in rows["Flow"]
    assert "flow-signature-123" not in body
    assert "Disconnected (turned off)" in rows["Old SIEM"]
    assert "nothing (turned off)" in rows["Old SIEM"]
    assert "Alerts" not in rows["Old SIEM"]
    # A reader has no write control.
    assert "Add SIEM agent" not in body and "Add webhook" not in body


def test_a_webhook_secret_is_shown_once_and_never_again(client, sam, tenant_a):
    client.force_login(sam)
    response = client.post(
        url("add-webhook", tenant_a),
        {"name": "Flow", "url": "https://hooks.example.test/flow", "min_severity": "1"},
    )
    assert response.status_code == 201
    [destination] = kit.destinations(tenant_a)
    secret = kit.stored_secret(tenant_a, destination)
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert "shown only this once" in response.content.decode()
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )
    assert destination.data_kinds == ["alert"] and destination.filters == {"min_severity": 1}
    for page in (url("list", tenant_a), url("detail", tenant_a, destination.pk)):
        assert secret not in client.get(page).content.decode()
    location = reverse("compliance:location", args=[tenant_a.slug])
    assert secret not in client.get(location).content.decode()
    # Rotating shows a new one once; the old one no longer signs.
    rotated = client.post(url("rotate-secret", tenant_a, destination.pk))
    assert rotated.status_code == 200
    new = kit.stored_secret(tenant_a, destination)
    assert new != secret and new in rotated.content.decode()
    assert secret not in rotated.content.decode()
    assert new not in client.get(url("detail", tenant_a, destination.pk)).content.decode()
    audit = kit.audit_text(tenant_a)
    assert secret not in audit and new not in audit
    assert kit.audit_actions(tenant_a) == ["integration.created", "integration.secret_rotated"]


def test_a_siem_agent_is_added_with_its_settings(client, sam, tenant_a):
    app = connector_services.create_instance(
        tenant=tenant_a,
        actor=None,
        vendor="okta",
        name="Alpha Okta",
        base_url="https://localhost",
        credentials={"api_token": "x"},
    )
    client.force_login(sam)
    assert "Alpha Okta" in client.get(url("add-siem", tenant_a)).content.decode()
    response = client.post(url("add-siem", tenant_a), {**SIEM_FORM, "apps": [str(app.pk)]})
    [splunk] = kit.destinations(tenant_a)
    assert response.status_code == 302
    assert response["Location"] == url("detail", tenant_a, splunk.pk)
    assert splunk.kind == "siem" and splunk.data_kinds == ["activities", "alert"]
    assert splunk.config == {
        "host": "siem.example.test",
        "port": 514,
        "transport": "tcp",
        "time_format": "rfc5424",
        "include_pri": True,
        "hostname": "",
        "ca_pem": "",
        "reference_compat": False,
    }
    assert splunk.filters == {
        "min_severity": 2,
        "activity_types": ["download", "share"],
        "apps": [str(app.pk)],
    }
    assert splunk.secret_sealed is None
    body = client.get(url("detail", tenant_a, splunk.pk)).content.decode()
    assert "Alerts: Medium and above" in body
    assert "Activities: Download, Share; Alpha Okta" in body
    assert "siem.example.test:514 (TCP)" in body


@pytest.mark.parametrize(
    ("view", "change", "field", "message"),
    [
        ("add-webhook", {"url": "http://hooks.example.test/x"}, "url", "must start with https://"),
        ("add-webhook", {"url": "https://user:pw@hooks.example.test/"}, "url", "no user name"),
        ("add-webhook", {"url": "https:///nohost"}, "url", "no valid host"),
        ("add-siem", {"port": "70000"}, "port", "less than or equal to 65535"),
        ("add-siem", {"host": "bad host!"}, "host", "Not a valid host name"),
        ("add-siem", {"data_kinds": []}, "data_kinds", "Choose at least one kind"),
        ("add-siem", {"activity_types": ["teleport"]}, "activity_types", "not one of"),
        ("add-siem", {"apps": ["00000000-0000-0000-0000-000000000000"]}, "apps", "not one of"),
        ("add-siem", {"ca_pem": "-----BEGIN CERTIFICATE-----\nxx"}, "ca_pem", "only with TLS"),
        (
            "add-siem",
            {"transport": "tls", "ca_pem": "-----BEGIN CERTIFICATE-----\nnot a cert"},
            "ca_pem",
            "could not be read",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    client, sam, tenant_a, view, change, field, message
):
    client.force_login(sam)
    data = {"name": "Flow", "url": "https://hooks.example.test/", **SIEM_FORM}
    data.update(change)
    response = client.post(url(view, tenant_a), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert kit.destinations(tenant_a) == []


def test_a_name_is_unique_in_the_tenant(client, sam, tenant_a):
    kit.webhook(tenant_a, "Flow")
    client.force_login(sam)
    response = client.post(
        url("add-webhook", tenant_a), {"name": "Flow", "url": "https://hooks.example.test/2"}
    )
    assert response.status_code == 400
    assert "already has this name" in str(response.context["form"].errors["name"])
    assert len(kit.destinations(tenant_a)) == 1


def test_edit_turn_off_and_on_and_delete_with_confirmation(client, sam, tenant_a):
    hook, _ = kit.webhook(tenant_a, "Flow")
    client.force_login(sam)
    detail = url("detail", tenant_a, hook.pk)
    saved = client.post(
        detail, {"name": "Flow 2", "url": "https://hooks.example.test/new", "min_severity": "3"}
    )
    assert saved.status_code == 302
    [hook] = kit.destinations(tenant_a)
    assert hook.name == "Flow 2" and hook.config == {"url": "https://hooks.example.test/new"}
    assert hook.filters == {"min_severity": 3}
    refused = client.post(detail, {"name": "Flow 2", "url": "ftp://x", "min_severity": "3"})
    assert refused.status_code == 400 and "https://" in refused.content.decode()
    assert kit.destinations(tenant_a)[0].config == {"url": "https://hooks.example.test/new"}

    assert client.post(url("turn-off", tenant_a, hook.pk)).status_code == 302
    hook = kit.destinations(tenant_a)[0]
    assert not hook.enabled and hook.status == DestinationStatus.DISCONNECTED
    assert "Turn on" in client.get(detail).content.decode()
    assert client.post(url("turn-on", tenant_a, hook.pk)).status_code == 302
    hook = kit.destinations(tenant_a)[0]
    assert hook.enabled and hook.status == DestinationStatus.PENDING

    unconfirmed = client.post(url("delete", tenant_a, hook.pk), {})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm." in unconfirmed.content.decode()
    assert len(kit.destinations(tenant_a)) == 1
    deleted = client.post(url("delete", tenant_a, hook.pk), {"confirm": "on"})
    assert deleted.status_code == 302 and deleted["Location"] == url("list", tenant_a)
    assert kit.destinations(tenant_a) == []
    assert kit.audit_actions(tenant_a) == [
        "integration.created",
        "integration.changed",
        "integration.disabled",
        "integration.enabled",
        "integration.deleted",
    ]


def test_a_dead_letter_is_sent_again(client, sam, tenant_a):
    hook, _ = kit.webhook(tenant_a, "Flow")
    letter = kit.dead_letter(tenant_a, hook, ref="alert-ref-9")
    client.force_login(sam)
    detail = url("detail", tenant_a, hook.pk)
    body = client.get(detail).content.decode()
    assert "alert-ref-9" in body and "the receiver answered HTTP 400" in body
    assert "Send again" in body
    response = client.post(url("resend", tenant_a, letter.pk))
    assert response.status_code == 302 and response["Location"] == detail
    with tenant_context(tenant_a):
        letter.refresh_from_db()
        assert letter.resent_at is not None
        assert list(OutboxEvent.objects.values_list("kind", "refs")) == [("alert", ["alert-ref-9"])]


def _snippet(body: str) -> str:
    pattern = r'<pre class="raw" aria-label="Verification in Python">(.*?)</pre>'
    match = re.search(pattern, body, re.S)
    return html.unescape(match.group(1))


def test_the_webhook_page_shows_its_history_and_a_snippet_that_verifies(client, rita, tenant_a):
    hook, secret = kit.webhook(tenant_a, "Flow")
    kit.delivery(tenant_a, hook, seq=3, ref="alert-ref-2", ok=False, status=503, ms=12)
    kit.delivery(tenant_a, hook, seq=4, ref="alert-ref-3", ok=True, status=204, ms=7)
    client.force_login(rita)
    body = client.get(url("detail", tenant_a, hook.pk)).content.decode()
    assert "3-alert-ref-2" in body and "503" in body and "12 ms" in body
    assert "the receiver answered HTTP 503" in body
    assert "4-alert-ref-3" in body and "204" in body
    for words in ("X-CASB-Event-Id", "X-CASB-Timestamp", "X-CASB-Signature", "5 minutes"):
        assert words in body
    snippet = _snippet(body)
    assert 10 <= len(snippet.strip().splitlines()) <= 14
    namespace: dict = {}
    exec(compile(snippet, "snippet", "exec"), namespace)  # noqa: S102 (our own page's snippet)
    accept = namespace["accept"]
    payload = b'{"AlertDisplayName": "x"}'
    stamp = int(time.time())
    headers = {
        "X-CASB-Timestamp": str(stamp),
        "X-CASB-Signature": sign(secret.encode(), stamp, payload),
        "X-CASB-Event-Id": "4-alert-ref-3",
    }
    seen: dict = {}
    assert accept(secret, headers, payload, seen)
    assert not accept(secret, headers, payload, seen)  # the same event id again: a replay
    assert not accept(secret, {**headers, "X-CASB-Event-Id": "5-x"}, payload + b" ", seen)
    assert not accept("whsec_other", {**headers, "X-CASB-Event-Id": "6-x"}, payload, seen)
    old = stamp - 301
    stale = {
        "X-CASB-Timestamp": str(old),
        "X-CASB-Signature": sign(secret.encode(), old, payload),
        "X-CASB-Event-Id": "7-x",
    }
    assert not accept(secret, stale, payload, seen)
    # A reader sees no write control.
    for words in ("Rotate secret", "Turn off", "Send again", "Delete Flow", 'id="edit"'):
        assert words not in body


def test_a_siem_agent_page_has_no_webhook_parts(client, sam, tenant_a):
    splunk = kit.siem(tenant_a)
    client.force_login(sam)
    body = client.get(url("detail", tenant_a, splunk.pk)).content.decode()
    assert "Delivery history" not in body and "X-CASB-Signature" not in body
    assert "Rotate secret" not in body
    assert client.post(url("rotate-secret", tenant_a, splunk.pk)).status_code == 404


def test_a_reader_reads_and_cannot_write(client, rita, tenant_a):
    hook, _ = kit.webhook(tenant_a, "Flow")
    letter = kit.dead_letter(tenant_a, hook)
    before = kit.destinations(tenant_a)[0].__dict__.copy()
    client.force_login(rita)
    assert client.get(url("list", tenant_a)).status_code == 200
    assert client.get(url("detail", tenant_a, hook.pk)).status_code == 200
    assert client.get(url("add-siem", tenant_a)).status_code == 403
    assert client.get(url("add-webhook", tenant_a)).status_code == 403
    posts = [
        (url("add-siem", tenant_a), SIEM_FORM),
        (url("add-webhook", tenant_a), {"name": "X", "url": "https://x.example.test/"}),
        (url("detail", tenant_a, hook.pk), {"name": "X", "url": "https://x.example.test/"}),
        (url("turn-off", tenant_a, hook.pk), {}),
        (url("rotate-secret", tenant_a, hook.pk), {}),
        (url("delete", tenant_a, hook.pk), {"confirm": "on"}),
        (url("resend", tenant_a, letter.pk), {}),
    ]
    for target, data in posts:
        assert client.post(target, data).status_code == 403, target
    after = kit.destinations(tenant_a)
    assert len(after) == 1
    assert {k: v for k, v in after[0].__dict__.items() if k != "_state"} == {
        k: v for k, v in before.items() if k != "_state"
    }
    with tenant_context(tenant_a):
        letter.refresh_from_db()
        assert letter.resent_at is None


def test_charlie_gets_404_and_sees_only_his_tenant(client, charlie, tenant_a, tenant_b):
    hook, secret = kit.webhook(tenant_a, "Alpha flow")
    letter = kit.dead_letter(tenant_a, hook, ref="alpha-ref")
    client.force_login(charlie)
    for name in ("detail", "turn-off", "turn-on", "rotate-secret", "delete"):
        assert client.get(url(name, tenant_a, hook.pk)).status_code == 404
        assert client.post(url(name, tenant_a, hook.pk), {"confirm": "on"}).status_code == 404
    assert client.post(url("resend", tenant_a, letter.pk)).status_code == 404
    assert client.get(url("list", tenant_a)).status_code == 404
    # His own tenant's pages with A's ids: 404, nothing of A's.
    for name in ("detail", "turn-off", "rotate-secret", "delete"):
        response = client.post(url(name, tenant_b, hook.pk), {"confirm": "on"})
        assert response.status_code == 404
    assert client.post(url("resend", tenant_b, letter.pk)).status_code == 404
    body = client.get(url("list", tenant_b)).content.decode()
    assert "Alpha flow" not in body and str(hook.pk) not in body and secret not in body
    [still] = kit.destinations(tenant_a)
    assert still.enabled and kit.stored_secret(tenant_a, still) == secret


def test_list_page_queries_stay_flat(client, alice, tenant_a, django_assert_max_num_queries):
    for n in range(4):
        kit.webhook(tenant_a, f"Flow {n}")
        kit.siem(tenant_a, f"Splunk {n}")
    kit.append(tenant_a, refs=("a", "b"))
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        response = client.get(url("list", tenant_a))
    assert response.status_code == 200
    assert response.content.decode().count("2 events waiting") == 8
