"""/api/v1/apps/: list, detail, create, update, delete, poll; credentials write-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.activities.models import Activity
from apps.connectors import services
from apps.connectors.models import AppInstance, InstanceStatus, Vendor
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.role_matrix import token_key

from .conftest import connect
from .helpers import reload, stored

pytestmark = pytest.mark.django_db

SECRET = "00-api-created-okta-token"


def client_for(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


@pytest.fixture
def admin_api(alice, tenant_a):
    return client_for(alice, tenant_a, Role.GLOBAL_ADMIN)


def test_create_then_read_never_shows_credentials(tenant_a, admin_api, okta):
    response = admin_api.post(
        reverse("api-apps-list"),
        {
            "vendor": "okta",
            "name": "API Okta",
            "base_url": okta.base_url,
            "credentials": {"api_token": SECRET},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["credentials_set"] == ["api_token"]
    assert body["status"] == "new" and body["status_words"] == "not polled yet"
    assert SECRET not in response.content.decode()
    detail = admin_api.get(reverse("api-apps-detail", kwargs={"id": body["id"]}))
    assert detail.status_code == 200 and SECRET not in detail.content.decode()
    listing = admin_api.get(reverse("api-apps-list"))
    assert [a["name"] for a in listing.json()["results"]] == ["API Okta"]
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="connector.created")
        assert event.actor_label.startswith("alice@alpha.test (token")
        assert SECRET not in str(event.details)


def test_invalid_input_is_explained(admin_api, settings):
    settings.CONNECTOR_ALLOWED_PRIVATE_HOSTS = []
    response = admin_api.post(
        reverse("api-apps-list"),
        {
            "vendor": "okta",
            "name": "x",
            "base_url": "https://127.0.0.1/",
            "credentials": {"api_token": "t"},
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "internal address" in error["details"]["base_url"][0]
    missing = admin_api.post(
        reverse("api-apps-list"),
        {"vendor": "office365", "name": "M365", "credentials": {"tenant_id": "nope"}},
        format="json",
    )
    assert missing.status_code == 400
    assert any("client_id" in m for m in missing.json()["error"]["details"]["credentials"])
    unknown = admin_api.post(
        reverse("api-apps-list"),
        {"vendor": "salesforce", "name": "SF", "credentials": {}},
        format="json",
    )
    assert unknown.status_code == 400 and "vendor" in unknown.json()["error"]["details"]


def test_patch_rekeys_pauses_and_delete_removes_activities(tenant_a, admin_api, okta):
    okta_app = connect(tenant_a, Vendor.OKTA, okta, {"api_token": okta.api_token})
    okta.add_event(timezone.now() - dt.timedelta(minutes=2))
    services.poll_instance(okta_app)
    assert len(stored(tenant_a, okta_app)) == 1
    detail = reverse("api-apps-detail", kwargs={"id": okta_app.pk})

    response = admin_api.patch(
        detail, {"credentials": {"api_token": "rotated"}, "enabled": False}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["enabled"] is False and response.json()["status"] == "paused"
    instance = reload(tenant_a, okta_app)
    assert instance.credentials() == {"api_token": "rotated"}
    assert admin_api.post(reverse("api-apps-poll", kwargs={"id": okta_app.pk})).status_code == 409

    assert admin_api.delete(detail).status_code == 204
    with tenant_context(tenant_a):
        assert not AppInstance.objects.filter(pk=okta_app.pk).exists()
        assert not Activity.objects.filter(app_instance_id=okta_app.pk).exists()


def test_detail_shows_cursors_and_status(tenant_a, admin_api, okta, okta_app):
    okta.api_token = "something-else"
    services.poll_instance(okta_app)
    body = admin_api.get(reverse("api-apps-detail", kwargs={"id": okta_app.pk})).json()
    assert body["status"] == InstanceStatus.CREDENTIALS_REJECTED
    assert body["status_words"].startswith("credentials rejected: ")
    assert body["health"] == "bad"
    assert {c["stream"] for c in body["cursors"]} <= {"activities", "directory"}


def test_reader_reads_but_cannot_write(tenant_a, rita, okta_app):
    reader = client_for(rita, tenant_a, Role.SECURITY_READER)
    detail = reverse("api-apps-detail", kwargs={"id": okta_app.pk})
    assert reader.get(detail).status_code == 200
    assert reader.patch(detail, {"name": "x"}, format="json").status_code == 403
    assert reader.delete(detail).status_code == 403
    assert reader.post(reverse("api-apps-poll", kwargs={"id": okta_app.pk})).status_code == 403
    assert reload(tenant_a, okta_app).name == okta_app.name


def test_another_tenant_sees_nothing(tenant_a, tenant_b, charlie, okta_app):
    foreign = client_for(charlie, tenant_b, Role.GLOBAL_ADMIN)
    detail = reverse("api-apps-detail", kwargs={"id": okta_app.pk})
    assert foreign.get(reverse("api-apps-list")).json()["results"] == []
    assert foreign.get(detail).status_code == 404
    assert foreign.patch(detail, {"name": "x"}, format="json").status_code == 404
    assert foreign.delete(detail).status_code == 404
    assert foreign.post(reverse("api-apps-poll", kwargs={"id": okta_app.pk})).status_code == 404
    assert reload(tenant_a, okta_app).name == okta_app.name
