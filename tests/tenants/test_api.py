"""The REST API: token authentication, tenant isolation, roles, the error format, content
types, pagination, throttling and query counts. Real PostgreSQL, real HTTP stack (APIClient)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.tenants import services
from apps.tenants.models import ApiToken, AuditEvent, Membership, Role
from apps.tenants.scoping import tenant_context
from tests.factories import UserFactory, member
from tests.role_matrix import token_key

MEMBERS = "/api/v1/members/"


def client_for(key: str | None) -> APIClient:
    client = APIClient()
    client.default_format = "json"  # dict bodies go as JSON (the API refuses anything else)
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Every refusal has the one format: {"error": {"code", "message", "details"?}}."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "details"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def alice_key(alice, tenant_a):
    return token_key(alice, tenant_a, Role.GLOBAL_ADMIN)


@pytest.fixture
def rita_key(rita, tenant_a):
    return token_key(rita, tenant_a, Role.SECURITY_READER)


@pytest.fixture
def charlie_key(charlie, tenant_b):
    return token_key(charlie, tenant_b, Role.GLOBAL_ADMIN)


# --- Authentication ----------------------------------------------------------------------------


def test_key_is_never_stored_in_clear(alice, tenant_a):
    key = token_key(alice, tenant_a, Role.GLOBAL_ADMIN, name="ci")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tenants_apitoken")
        rows = cursor.fetchall()
        cursor.execute("SELECT details::text, actor_label, object_id FROM tenants_auditevent")
        audit_rows = cursor.fetchall()
    assert rows, "the token row exists"
    secret_part = key.split("_", 2)[2]  # the secret itself may hold "_"
    for row in rows + audit_rows:
        for value in row:
            assert secret_part not in str(value)
    token = ApiToken.objects.get()
    assert token.key_hash != key and len(token.key_hash) == 64
    assert key.startswith(f"casb_{token.prefix}_")


def test_token_reads_its_tenant(alice_key, tenant_a):
    response = client_for(alice_key).get("/api/v1/tenant/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(tenant_a.id)
    assert (body["slug"], body["geo"], body["status"]) == ("alpha", "eu", "active")


def test_tenant_geo_cannot_be_changed(alice_key, tenant_a):
    response = client_for(alice_key).patch("/api/v1/tenant/", {"geo": "us"}, format="json")
    assert_error(response, 405, "method_not_allowed")
    tenant_a.refresh_from_db()
    assert tenant_a.geo == "eu"


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token a b",
        "Token casb_00000000_" + "A" * 43,  # well-formed, unknown
        "Token not-a-casb-key",
        "Token " + "x" * 5000,
        "Token casb_0000000g_" + "A" * 43,  # not hex
    ],
)
def test_bad_tokens_get_401_with_challenge(db, header):
    response = APIClient().get(MEMBERS, HTTP_AUTHORIZATION=header)
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == 'Token realm="api"'


def test_non_ascii_token_is_401_not_500(db):
    response = APIClient().get(MEMBERS, HTTP_AUTHORIZATION="Token casb_é".encode("latin-1"))
    assert_error(response, 401)


def test_no_token_is_401(db):
    response = APIClient().get(MEMBERS)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Token realm="api"'


def test_session_alone_does_not_open_the_api(client, alice):
    client.force_login(alice)
    assert_error(client.get(MEMBERS), 401)


def test_revoked_token_is_401(alice_key, alice):
    assert client_for(alice_key).get(MEMBERS).status_code == 200
    ApiToken.objects.update(revoked_at=timezone.now())
    assert_error(client_for(alice_key).get(MEMBERS), 401, "authentication_failed")


def test_expired_token_is_401(alice_key):
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    error = assert_error(client_for(alice_key).get(MEMBERS), 401)
    # One message for unknown, revoked and expired: no oracle about which keys exist.
    assert error["message"] == "Invalid, revoked or expired token."


def test_disabled_owner_token_is_401(alice_key, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert_error(client_for(alice_key).get(MEMBERS), 401)


def test_last_used_is_recorded(alice_key):
    assert ApiToken.objects.get().last_used_at is None
    client_for(alice_key).get(MEMBERS)
    assert ApiToken.objects.get().last_used_at is not None


# --- Roles and tenants ---------------------------------------------------------------------------


def test_token_of_a_cannot_read_b(alice_key, charlie, tenant_b):
    b_membership = Membership.objects.get(tenant=tenant_b, user=charlie)
    client = client_for(alice_key)
    assert_error(client.get(f"{MEMBERS}{b_membership.id}/"), 404, "not_found")
    assert_error(client.delete(f"{MEMBERS}{b_membership.id}/"), 404)
    assert_error(client.patch(f"{MEMBERS}{b_membership.id}/", {"role": "security_reader"}), 404)
    with tenant_context(tenant_b):
        b_event = AuditEvent.objects.first()
    assert_error(client.get(f"/api/v1/audit/{b_event.id}/"), 404)
    usernames = [m["username"] for m in client.get(MEMBERS).json()["results"]]
    assert "charlie@bravo.test" not in usernames
    assert Membership.objects.filter(pk=b_membership.pk, role=Role.GLOBAL_ADMIN).exists()


def test_reader_token_gets_403_on_writes(rita_key, sam, tenant_a, nobody):
    client = client_for(rita_key)
    target = Membership.objects.get(tenant=tenant_a, user=sam)
    assert client.get(MEMBERS).status_code == 200
    assert_error(client.post(MEMBERS, {"user": nobody.username, "role": "security_reader"}), 403)
    assert_error(client.patch(f"{MEMBERS}{target.id}/", {"role": "security_reader"}), 403)
    assert_error(client.delete(f"{MEMBERS}{target.id}/"), 403, "permission_denied")
    target.refresh_from_db()
    assert target.role == Role.SECURITY_ADMIN
    assert not Membership.objects.filter(user=nobody).exists()


def test_reader_role_token_of_an_admin_cannot_write(alice, tenant_a, nobody):
    """The token's role caps it even when its creator could do more."""
    key = token_key(alice, tenant_a, Role.SECURITY_READER)
    response = client_for(key).post(MEMBERS, {"user": nobody.username, "role": "security_reader"})
    assert_error(response, 403)


