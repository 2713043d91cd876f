"""Settings > API tokens: list, create (key once, hash stored, role capped), revoke, audit."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.tenants import token_services
from apps.tenants.api.authentication import hash_key
from apps.tenants.models import ApiToken, AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.role_matrix import token_key

KEY_RE = re.compile(r"casb_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def tokens_url(tenant) -> str:
    return reverse("tenants:tokens", args=[tenant.slug])


def revoke_url(token) -> str:
    return reverse("tenants:token-revoke", args=[token.tenant.slug, token.id])


def create(client, tenant, **data):
    return client.post(tokens_url(tenant), {"name": "script", "expires_on": "", **data})


# --- Creating --------------------------------------------------------------------------------


def test_reader_creates_a_reader_token_and_sees_the_key_once(client, rita, tenant_a):
    client.force_login(rita)
    page = client.get(tokens_url(tenant_a)).content.decode()
    # Only roles up to her own are offered.
    assert 'value="security_reader"' in page
    assert 'value="security_admin"' not in page and 'value="global_admin"' not in page

    response = create(client, tenant_a, role="security_reader")
    assert response.status_code == 201
    html = response.content.decode()
    key = KEY_RE.search(html).group(0)
    assert f'class="secret" aria-label="API key">{key}<' in html

    token = ApiToken.objects.get()
    assert (token.tenant, token.created_by, token.role) == (tenant_a, rita, "security_reader")
    assert token.key_hash == hash_key(key) and key.startswith(f"casb_{token.prefix}_")
    # The key works, once, and is not on the list page afterwards.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/members/").status_code == 200
    listing = client.get(tokens_url(tenant_a)).content.decode()
    assert key not in listing and f"casb_{token.prefix}_" in listing


def test_creation_is_audited_without_the_key(client, sam, tenant_a):
    client.force_login(sam)
    response = create(client, tenant_a, name="SIEM export", role="security_admin")
    key = KEY_RE.search(response.content.decode()).group(0)
    token = ApiToken.objects.get()
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="token.created")
    assert event.details["name"] == "SIEM export"
    assert event.details["role"] == "security_admin"
    assert event.details["prefix"] == token.prefix
    assert event.actor_label == sam.username and event.object_id == str(token.id)
    assert key.split("_", 2)[2] not in str(event.details)  # the secret may hold "_"


@pytest.mark.parametrize(
    "user_fixture, role",
    [("rita", "security_admin"), ("rita", "global_admin"), ("sam", "global_admin")],
)
def test_forged_higher_role_is_refused(request, client, tenant_a, user_fixture, role):
    client.force_login(request.getfixturevalue(user_fixture))
    response = create(client, tenant_a, role=role)
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "user_fixture, role",
    [("rita", Role.SECURITY_ADMIN), ("rita", Role.GLOBAL_ADMIN), ("sam", Role.GLOBAL_ADMIN)],
)
def test_service_enforces_the_role_cap(request, tenant_a, user_fixture, role):
    """The rule lives in the service, not only in the form's choices."""
    user = request.getfixturevalue(user_fixture)
    with pytest.raises(token_services.TokenRefused):
        token_services.create_token(tenant=tenant_a, creator=user, name="x", role=role)
    assert not ApiToken.objects.exists()


def test_service_refuses_strangers_and_past_expiry(tenant_a, charlie, alice):
    with pytest.raises(token_services.TokenRefused):
        token_services.create_token(
            tenant=tenant_a, creator=charlie, name="x", role=Role.SECURITY_READER
        )
    with pytest.raises(token_services.TokenRefused):
        token_services.create_token(
            tenant=tenant_a,
            creator=alice,
            name="x",
            role=Role.SECURITY_READER,
            expires_at=timezone.now() - dt.timedelta(minutes=1),
        )
    with pytest.raises(token_services.TokenRefused):
        token_services.create_token(tenant=tenant_a, creator=alice, name="  ", role="root")


def test_admin_may_create_every_role(client, alice, tenant_a):
    client.force_login(alice)
    for role in Role.values:
        assert create(client, tenant_a, role=role, name=role).status_code == 201
    assert sorted(ApiToken.objects.values_list("role", flat=True)) == sorted(Role.values)


