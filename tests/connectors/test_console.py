"""Settings > Connected apps: pages, forms, roles, secrets never shown, other tenants 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.connectors import services
from apps.connectors.models import AppInstance, InstanceStatus, Vendor
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context

from .conftest import connect
from .helpers import reload

pytestmark = pytest.mark.django_db

TOKEN = "00-the-okta-api-token-value"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, tenant, instance=None) -> str:
    kwargs = {"tenant_slug": tenant.slug}
    if instance is not None:
        kwargs["instance_id"] = instance.pk
    return reverse(f"connectors:{name}", kwargs=kwargs)


@pytest.fixture
def app(tenant_a, okta):
    okta.api_token = TOKEN
    return connect(tenant_a, Vendor.OKTA, okta, {"api_token": TOKEN}, name="Acme Okta")


def test_list_shows_status_in_words_with_few_queries(
    tenant_a, rita, app, okta, django_assert_max_num_queries
):
    for n in range(4):
        connect(tenant_a, Vendor.OKTA, okta, {"api_token": "t"}, name=f"Extra {n}")
    services.poll_instance(app)
    client = signed_in(rita)
    with django_assert_max_num_queries(15):
        response = client.get(url("list", tenant_a))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Acme Okta" in body and "Okta" in body
    assert 'class="badge ok"' in body and "healthy, " in body
    assert "not polled yet" in body
    assert "Connect an app" not in body  # readers cannot add
    assert TOKEN not in body
    assert 'aria-current="page">Connected apps<' in body


def test_detail_shows_cursors_and_recent_status_never_the_secret(tenant_a, rita, alice, app):
    services.poll_instance(app)
    for user in (rita, alice):
        body = signed_in(user).get(url("detail", tenant_a, app)).content.decode()
        assert "Where each stream resumes" in body and "since=" in body
        assert "healthy" in body and "not polled yet" in body  # recent status changes
        assert "set (api_token); never shown" in body
        assert TOKEN not in body
    reader = signed_in(rita).get(url("detail", tenant_a, app)).content.decode()
    assert "Poll now" not in reader and 'name="cred_api_token"' not in reader
    admin = signed_in(alice).get(url("detail", tenant_a, app)).content.decode()
    assert 'type="password" name="cred_api_token"' in admin and "Poll now" in admin


def test_admin_connects_an_app(tenant_a, sam, okta):
    client = signed_in(sam)
    picker = client.get(url("create", tenant_a))
    assert picker.status_code == 200 and "Okta" in picker.content.decode()
    form = client.get(url("create", tenant_a) + "?vendor=okta").content.decode()
    assert 'name="cred_api_token"' in form and 'type="password"' in form

    response = client.post(
        url("create", tenant_a),
        {"vendor": "okta", "name": "New Okta", "base_url": okta.base_url, "cred_api_token": TOKEN},
    )
    with tenant_context(tenant_a):
        instance = AppInstance.objects.get(name="New Okta")
        assert response.status_code == 302
        assert response["Location"] == url("detail", tenant_a, instance)
        assert instance.credentials() == {"api_token": TOKEN}
        assert instance.status == InstanceStatus.NEW and instance.next_poll_at is not None
        event = AuditEvent.objects.get(action="connector.created")
        assert event.details == {"name": "New Okta", "vendor": "okta", "base_url": okta.base_url}
        assert TOKEN not in str(event.details)


def test_a_refused_form_does_not_echo_the_secret(tenant_a, sam, settings):
    settings.CONNECTOR_ALLOWED_PRIVATE_HOSTS = []
    response = signed_in(sam).post(
        url("create", tenant_a),
        {
            "vendor": "okta",
            "name": "Metadata",
            "base_url": "https://169.254.169.254/",
            "cred_api_token": TOKEN,
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "internal address" in body
    assert TOKEN not in body
    with tenant_context(tenant_a):
        assert not AppInstance.objects.exists()


def test_bad_input_is_a_clear_400(tenant_a, sam):
    client = signed_in(sam)
    assert client.post(url("create", tenant_a), {"vendor": "nope"}).status_code == 400
    response = client.post(url("create", tenant_a), {"vendor": "okta", "name": "x"})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    plain = client.post(
        url("create", tenant_a),
        {"vendor": "okta", "name": "x", "base_url": "http://acme.okta.com", "cred_api_token": "t"},
    )
    assert plain.status_code == 400 and "only https" in plain.content.decode()


def test_edit_keeps_an_empty_secret_and_audits_field_names_only(tenant_a, alice, app, okta):
    client = signed_in(alice)
    response = client.post(
        url("detail", tenant_a, app),
        {"name": "Renamed", "base_url": okta.base_url, "cred_api_token": ""},
    )
    assert response.status_code == 302
    assert reload(tenant_a, app).credentials() == {"api_token": TOKEN}
    client.post(
        url("detail", tenant_a, app),
        {"name": "Renamed", "base_url": okta.base_url, "cred_api_token": "new-token-value"},
    )
    instance = reload(tenant_a, app)
    assert instance.name == "Renamed"
    assert instance.credentials() == {"api_token": "new-token-value"}
    with tenant_context(tenant_a):
        details = [
            e.details for e in AuditEvent.objects.filter(action="connector.updated").order_by("seq")
        ]
    assert details[0]["changed"] == ["name"]
    assert details[1] == {
        "name": "Renamed",
        "changed": ["credentials"],
        "credentials": ["api_token"],
    }
    assert "new-token-value" not in str(details)


def test_pause_resume_poll_now_and_delete(tenant_a, alice, app, django_capture_on_commit_callbacks):
    client = signed_in(alice)
    assert client.post(url("pause", tenant_a, app)).status_code == 302
    instance = reload(tenant_a, app)
    assert not instance.enabled and instance.status == InstanceStatus.PAUSED
    assert services.poll_instance(instance).skipped  # a paused app is not polled
    refused = client.post(url("poll", tenant_a, app), follow=True)
    assert "paused; resume it first" in refused.content.decode()

    client.post(url("resume", tenant_a, app))
    instance = reload(tenant_a, app)
    assert instance.enabled and instance.status == InstanceStatus.NEW
    with django_capture_on_commit_callbacks() as callbacks:
        assert client.post(url("poll", tenant_a, app)).status_code == 302
    assert len(callbacks) == 1  # the poll task, sent once the request's writes commit

    response = client.post(url("delete", tenant_a, app))
    assert response["Location"] == url("list", tenant_a)
    with tenant_context(tenant_a):
        assert not AppInstance.objects.filter(pk=app.pk).exists()
        actions = list(
            AuditEvent.objects.filter(action__startswith="connector.").values_list(
                "action", flat=True
            )
        )
    assert actions.count("connector.updated") == 2 and "connector.deleted" in actions


def test_readers_cannot_change_anything(tenant_a, rita, app, okta):
    client = signed_in(rita)
    before = reload(tenant_a, app)
    for name in ("poll", "pause", "delete"):
        assert client.post(url(name, tenant_a, app)).status_code == 403
    response = client.post(
        url("detail", tenant_a, app),
        {"name": "Hijack", "base_url": okta.base_url, "cred_api_token": "x"},
    )
    assert response.status_code == 403
    assert client.get(url("create", tenant_a)).status_code == 403
    after = reload(tenant_a, app)
    assert (after.name, after.enabled, after.credentials()) == (
        before.name,
        before.enabled,
        before.credentials(),
    )


def test_another_tenant_gets_404_and_touches_nothing(tenant_a, charlie, app, okta):
    client = signed_in(charlie)
    assert client.get(url("list", tenant_a)).status_code == 404
    assert client.get(url("detail", tenant_a, app)).status_code == 404
    for name in ("poll", "pause", "resume", "delete"):
        assert client.post(url(name, tenant_a, app)).status_code == 404
    response = client.post(
        url("detail", tenant_a, app),
        {"name": "Hijack", "base_url": okta.base_url, "cred_api_token": "x"},
    )
    assert response.status_code == 404
    # And through his own tenant's URL, A's app does not exist either.
    own = reverse("connectors:detail", kwargs={"tenant_slug": "bravo", "instance_id": app.pk})
    assert client.get(own).status_code == 404
    assert reload(tenant_a, app).name == "Acme Okta" and reload(tenant_a, app).enabled