def test_demoted_creator_token_can_no_longer_write(alice, sam, tenant_a, nobody):
    key = token_key(alice, tenant_a, Role.GLOBAL_ADMIN)
    client = client_for(key)
    body = {"user": nobody.username, "role": "security_reader"}
    # A second global admin demotes alice to reader.
    other = member(tenant_a, Role.GLOBAL_ADMIN, username="olga@alpha.test")
    services.set_role(tenant=tenant_a, user=alice, role=Role.SECURITY_READER, actor=other)
    assert client.get(MEMBERS).status_code == 200  # reading is still within her role
    assert_error(client.post(MEMBERS, body, format="json"), 403)
    assert_error(client.get("/api/v1/audit/"), 403)
    assert not Membership.objects.filter(user=nobody).exists()


def test_removed_creator_token_reads_nothing(alice, tenant_a):
    key = token_key(alice, tenant_a, Role.GLOBAL_ADMIN)
    other = member(tenant_a, Role.GLOBAL_ADMIN, username="olga@alpha.test")
    services.remove_member(tenant=tenant_a, user=alice, actor=other)
    assert_error(client_for(key).get(MEMBERS), 403)


def test_security_admin_cannot_read_audit(sam, tenant_a):
    key = token_key(sam, tenant_a, Role.SECURITY_ADMIN)
    assert_error(client_for(key).get("/api/v1/audit/"), 403)


def test_gate_applies_to_tokens(alice_key, tenant_a):
    tenant_a.allowed_networks = ["192.0.2.0/24"]
    tenant_a.save(update_fields=["allowed_networks"])
    assert_error(client_for(alice_key).get(MEMBERS), 403, "network_not_allowed")
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="access.denied").exists()
    tenant_a.allowed_networks = []
    tenant_a.status = "suspended"
    tenant_a.save(update_fields=["allowed_networks", "status"])
    assert_error(client_for(alice_key).get(MEMBERS), 403, "tenant_inactive")
    # Cancelled: open through the grace period, so the data can still be exported.
    tenant_a.status = "cancelled"
    tenant_a.save(update_fields=["status"])
    assert client_for(alice_key).get(MEMBERS).status_code == 200


