"""Sign-in, lock-out, sessions, sign-out and password change (tests T3, T4, T5).

Everything goes through the real views, middleware (axes, sessions, CSRF off in the test client)
and PostgreSQL; no mocks.
"""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse

from apps.tenants.auth_forms import INVALID_LOGIN
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.factories import member

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client: Client, username: str, password: str, **extra):
    data = {"username": username, "password": password}
    data.update(extra.pop("data", {}))
    return client.post(reverse("login"), data, **extra)


def error_flash(response) -> str:
    match = re.search(r'<div class="flash flash-error"[^>]*>(.*?)</div>', response.content.decode())
    return match.group(1) if match else ""


def events(tenant, action: str):
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def session_cookie(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


# --- The page -------------------------------------------------------------------------------


def test_login_page_has_username_password_and_submit(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'type="password"' in html
    assert 'type="submit"' in html
    assert reverse("login") == LOGIN  # the browser test and LOGIN_URL rely on this address


# --- Sign-in --------------------------------------------------------------------------------


def test_sign_in_with_username(client, alice, password, tenant_a):
    response = sign_in(client, alice.username, password)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("tenants:dashboard", args=[tenant_a.slug])).status_code == 200


def test_sign_in_with_email_case_insensitive(client, tenant_a, password):
    user = member(tenant_a, Role.SECURITY_READER, username="rose", email="Rose@Alpha.test")
    response = sign_in(client, "rose@alpha.TEST", password)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_wrong_password_and_unknown_user_look_the_same(client, alice):
    wrong = sign_in(client, alice.username, "not-the-password")
    unknown = sign_in(client, "ghost@nowhere.test", "not-the-password")
    by_email_wrong = sign_in(client, alice.email, "not-the-password")
    assert wrong.status_code == unknown.status_code == by_email_wrong.status_code == 400
    assert error_flash(wrong) == error_flash(unknown) == error_flash(by_email_wrong)
    assert INVALID_LOGIN in error_flash(wrong)
    assert "_auth_user_id" not in client.session


def test_inactive_user_gets_the_same_message(client, alice, password):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = sign_in(client, alice.username, password)
    assert response.status_code == 400
    assert INVALID_LOGIN in error_flash(response)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "", "password": ""},
        {"username": "a" * 5000, "password": "x"},
        {"username": "alice", "password": "p" * 5000},
        {"username": "\x00bad", "password": "x"},
    ],
)
def test_bad_input_is_a_form_error_not_a_500(client, alice, data):
    response = client.post(reverse("login"), data)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_safe_next_is_followed(client, alice, password, tenant_a):
    target = reverse("tenants:settings", args=[tenant_a.slug])
    response = sign_in(client, alice.username, password, data={"next": target})
    assert response["Location"] == target


@pytest.mark.parametrize(
    "evil", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "http:/\\evil"]
)
def test_foreign_next_is_ignored(client, alice, password, evil):
    response = sign_in(client, alice.username, password, data={"next": evil})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_login_page_carries_next(client, tenant_a):
    response = client.get(reverse("tenants:dashboard", args=[tenant_a.slug]), follow=True)
    assert 'name="next" value="/t/alpha/"' in response.content.decode()


# --- Lock-out (django-axes) -----------------------------------------------------------------


def test_lock_out_after_five_failures_even_with_right_password(client, alice, password):
    for attempt in range(1, 5):
        response = sign_in(client, alice.username, f"wrong-{attempt}")
        assert response.status_code == 400, attempt
    fifth = sign_in(client, alice.username, "wrong-5")
    assert fifth.status_code == 429
    assert "tenants/auth/locked_out.html" in [t.name for t in fifth.templates]
    assert "Sign-in paused" in fifth.content.decode()
    assert "15 minutes" in fifth.content.decode()

    right = sign_in(client, alice.username, password)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # The email form of the same account is the same lock (one canonical username).
    assert sign_in(client, alice.email.upper(), password).status_code == 429


def test_lock_is_per_username_and_address(client, alice, password):
    for attempt in range(5):
        sign_in(client, alice.username, f"wrong-{attempt}")
    assert sign_in(client, alice.username, password).status_code == 429
    other = Client(REMOTE_ADDR="192.0.2.44")
    assert sign_in(other, alice.username, password).status_code == 302


def test_unknown_user_is_locked_out_the_same_way(client):
    statuses = [sign_in(client, "ghost@nowhere.test", "x").status_code for _ in range(6)]
    assert statuses == [400, 400, 400, 400, 429, 429]
    assert AccessAttempt.objects.filter(username="ghost@nowhere.test").exists()


def test_lock_out_is_audited_once(client, alice, tenant_a, password):
    for attempt in range(7):
        sign_in(client, alice.username, f"wrong-{attempt}")
    failed = events(tenant_a, "auth.sign_in_failed")
    assert [e.details["reason"] for e in failed] == ["bad_password"] * 5 + ["locked_out"] * 2
    locked = events(tenant_a, "auth.locked_out")
    assert len(locked) == 1
    assert locked[0].actor_id == alice.pk
    assert locked[0].details["failures"] == 5


def test_success_resets_the_failure_count(client, alice, password):
    for attempt in range(4):
        sign_in(client, alice.username, f"wrong-{attempt}")
    assert sign_in(client, alice.username, password).status_code == 302
    client.post(reverse("logout"))
    for attempt in range(4):
        assert sign_in(client, alice.username, f"again-{attempt}").status_code == 400


