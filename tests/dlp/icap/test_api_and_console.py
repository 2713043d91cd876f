"""The ICAP settings page and API: readers read, admins change (audited, never the secret),
the secret is shown once and stored only as its SHA-256; charlie never sees or touches A's."""

from __future__ import annotations

import hashlib

import pytest
from rest_framework.test import APIClient

from apps.dlp.icap import services as icap
from apps.dlp.models import IcapSettings
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")

API = "/api/v1/icap/"
SECRET_API = "/api/v1/icap/secret/"


def page(tenant) -> str:
    return f"/t/{tenant.slug}/settings/icap/"


def api(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


def row(tenant) -> IcapSettings | None:
    with tenant_context(tenant):
        return IcapSettings.objects.first()


def audit_details(tenant) -> list[dict]:
    with tenant_context(tenant):
        return list(
            AuditEvent.objects.filter(action__startswith="icap.").values("action", "details")
        )


def test_a_reader_sees_settings_and_instructions_but_no_write_controls(
    client, rita, tenant_a, django_assert_max_num_queries
):
    icap.update_settings(
        tenant=tenant_a, actor=None, enabled=True, mode="block", block_message="<b>No</b> way"
    )
    client.force_login(rita)
    with django_assert_max_num_queries(15):
        response = client.get(page(tenant_a))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"/{tenant_a.slug}/reqmod" in html and "adaptation_meta X-ICAP-Secret" in html
    assert f"-s {tenant_a.slug}/reqmod" in html
    assert "&lt;b&gt;No&lt;/b&gt; way" in html and "<b>No</b>" not in html
    assert "Generate a new secret" not in html and 'name="mode"' not in html
    assert client.post(f"{page(tenant_a)}secret/").status_code == 403
    assert row(tenant_a).secret_digest == ""


def test_an_admin_changes_settings_audited(client, sam, tenant_a):
    client.force_login(sam)
    response = client.post(
        page(tenant_a), {"enabled": "on", "mode": "monitor", "block_message": "Blocked."}
    )
    assert response.status_code == 302
    saved = row(tenant_a)
    assert (saved.enabled, saved.mode, saved.block_message) == (True, "monitor", "Blocked.")
    [event] = audit_details(tenant_a)
    assert event["action"] == "icap.settings_changed"
    assert event["details"]["changed"]["mode"] == "monitor"
    bad = client.post(page(tenant_a), {"mode": "loud", "block_message": "x" * 501})
    assert bad.status_code == 400 and row(tenant_a).mode == "monitor"
    assert "mode" in bad.context["form"].errors and "block_message" in bad.context["form"].errors


def test_the_secret_is_shown_once_and_stored_hashed(client, alice, tenant_a):
    client.force_login(alice)
    response = client.post(f"{page(tenant_a)}secret/")
    assert response.status_code == 201
    secret = response.context["secret"]
    assert secret.startswith("icap_") and secret in response.content.decode()
    saved = row(tenant_a)
    assert saved.secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert saved.secret_prefix == secret[:8]
    later = client.get(page(tenant_a)).content.decode()
    assert secret not in later and saved.secret_prefix in later
    [event] = audit_details(tenant_a)
    assert event["action"] == "icap.secret_rotated" and secret not in str(event["details"])
    # It opens the service once it is on, and a new one replaces it.
    icap.update_settings(tenant=tenant_a, actor=None, enabled=True, mode="block", block_message="")
    service = icap.parse_service(f"icap://h/{tenant_a.slug}/reqmod")
    assert icap.authenticate(service, secret).tenant == tenant_a
    client.post(f"{page(tenant_a)}secret/")
    assert icap.authenticate(service, secret) is None


def test_charlie_cannot_see_or_touch_a(client, charlie, tenant_a, tenant_b):
    icap.update_settings(
        tenant=tenant_a, actor=None, enabled=True, mode="monitor", block_message="Alpha only"
    )
    client.force_login(charlie)
    assert client.get(page(tenant_a)).status_code == 404
    assert client.post(page(tenant_a), {"mode": "block"}).status_code == 404
    assert client.post(f"{page(tenant_a)}secret/").status_code == 404
    assert row(tenant_a).mode == "monitor" and row(tenant_a).secret_digest == ""
    own = api(charlie, tenant_b, Role.GLOBAL_ADMIN)
    answer = own.get(API).json()
    assert answer["block_message"] != "Alpha only" and tenant_b.slug in answer["reqmod_uri"]
    assert own.post(SECRET_API).status_code == 201
    assert row(tenant_a).secret_digest == "" and row(tenant_b).secret_digest != ""


def test_api_read_change_and_secret(sam, rita, tenant_a, django_assert_max_num_queries):
    admin = api(sam, tenant_a, Role.SECURITY_ADMIN)
    with django_assert_max_num_queries(12):
        answer = admin.get(API)
    assert answer.status_code == 200
    assert answer.json()["enabled"] is False and answer.json()["secret_prefix"] == ""
    body = {"enabled": True, "mode": "block", "block_message": "Nope"}
    changed = admin.put(API, body, format="json")
    assert changed.status_code == 200 and changed.json()["block_message"] == "Nope"
    assert row(tenant_a).enabled is True
    for bad, field in (
        ({**body, "mode": "loud"}, "mode"),
        ({**body, "enabled": "yes"}, "enabled"),
        ({**body, "extra": 1}, "extra"),
        ({"mode": "block"}, "enabled"),
    ):
        refused = admin.put(API, bad, format="json")
        assert refused.status_code == 400 and field in refused.json()["error"]["details"]
    assert row(tenant_a).block_message == "Nope"
    created = admin.post(SECRET_API)
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert row(tenant_a).secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in admin.get(API).content.decode()
    reader = api(rita, tenant_a, Role.SECURITY_READER)
    assert reader.get(API).status_code == 200
    assert reader.put(API, body, format="json").status_code == 403
    assert reader.post(SECRET_API).status_code == 403


def test_the_service_is_an_inbound_integration_once_configured(tenant_a, tenant_b):
    from apps.integrations.registry import integrations_for

    assert [i for i in integrations_for(tenant=tenant_a) if i.provider == "icap"] == []
    icap.rotate_secret(tenant=tenant_a, actor=None)
    [item] = [i for i in integrations_for(tenant=tenant_a) if i.provider == "icap"]
    assert item.direction == "inbound" and item.sends == ("files_for_dlp",)
    assert item.receives == () and item.status == "disabled"
    assert item.configure_url == page(tenant_a)
    assert [i for i in integrations_for(tenant=tenant_b) if i.provider == "icap"] == []


def test_instructions_follow_the_server_settings(client, rita, tenant_a, settings):
    settings.ICAP_HOST, settings.ICAP_PORT = "0.0.0.0", 11344
    settings.ICAP_TLS_CERT_FILE, settings.ICAP_TLS_KEY_FILE = "/etc/icap/cert.pem", "/k.pem"
    client.force_login(rita)
    html = client.get(page(tenant_a)).content.decode()
    assert f"icaps://testserver:11344/{tenant_a.slug}/reqmod" in html
    assert "tls-cafile=" in html and "-p 11344 -tls" in html