# --- Members ---------------------------------------------------------------------------------


def test_admin_adds_changes_and_removes_a_member(alice_key, tenant_a, nobody):
    client = client_for(alice_key)
    response = client.post(MEMBERS, {"user": nobody.email, "role": "security_reader"})
    assert response.status_code == 201, response.content
    member_id = response.json()["id"]
    assert response.json()["username"] == nobody.username
    response = client.patch(f"{MEMBERS}{member_id}/", {"role": "security_admin"})
    assert response.status_code == 200 and response.json()["role"] == "security_admin"
    assert client.delete(f"{MEMBERS}{member_id}/").status_code == 204
    assert not Membership.objects.filter(pk=member_id).exists()
    with tenant_context(tenant_a):
        actions = list(
            AuditEvent.objects.filter(details__member=nobody.username)
            .order_by("seq")
            .values_list("action", "actor_label")
        )
    assert [a for a, _ in actions] == ["member.added", "role.changed", "member.removed"]
    # The audit names the person and the token that acted.
    assert all(label == "alice@alpha.test (token matrix)" for _, label in actions)


def test_adding_an_existing_member_is_409(alice_key, sam):
    response = client_for(alice_key).post(MEMBERS, {"user": sam.username, "role": "global_admin"})
    assert_error(response, 409, "conflict")


def test_last_global_admin_is_409(alice_key, alice, tenant_a):
    membership = Membership.objects.get(tenant=tenant_a, user=alice)
    client = client_for(alice_key)
    assert_error(client.delete(f"{MEMBERS}{membership.id}/"), 409, "last_global_admin")
    response = client.patch(f"{MEMBERS}{membership.id}/", {"role": "security_reader"})
    assert_error(response, 409, "last_global_admin")
    membership.refresh_from_db()
    assert membership.role == Role.GLOBAL_ADMIN


@pytest.mark.parametrize(
    "body",
    [
        {"user": "no-such-person", "role": "security_reader"},
        {"user": "nobody@example.test", "role": "emperor"},
        {"user": "", "role": "security_reader"},
        {"user": ["a"], "role": {"x": 1}},
        {},
        [],
        "just a string",
    ],
)
def test_bad_member_bodies_are_400(alice_key, nobody, body):
    response = client_for(alice_key).post(
        MEMBERS, json.dumps(body), content_type="application/json"
    )
    error = assert_error(response, 400, "invalid")
    assert error["details"]


def test_disabled_account_cannot_be_added(alice_key, nobody):
    nobody.is_active = False
    nobody.save(update_fields=["is_active"])
    response = client_for(alice_key).post(
        MEMBERS, {"user": nobody.username, "role": "security_reader"}
    )
    assert_error(response, 400)


def test_mass_assignment_is_ignored(alice_key, tenant_a, tenant_b, sam, nobody):
    """T8: id, tenant, user, created_at are not writable; only `user` (on create) and `role`."""
    client = client_for(alice_key)
    forged_id = "00000000-0000-0000-0000-000000000001"
    response = client.post(
        MEMBERS,
        {
            "user": nobody.username,
            "role": "security_reader",
            "id": forged_id,
            "tenant": str(tenant_b.id),
            "created_at": "2000-01-01T00:00:00Z",
            "username": "someone-else",
        },
        format="json",
    )
    assert response.status_code == 201
    created = Membership.objects.get(user=nobody)
    assert str(created.id) != forged_id
    assert created.tenant_id == tenant_a.id
    assert created.created_at.year > 2000
    sam_membership = Membership.objects.get(tenant=tenant_a, user=sam)
    response = client.patch(
        f"{MEMBERS}{sam_membership.id}/",
        {
            "role": "security_reader",
            "user": nobody.username,
            "tenant": str(tenant_b.id),
            "id": forged_id,
        },
        format="json",
    )
    assert response.status_code == 200
    sam_membership.refresh_from_db()
    assert (sam_membership.user_id, sam_membership.tenant_id) == (sam.id, tenant_a.id)
    assert sam_membership.role == Role.SECURITY_READER
    assert (
        not Membership.objects.filter(tenant=tenant_b)
        .exclude(user__username="charlie@bravo.test")
        .exists()
    )