# --- Audit ----------------------------------------------------------------------------------


def test_sign_in_events_go_to_every_tenant_of_the_user(client, alice, tenant_a, tenant_b, password):
    member(tenant_b, Role.SECURITY_READER, username=alice.username)
    sign_in(client, alice.username, "wrong-password-123")
    sign_in(client, alice.username, password)
    client.post(reverse("logout"))
    for tenant in (tenant_a, tenant_b):
        assert len(events(tenant, "auth.sign_in_failed")) == 1
        signed_in = events(tenant, "auth.signed_in")
        assert len(signed_in) == 1
        assert signed_in[0].actor_id == alice.pk
        assert signed_in[0].ip == "127.0.0.1"
        assert len(events(tenant, "auth.signed_out")) == 1
    with tenant_context(tenant_a):
        for event in AuditEvent.objects.filter(action__startswith="auth."):
            assert password not in str(event.details)
            assert "wrong-password-123" not in str(event.details)


def test_unknown_user_failure_writes_no_tenant_audit(client, alice, tenant_a):
    sign_in(client, "ghost@nowhere.test", "x")
    assert events(tenant_a, "auth.sign_in_failed") == []


# --- Sessions (T4) --------------------------------------------------------------------------


def test_session_key_rotates_on_sign_in(client, alice, password):
    session = client.session
    session["probe"] = "before sign-in"
    session.save()
    old_key = session.session_key
    assert sign_in(client, alice.username, password).status_code == 302
    new_key = session_cookie(client)
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()


def test_sign_out_is_post_only(client, alice, password):
    sign_in(client, alice.username, password)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 302  # still signed in (to the dashboard)
    assert "_auth_user_id" in client.session


def test_sign_out_kills_the_session_server_side(client, alice, password, tenant_a):
    sign_in(client, alice.username, password)
    old_key = session_cookie(client)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert not Session.objects.filter(session_key=old_key).exists()

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    response = replay.get(reverse("tenants:dashboard", args=[tenant_a.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_disabling_a_user_ends_their_sessions(client, alice, password, tenant_a):
    sign_in(client, alice.username, password)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = client.get(reverse("tenants:dashboard", args=[tenant_a.slug]))
    assert response["Location"].startswith(reverse("login"))


def change_password(client: Client, old: str, new: str, confirm: str | None = None):
    return client.post(
        reverse("account-security"),
        {
            "action": "password",
            "old_password": old,
            "new_password1": new,
            "new_password2": confirm if confirm is not None else new,
        },
    )


def test_password_change_keeps_this_session_and_kills_the_others(alice, password, tenant_a):
    here, elsewhere = Client(), Client()
    sign_in(here, alice.username, password)
    sign_in(elsewhere, alice.username, password)
    dashboard = reverse("tenants:dashboard", args=[tenant_a.slug])
    assert elsewhere.get(dashboard).status_code == 200
    key_before = session_cookie(here)

    response = change_password(here, password, "a-much-longer-new-passphrase-42")
    assert response.status_code == 302
    assert here.get(dashboard).status_code == 200
    assert session_cookie(here) != key_before  # update_session_auth_hash rotated it
    assert elsewhere.get(dashboard)["Location"].startswith(reverse("login"))

    alice.refresh_from_db()
    assert alice.check_password("a-much-longer-new-passphrase-42")
    assert len(events(tenant_a, "auth.password_changed")) == 1
    assert "a-much-longer" not in str(events(tenant_a, "auth.password_changed")[0].details)


@pytest.mark.parametrize(
    ("old", "new", "confirm", "field"),
    [
        ("wrong-old-password", "a-much-longer-new-passphrase-42", None, "old_password"),
        (None, "short", None, "new_password2"),
        (None, "password1234", None, "new_password2"),
        (None, "a-much-longer-new-passphrase-42", "something-else-entirely", "new_password2"),
    ],
)
def test_password_change_errors_are_form_errors(client, alice, password, old, new, confirm, field):
    sign_in(client, alice.username, password)
    response = change_password(client, old or password, new, confirm)
    assert response.status_code == 400
    assert response.context["password_form"].errors[field]
    alice.refresh_from_db()
    assert alice.check_password(password)


def test_guessing_the_current_password_counts_towards_lock_out(client, alice, password):
    sign_in(client, alice.username, password)
    for attempt in range(4):
        assert change_password(client, f"guess-{attempt}", "x" * 20).status_code == 400
    assert change_password(client, "guess-5", "x" * 20).status_code == 429


def test_account_security_needs_sign_in(client):
    response = client.get(reverse("account-security"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_account_security_unknown_action_is_400(client, alice, password):
    sign_in(client, alice.username, password)
    assert client.get(reverse("account-security")).status_code == 200
    assert client.post(reverse("account-security"), {"action": "nope"}).status_code == 400


# --- Cookies and headers (T5) ---------------------------------------------------------------


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_session_cookie_flags_with_production_settings(client, alice, password):
    client.get(reverse("login"), secure=True)
    response = sign_in(client, alice.username, password, secure=True)
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] is True
    assert csrf["samesite"] == "Lax"


def test_auth_pages_are_not_cached_and_carry_security_headers(client):
    response = client.get(reverse("login"))
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response["Content-Security-Policy"]