def test_expiry_date(client, alice, tenant_a):
    client.force_login(alice)
    today = timezone.now().date()
    for bad in [today.isoformat(), (today - dt.timedelta(days=3)).isoformat(), "2999-01-01"]:
        assert create(client, tenant_a, role="security_reader", expires_on=bad).status_code == 400
    assert create(client, tenant_a, role="security_reader", expires_on="31/02/x").status_code == 400
    day = today + dt.timedelta(days=30)
    response = create(client, tenant_a, role="security_reader", expires_on=day.isoformat())
    assert response.status_code == 201
    token = ApiToken.objects.get()
    assert token.expires_at == dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "role": "security_reader"},
        {"name": "x" * 101, "role": "security_reader"},
        {"name": "ok"},
        {"name": "ok", "role": ""},
    ],
)
def test_bad_input_is_400_not_500(client, alice, tenant_a, data):
    client.force_login(alice)
    response = client.post(tokens_url(tenant_a), data)
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


# --- Listing ---------------------------------------------------------------------------------


def test_list_shows_status_of_each_token(client, rita, alice, tenant_a):
    active = token_services.create_token(
        tenant=tenant_a, creator=alice, name="active one", role=Role.SECURITY_READER
    ).token
    expired = token_services.create_token(
        tenant=tenant_a, creator=alice, name="expired one", role=Role.SECURITY_READER
    ).token
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    revoked = token_services.create_token(
        tenant=tenant_a, creator=alice, name="revoked one", role=Role.SECURITY_READER
    ).token
    token_services.revoke_token(token=revoked, actor=alice)
    client.force_login(rita)
    html = client.get(tokens_url(tenant_a)).content.decode()
    for name, status in [
        ("active one", "active"),
        ("expired one", "expired"),
        ("revoked one", "revoked"),
    ]:
        row = html.split(f"<td>{name}</td>", 1)[1].split("</tr>", 1)[0]
        assert f">{status}</span>" in row
        assert "Revoke" not in row  # rita may not revoke alice's tokens
    assert active.prefix in html


def test_other_tenant_gets_404_and_anonymous_signs_in(client, charlie, tenant_a, alice):
    token = token_services.create_token(
        tenant=tenant_a, creator=alice, name="a", role=Role.SECURITY_READER
    ).token
    response = client.get(tokens_url(tenant_a))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(charlie)
    assert client.get(tokens_url(tenant_a)).status_code == 404
    assert create(client, tenant_a, role="security_reader").status_code == 404
    assert client.post(revoke_url(token)).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.count() == 1


def test_token_of_another_tenant_is_404_on_revoke(client, charlie, tenant_b, alice, tenant_a):
    b_token = token_services.create_token(
        tenant=tenant_b, creator=charlie, name="b", role=Role.SECURITY_READER
    ).token
    client.force_login(alice)
    url = reverse("tenants:token-revoke", args=[tenant_a.slug, b_token.id])
    assert client.post(url).status_code == 404
    b_token.refresh_from_db()
    assert b_token.revoked_at is None


# --- Revoking --------------------------------------------------------------------------------


def test_owner_revokes_own_token_and_it_stops_working(client, rita, tenant_a):
    key = token_key(rita, tenant_a, Role.SECURITY_READER)
    token = ApiToken.objects.get()
    client.force_login(rita)
    response = client.post(revoke_url(token))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/members/").status_code == 401
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="token.revoked")
    assert event.details["prefix"] == token.prefix and event.actor_label == rita.username


def test_only_owner_or_global_admin_may_revoke(client, rita, sam, alice, tenant_a):
    ritas = token_services.create_token(
        tenant=tenant_a, creator=rita, name="r", role=Role.SECURITY_READER
    ).token
    alices = token_services.create_token(
        tenant=tenant_a, creator=alice, name="a", role=Role.SECURITY_READER
    ).token
    client.force_login(sam)
    assert client.post(revoke_url(ritas)).status_code == 403
    client.force_login(rita)
    assert client.post(revoke_url(alices)).status_code == 403
    for token in (ritas, alices):
        token.refresh_from_db()
        assert token.revoked_at is None
    client.force_login(alice)  # global admin: any token of the tenant
    assert client.post(revoke_url(ritas)).status_code == 302
    ritas.refresh_from_db()
    assert ritas.revoked_at is not None


def test_revoke_is_post_only_and_idempotent(client, alice, tenant_a):
    token = token_services.create_token(
        tenant=tenant_a, creator=alice, name="a", role=Role.SECURITY_READER
    ).token
    client.force_login(alice)
    assert client.get(revoke_url(token)).status_code == 405
    assert client.post(revoke_url(token)).status_code == 302
    first = ApiToken.objects.get().revoked_at
    assert client.post(revoke_url(token)).status_code == 302
    assert ApiToken.objects.get().revoked_at == first
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="token.revoked").count() == 1