def test_responses_expose_no_secrets(alice_key, alice):
    body = json.dumps(client_for(alice_key).get(MEMBERS).json())
    for forbidden in ("password", "key_hash", "is_staff", "is_superuser"):
        assert forbidden not in body


# --- Error format, content types, methods -------------------------------------------------------


def test_bad_json_is_400_in_the_error_format(alice_key):
    response = client_for(alice_key).post(MEMBERS, '{"user": ', content_type="application/json")
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize(
    "content_type, payload",
    [
        (
            "multipart/form-data; boundary=BoUnDaRy",
            b"--BoUnDaRy\r\n"
            b'Content-Disposition: form-data; name="user"\r\n\r\nx\r\n--BoUnDaRy--\r\n',
        ),
        ("application/x-www-form-urlencoded", b"user=x&role=security_reader"),
        ("application/xml", b"<member><user>x</user></member>"),
        ("text/plain", b"hello"),
    ],
)
def test_non_json_bodies_are_415(alice_key, content_type, payload):
    response = client_for(alice_key).generic("POST", MEMBERS, payload, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")


def test_unknown_api_path_is_404_in_the_error_format(alice_key):
    assert_error(client_for(alice_key).get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error(client_for(alice_key).get(f"{MEMBERS}not-a-uuid/"), 404, "not_found")
    assert_error(APIClient().get("/api/v2/"), 404, "not_found")


def test_missing_object_is_404(alice_key):
    assert_error(client_for(alice_key).get(f"{MEMBERS}00000000-0000-0000-0000-000000000000/"), 404)


def test_unoffered_method_is_405_for_everyone_authenticated(alice_key, rita_key, tenant_a, sam):
    target = Membership.objects.get(tenant=tenant_a, user=sam)
    for key in (alice_key, rita_key):
        response = client_for(key).put(f"{MEMBERS}{target.id}/", {"role": "security_reader"})
        assert_error(response, 405, "method_not_allowed")
    assert_error(APIClient().put(f"{MEMBERS}{target.id}/", {}), 401)


def test_responses_are_json_only(alice_key):
    response = client_for(alice_key).get(MEMBERS, HTTP_ACCEPT="text/html")
    assert_error(response, 406, "not_acceptable")
    response = client_for(alice_key).get(MEMBERS, {"format": "api"})
    assert response.status_code == 404 or response["Content-Type"].startswith("application/json")


# --- Audit ----------------------------------------------------------------------------------------


def test_audit_list_filters_and_detail(alice_key, alice, tenant_a, rita):
    token_key(rita, tenant_a, Role.SECURITY_READER, name="reader script")
    client = client_for(alice_key)
    body = client.get("/api/v1/audit/", {"action": "token."}).json()
    assert body["count"] == 2  # alice's token and rita's
    assert {row["action"] for row in body["results"]} == {"token.created"}
    assert all("key" not in row["details"] for row in body["results"])
    event = body["results"][0]
    detail = client.get(f"/api/v1/audit/{event['id']}/").json()
    assert detail["hash"] == event["hash"] and detail["seq"] == event["seq"]
    assert_error(client.get("/api/v1/audit/", {"ip": "not-an-ip"}), 400, "invalid")
    assert_error(client.get("/api/v1/audit/", {"date_from": "yesterday"}), 400)


def test_audit_is_read_only_even_for_global_admins(alice_key, tenant_a):
    with tenant_context(tenant_a):
        event = AuditEvent.objects.first()
    client = client_for(alice_key)
    assert_error(client.delete(f"/api/v1/audit/{event.id}/"), 405)
    assert_error(client.patch(f"/api/v1/audit/{event.id}/", {"action": "x"}), 405)
    assert_error(client.post("/api/v1/audit/", {"action": "x"}), 405)


# --- Pagination, throttling, query counts ---------------------------------------------------------


def test_page_size_is_capped(alice_key, tenant_a):
    """T14: page_size=1000000 returns at most the maximum page size."""
    now = timezone.now()
    with tenant_context(tenant_a):
        start = AuditEvent.objects.count() + 1
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    seq=start + i,
                    created_at=now,
                    action="bulk.probe",
                    prev_hash="0" * 64,
                    hash=f"{i:064x}",
                )
                for i in range(520)
            ]
        )
    body = client_for(alice_key).get("/api/v1/audit/", {"page_size": 1000000}).json()
    assert body["count"] >= 520
    assert len(body["results"]) == 500
    assert body["next"]
    body = client_for(alice_key).get("/api/v1/audit/", {"page_size": 7}).json()
    assert len(body["results"]) == 7
    assert_error(client_for(alice_key).get("/api/v1/audit/", {"page": 9999}), 404)
    for bad in ("abc", "0", "-5", "1.5", "null", "٣"):
        response = client_for(alice_key).get("/api/v1/audit/", {"page_size": bad})
        assert assert_error(response, 400, "invalid")["details"]["page_size"]


