"""Webhooks: a real local HTTPS receiver gets each alert as signed JSON (spec section 11 fields),
verifies the signature and the timestamp, sees retries and refusals, and each attempt is in
the webhook's delivery history. Older TLS and internal addresses are refused."""

from __future__ import annotations

import json
import ssl
import time
from datetime import UTC, datetime

import pytest
from django.db import transaction

from apps.alerts.models import Alert, Severity
from apps.compliance import crypto
from apps.integrations import outbox, services
from apps.integrations.delivery import push
from apps.integrations.models import (
    SECRET_PURPOSE,
    DeadLetter,
    Delivery,
    DestinationKind,
    DestinationStatus,
    EventKind,
)
from apps.integrations.webhooks import WebhookSender, verify
from apps.tenants.scoping import tenant_context
from tests.fakes.server import FakeServer, Response
from tests.fakes.tls import make_tls

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Receiver(FakeServer):
    def routes(self):
        return [("POST", "/hook", lambda request: Response(200, {"ok": True}))]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("webhook-tls"))


@pytest.fixture
def receiver(settings, tls_files):
    settings.CONNECTOR_CA_BUNDLE = str(tls_files.ca_bundle)
    server = Receiver(tls_files)
    yield server
    server.close()


def _webhook(tenant, url: str):
    with tenant_context(tenant):
        destination, secret = services.create_destination(
            kind=DestinationKind.WEBHOOK,
            name="Flow",
            data_kinds=["alert"],
            config={"url": url},
        )
    return destination, secret


def _alert(tenant, n=1) -> Alert:
    with tenant_context(tenant):
        alert = Alert.objects.create(
            number=n,
            title=f"Mass download by ann@contoso.test ({n})",
            description="120 files in 5 minutes",
            alert_type="activity_policy",
            severity=Severity.HIGH,
            category="threat_detection",
            policy_name="Mass download",
            first_triggered_at=NOW,
            last_triggered_at=NOW,
        )
        with transaction.atomic(using=tenant.db_alias):
            outbox.append(EventKind.ALERT, [alert.pk])
        return alert


def _push(tenant, destination):
    with tenant_context(tenant):
        sender = WebhookSender(destination, tenant.slug)
        try:
            return push(destination, sender=sender)
        finally:
            sender.close()


def test_an_alert_arrives_signed_with_the_flow_fields(tenant_a, receiver):
    destination, secret = _webhook(tenant_a, receiver.url("/hook"))
    alert = _alert(tenant_a)
    result = _push(tenant_a, destination)
    assert result.delivered == 1
    [request] = receiver.hits("/hook")
    body = json.loads(request.body)
    assert body["AlertDisplayName"] == alert.title
    assert body["Severity"] == "High" and body["ProviderAlertId"] == str(alert.pk)
    assert body["StartTimeUtc"] == "2026-11-20T12:00:00Z"
    assert body["AlertUri"].endswith(f"/t/{tenant_a.slug}/alerts/{alert.pk}/")
    headers = request.headers
    assert headers["x-casb-event-id"] == f"1-{alert.pk}"
    assert verify(
        secret.encode(),
        headers["x-casb-timestamp"],
        request.body,
        headers["x-casb-signature"],
        now=time.time(),
    )
    # A changed body, another secret or a stale timestamp fails verification.
    assert not verify(
        secret.encode(),
        headers["x-casb-timestamp"],
        request.body + b" ",
        headers["x-casb-signature"],
        now=time.time(),
    )
    assert not verify(
        b"other",
        headers["x-casb-timestamp"],
        request.body,
        headers["x-casb-signature"],
        now=time.time(),
    )
    assert not verify(
        secret.encode(),
        headers["x-casb-timestamp"],
        request.body,
        headers["x-casb-signature"],
        now=time.time() + 600,
    )
    with tenant_context(tenant_a):
        delivery = Delivery.objects.get()
        assert delivery.ok and delivery.status_code == 200 and delivery.ref == str(alert.pk)


def test_the_secret_is_sealed_not_stored_in_clear(tenant_a, receiver):
    destination, secret = _webhook(tenant_a, receiver.url("/hook"))
    raw = bytes(destination.secret_sealed)
    assert secret.encode() not in raw
    assert crypto.open_sealed(raw, SECRET_PURPOSE, tenant_a.id) == secret.encode()


def test_a_server_error_is_retried_and_nothing_is_lost(tenant_a, receiver):
    destination, _ = _webhook(tenant_a, receiver.url("/hook"))
    receiver.fault("/hook", 503, {"error": "maintenance"}, times=2)
    first, second = _alert(tenant_a, 1), _alert(tenant_a, 2)
    for _ in range(2):
        result = _push(tenant_a, destination)
        destination.refresh_from_db()
        assert result.delivered == 0 and destination.status == DestinationStatus.ERROR
        assert destination.status_reason == "the receiver answered HTTP 503"
    _push(tenant_a, destination)
    ids = [json.loads(r.body)["ProviderAlertId"] for r in receiver.hits("/hook")]
    assert ids == [str(first.pk), str(first.pk), str(first.pk), str(second.pk)]
    with tenant_context(tenant_a):
        history = list(Delivery.objects.order_by("attempted_at").values_list("ok", "status_code"))
    assert history == [(False, 503), (False, 503), (True, 200), (True, 200)]


def test_a_refusal_of_one_alert_ends_in_the_dead_letters(tenant_a, receiver):
    destination, _ = _webhook(tenant_a, receiver.url("/hook"))
    receiver.fault("/hook", 400, {"error": "bad payload"}, times=5)
    refused, accepted = _alert(tenant_a, 1), _alert(tenant_a, 2)
    for _ in range(5):
        _push(tenant_a, destination)
    with tenant_context(tenant_a):
        letter = DeadLetter.objects.get()
    assert letter.ref == str(refused.pk) and letter.error == "the receiver answered HTTP 400"
    last = json.loads(receiver.hits("/hook")[-1].body)
    assert last["ProviderAlertId"] == str(accepted.pk)


def test_internal_addresses_are_refused(tenant_a, settings):
    settings.CONNECTOR_ALLOWED_PRIVATE_HOSTS = []
    destination, _ = _webhook(tenant_a, "https://127.0.0.1:9/hook")
    _alert(tenant_a)
    _push(tenant_a, destination)
    destination.refresh_from_db()
    assert destination.status == DestinationStatus.ERROR
    assert destination.status_reason.startswith("address refused")


def test_plain_http_is_refused(tenant_a):
    destination, _ = _webhook(tenant_a, "http://receiver.example/hook")
    _alert(tenant_a)
    _push(tenant_a, destination)
    destination.refresh_from_db()
    assert "only https://" in destination.status_reason


def test_a_tls_1_1_receiver_is_refused(tenant_a, settings, tls_files):
    settings.CONNECTOR_CA_BUNDLE = str(tls_files.ca_bundle)
    old = Receiver(tls_files, tls_versions=(ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1))
    try:
        destination, _ = _webhook(tenant_a, old.url("/hook"))
        _alert(tenant_a)
        _push(tenant_a, destination)
        destination.refresh_from_db()
    finally:
        old.close()
    assert destination.status == DestinationStatus.ERROR
    assert "could not reach the receiver" in destination.status_reason
    assert not old.hits("/hook")


def test_another_tenants_webhook_gets_nothing_of_ours(tenant_a, tenant_b, receiver):
    theirs, _ = _webhook(tenant_b, receiver.url("/hook"))
    _alert(tenant_a)
    result = _push(tenant_b, theirs)
    assert result.delivered == 0 and not receiver.hits("/hook")