def _rest_framework(**overrides):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, **overrides})


def test_throttling_is_per_token_with_retry_after(alice, tenant_a):
    key_1 = token_key(alice, tenant_a, Role.GLOBAL_ADMIN, name="one")
    key_2 = token_key(alice, tenant_a, Role.GLOBAL_ADMIN, name="two")
    with _rest_framework(DEFAULT_THROTTLE_RATES={"token": "3/min"}):
        for _ in range(3):
            assert client_for(key_1).get(MEMBERS).status_code == 200
        response = client_for(key_1).get(MEMBERS)
        error = assert_error(response, 429, "throttled")
        retry_after = int(response["Retry-After"])
        assert 0 < retry_after <= 60
        assert error["details"]["retry_after"] == retry_after
        assert client_for(key_2).get(MEMBERS).status_code == 200  # its own bucket


@pytest.mark.parametrize("path", [MEMBERS, "/api/v1/audit/"])
def test_list_query_count_does_not_grow_with_rows(
    alice_key, tenant_a, path, django_assert_max_num_queries
):
    client = client_for(alice_key)
    client.get(path)  # warm up: last_used_at write, content types

    def count() -> int:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path, {"page_size": 100}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(15):
        member(tenant_a, Role.SECURITY_READER, username=f"extra{i}@alpha.test")
    assert count() == few
    with django_assert_max_num_queries(10):
        client.get(path, {"page_size": 100})


def test_inactive_user_token_cannot_be_created_with_higher_role_via_db_forgery(rita, tenant_a):
    """A token row forged with a higher role than its creator still only has the creator's
    rights: allowed_actions intersects both."""
    key = token_key(rita, tenant_a, Role.SECURITY_READER)
    ApiToken.objects.update(role=Role.GLOBAL_ADMIN)
    assert_error(client_for(key).get("/api/v1/audit/"), 403)
    other = UserFactory(username="zed@example.test")
    response = client_for(key).post(MEMBERS, {"user": other.username, "role": "security_reader"})
    assert_error(response, 403)


@pytest.mark.parametrize("method", ["OPTIONS", "HEAD"])
def test_options_and_head_never_fail(alice_key, rita_key, tenant_a, sam, method):
    target = Membership.objects.get(tenant=tenant_a, user=sam)
    with tenant_context(tenant_a):
        event = AuditEvent.objects.first()
    paths = [MEMBERS, f"{MEMBERS}{target.id}/", "/api/v1/audit/", f"/api/v1/audit/{event.id}/"]
    paths += ["/api/v1/tenant/", "/api/v1/schema/"]
    for key in (alice_key, rita_key, None):
        for path in paths:
            response = client_for(key).generic(method, path)
            assert response.status_code < 500, (method, path, response.content)
            if key is None:
                assert response.status_code == 401
