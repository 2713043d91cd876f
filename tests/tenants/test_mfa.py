"""TOTP MFA: two-step sign-in, enrolment, backup codes, re-authentication (tests T1, T2).

Codes are computed from the device's real key with django_otp.oath.TOTP, as an authenticator
app would; nothing of django-otp or our views is mocked.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.tenants import auth_services
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from apps.tenants.views import auth as auth_views
from tests.factories import member

pytestmark = pytest.mark.django_db

CONSOLE_NAMESPACES = (
    "tenants",
    "activities",
    "accounts",
    "alerts",
    "governance",
    "discovery",
    "dlp",
)


def code_for(device: TOTPDevice, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    """Six digits that are none of the codes accepted around now."""
    near = {code_for(device, time.time() + step * device.step) for step in range(-2, 3)}
    return next(
        c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in near
    )


def enrol_device(user) -> TOTPDevice:
    """A confirmed TOTP device plus backup codes, as left by a finished enrolment."""
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    auth_services._new_backup_codes(user)
    return device


def let_time_pass(device: TOTPDevice) -> None:
    """Forget the last used time step and throttling, as if a minute had passed."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    device.refresh_from_db()


def sign_in(client: Client, user, password: str, **data):
    return client.post(reverse("login"), {"username": user.username, "password": password, **data})


def verify(client: Client, code: str, **data):
    return client.post(reverse("mfa-verify"), {"code": code, **data})


def events(tenant, action: str):
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def console_urls(slug: str) -> list[str]:
    """Every console URL that needs only the tenant slug, read from the URL resolver."""
    resolver = get_resolver()
    urls = set()
    for namespace in CONSOLE_NAMESPACES:
        _, sub_resolver = resolver.namespace_dict[namespace]
        for name in sub_resolver.reverse_dict:
            if not isinstance(name, str):
                continue
            try:
                urls.add(reverse(f"{namespace}:{name}", kwargs={"tenant_slug": slug}))
            except NoReverseMatch:
                continue  # needs more than the slug (an object id)
    return sorted(urls)


def is_redirect_to(response, name: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse(name))


@pytest.fixture
def alice_device(alice):
    return enrol_device(alice)


# --- Two-step sign-in -----------------------------------------------------------------------


def test_password_alone_does_not_sign_in_a_user_with_a_device(
    client, alice, alice_device, password, tenant_a
):
    assert not tenant_a.require_mfa
    response = sign_in(client, alice, password)
    assert is_redirect_to(response, "mfa-verify")
    assert "_auth_user_id" not in client.session
    for url in [reverse("home"), reverse("account-security"), *console_urls(tenant_a.slug)]:
        assert is_redirect_to(client.get(url), "login"), url
    page = client.get(reverse("mfa-verify"))
    assert page.status_code == 200
    assert alice.username in page.content.decode()


def test_totp_completes_sign_in_and_rotates_the_session(
    client, alice, alice_device, password, tenant_a
):
    sign_in(client, alice, password, next=f"/t/{tenant_a.slug}/settings/")
    pending_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = verify(client, code_for(alice_device))
    assert response.status_code == 302
    assert response["Location"] == f"/t/{tenant_a.slug}/settings/"
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != pending_key
    assert not Session.objects.filter(session_key=pending_key).exists()
    assert client.get(reverse("tenants:dashboard", args=[tenant_a.slug])).status_code == 200
    signed_in = events(tenant_a, "auth.signed_in")
    assert [e.details for e in signed_in] == [{"mfa": True, "method": "totp"}]


def test_totp_replay_is_refused(client, alice, alice_device, password):
    code = code_for(alice_device)
    sign_in(client, alice, password)
    assert verify(client, code).status_code == 302
    client.post(reverse("logout"))

    sign_in(client, alice, password)
    replay = verify(client, code)
    assert replay.status_code == 400
    assert "not valid" in replay.content.decode()
    assert "_auth_user_id" not in client.session


def test_expired_and_future_codes_are_refused(client, alice, alice_device, password):
    sign_in(client, alice, password)
    for at in (time.time() - 90, time.time() + 90):
        let_time_pass(alice_device)
        assert verify(client, code_for(alice_device, at)).status_code == 400
    let_time_pass(alice_device)
    assert verify(client, code_for(alice_device)).status_code == 302


def test_wrong_codes_are_throttled(client, alice, alice_device, password, tenant_a):
    sign_in(client, alice, password)
    assert verify(client, wrong_code(alice_device)).status_code == 400
    right_but_throttled = verify(client, code_for(alice_device))
    assert right_but_throttled.status_code == 400
    assert "Too many wrong codes" in right_but_throttled.content.decode()
    # Once the back-off has passed, the right code works.
    TOTPDevice.objects.filter(pk=alice_device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=5)
    )
    assert verify(client, code_for(alice_device)).status_code == 302
    assert len(events(tenant_a, "auth.mfa_failed")) == 2


def test_five_wrong_codes_cancel_the_pending_sign_in(client, alice, alice_device, password):
    sign_in(client, alice, password)
    for _ in range(auth_views.PENDING_MAX_FAILURES - 1):
        assert verify(client, "12345678abc").status_code == 400  # backup-code shaped, wrong
        StaticDevice.objects.filter(user=alice).update(throttling_failure_count=0)
    response = verify(client, "12345678abc")
    assert is_redirect_to(response, "login")
    let_time_pass(alice_device)
    assert is_redirect_to(verify(client, code_for(alice_device)), "login")


def test_pending_sign_in_expires(client, alice, alice_device, password):
    sign_in(client, alice, password)
    session = client.session
    pending = session[auth_views.PENDING_KEY]
    pending["at"] -= auth_views.PENDING_TTL + 1
    session[auth_views.PENDING_KEY] = pending
    session.save()
    assert is_redirect_to(verify(client, code_for(alice_device)), "login")
    assert "_auth_user_id" not in client.session


def test_garbage_code_is_a_form_error(client, alice, alice_device, password):
    sign_in(client, alice, password)
    for bad in ("", "<script>", "1" * 40, "12 34"):
        response = verify(client, bad)
        assert response.status_code == 400, bad
    assert client.get(reverse("mfa-verify")).status_code == 200


def test_verify_page_without_sign_in_goes_to_login(client):
    assert is_redirect_to(client.get(reverse("mfa-verify")), "login")


def test_backup_code_works_once(client, alice, alice_device, password, tenant_a):
    code = StaticToken.objects.filter(device__user=alice).first().token
    sign_in(client, alice, password)
    response = verify(client, code.upper())
    assert response.status_code == 302
    assert auth_services.backup_codes_left(alice) == 9
    assert events(tenant_a, "auth.signed_in")[-1].details["method"] == "backup_code"
    client.post(reverse("logout"))
    sign_in(client, alice, password)
    assert verify(client, code).status_code == 400


def test_cancel_on_verify_page_ends_the_pending_session(client, alice, alice_device, password):
    sign_in(client, alice, password)
    client.post(reverse("logout"))
    assert is_redirect_to(client.get(reverse("mfa-verify")), "login")


# --- T1: tenants that require MFA -----------------------------------------------------------


def test_console_url_list_is_read_from_the_resolver(tenant_a):
    urls = console_urls(tenant_a.slug)
    assert f"/t/{tenant_a.slug}/" in urls
    assert reverse("activities:list", args=[tenant_a.slug]) in urls
    assert reverse("tenants:settings", args=[tenant_a.slug]) in urls
    assert len(urls) >= 10


def test_t1_password_only_session_reaches_no_console_page(client, alice, password, tenant_a):
    tenant_a.require_mfa = True
    tenant_a.save(update_fields=["require_mfa"])
    assert sign_in(client, alice, password).status_code == 302  # no device yet: signed in
    urls = console_urls(tenant_a.slug)
    reachable = []
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            if not is_redirect_to(response, "mfa-enrol"):
                reachable.append((method.__name__, url, response.status_code))
    assert reachable == [], f"{len(reachable)} of {2 * len(urls)} reachable: {reachable}"

    # Enrol through the page the redirect leads to, with a real code.
    first = client.get(urls[0])
    enrol_url = first["Location"]
    assert f"tenant={tenant_a.slug}" in enrol_url
    page = client.get(enrol_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    assert "Alpha</strong> requires" in html
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    assert auth_services.totp_secret_b32(device) in html
    done = client.post(
        enrol_url, {"code": code_for(device), "next": urls[0], "tenant": tenant_a.slug}
    )
    assert done.status_code == 200
    assert len(done.context["codes"]) == 10
    assert done.context["continue_url"] == urls[0]

    blocked = []
    for url in urls:
        response = client.get(url)
        if response.status_code >= 500 or any(
            is_redirect_to(response, name) for name in ("mfa-enrol", "mfa-verify", "login")
        ):
            blocked.append((url, response.status_code))
    assert blocked == [], f"{len(blocked)} of {len(urls)} still blocked: {blocked}"


def test_t1_session_of_a_user_with_a_device_gets_the_code_page(
    client, alice, alice_device, tenant_a
):
    """A session logged in without a code (e.g. before enrolment elsewhere) is sent to verify."""
    tenant_a.require_mfa = True
    tenant_a.save(update_fields=["require_mfa"])
    client.force_login(alice)
    dashboard = reverse("tenants:dashboard", args=[tenant_a.slug])
    response = client.get(dashboard)
    assert is_redirect_to(response, "mfa-verify")
    assert is_redirect_to(client.get(reverse("account-security")), "mfa-verify")
    assert is_redirect_to(client.get(reverse("mfa-enrol")), "mfa-verify")
    key_before = client.cookies[settings.SESSION_COOKIE_NAME].value
    page = client.get(response["Location"])
    assert page.status_code == 200
    done = verify(client, code_for(alice_device), next=dashboard)
    assert done["Location"] == dashboard
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != key_before
    assert client.get(dashboard).status_code == 200
    assert len(events(tenant_a, "auth.mfa_verified")) == 1


def test_enrol_page_does_not_name_a_tenant_of_someone_else(client, charlie, tenant_a):
    client.force_login(charlie)
    response = client.get(reverse("mfa-enrol"), {"tenant": tenant_a.slug})
    assert response.status_code == 200
    assert tenant_a.name not in response.content.decode()


def test_enrol_ignores_a_foreign_next(client, alice, password):
    sign_in(client, alice, password)
    client.get(reverse("mfa-enrol"))
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    done = client.post(
        reverse("mfa-enrol"), {"code": code_for(device), "next": "https://evil.example/"}
    )
    assert done.context["continue_url"] == reverse("home")


# --- Enrolment ------------------------------------------------------------------------------


def test_enrolment_end_to_end(client, alice, password, tenant_a, tenant_b):
    member(tenant_b, Role.SECURITY_READER, username=alice.username)
    sign_in(client, alice, password)
    other = Client()
    sign_in(other, alice, password)

    page = client.get(reverse("mfa-enrol"))
    assert page.status_code == 200
    assert 'name="password"' not in page.content.decode()  # signed in with a password just now
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    assert client.get(reverse("mfa-enrol")).status_code == 200
    assert TOTPDevice.objects.filter(user=alice).count() == 1  # reloading keeps the secret

    wrong = client.post(reverse("mfa-enrol"), {"code": "abcdef"})
    assert wrong.status_code == 400
    done = client.post(reverse("mfa-enrol"), {"code": code_for(device)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == len(set(codes)) == 10
    for code in codes:
        assert code in done.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    assert StaticToken.objects.filter(device__user=alice).count() == 10

    # This session is verified; the other one (no code ever entered) was ended.
    assert client.get(reverse("account-security")).status_code == 200
    assert is_redirect_to(other.get(reverse("home")), "login")
    for tenant in (tenant_a, tenant_b):
        enrolled = events(tenant, "auth.mfa_enrolled")
        assert len(enrolled) == 1
        assert device.key not in str(enrolled[0].details)
    # Going back to the enrol page changes nothing.
    assert client.get(reverse("mfa-enrol"))["Location"] == reverse("account-security")


def test_enrolment_in_an_old_session_asks_for_the_password(client, alice, password):
    client.force_login(alice)  # no recent password sign-in in this session
    page = client.get(reverse("mfa-enrol"))
    assert 'name="password"' in page.content.decode()
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    no_password = client.post(reverse("mfa-enrol"), {"code": code_for(device)})
    assert no_password.status_code == 400
    assert no_password.context["form"].errors["password"]
    wrong_password = client.post(
        reverse("mfa-enrol"), {"code": code_for(device), "password": "not-it"}
    )
    assert wrong_password.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    ok = client.post(reverse("mfa-enrol"), {"code": code_for(device), "password": password})
    assert ok.status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_enrol_needs_sign_in(client):
    assert is_redirect_to(client.get(reverse("mfa-enrol")), "login")


def test_qr_code_is_inline_svg_of_the_otpauth_url(alice):
    device = auth_services.start_totp_enrolment(user=alice)
    svg = auth_services.totp_qr_svg(device)
    assert svg.startswith("<svg")
    assert "viewBox" in svg
    assert "<script" not in svg
    assert device.config_url.startswith("otpauth://totp/CASB")


# --- Account security: re-authentication with a code ---------------------------------------


def signed_in_with_mfa(client, user, password, device) -> None:
    sign_in(client, user, password)
    assert verify(client, code_for(device)).status_code == 302
    let_time_pass(device)


def test_regenerating_backup_codes_needs_a_current_code(
    client, alice, alice_device, password, tenant_a
):
    signed_in_with_mfa(client, alice, password, alice_device)
    old_codes = set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True))
    page = client.get(reverse("account-security"))
    assert "Backup codes left" in page.content.decode()
    refused = client.post(
        reverse("account-security"),
        {"action": "backup_codes", "backup-code": wrong_code(alice_device)},
    )
    assert refused.status_code == 400
    assert refused.context["backup_form"].errors["code"]
    assert not events(tenant_a, "auth.backup_codes_regenerated")

    let_time_pass(alice_device)
    done = client.post(
        reverse("account-security"),
        {"action": "backup_codes", "backup-code": code_for(alice_device)},
    )
    assert done.status_code == 200
    new_codes = set(done.context["codes"])
    assert len(new_codes) == 10
    assert not (new_codes & old_codes)
    assert set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True)) == (
        new_codes
    )
    assert len(events(tenant_a, "auth.backup_codes_regenerated")) == 1


def test_removing_mfa_needs_a_current_code(client, alice, alice_device, password, tenant_a):
    signed_in_with_mfa(client, alice, password, alice_device)
    other = Client()
    other.force_login(alice)
    refused = client.post(
        reverse("account-security"),
        {"action": "remove_mfa", "remove-code": wrong_code(alice_device)},
    )
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=alice).exists()

    let_time_pass(alice_device)
    done = client.post(
        reverse("account-security"),
        {"action": "remove_mfa", "remove-code": code_for(alice_device)},
    )
    assert is_redirect_to(done, "account-security")
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not StaticDevice.objects.filter(user=alice).exists()
    assert len(events(tenant_a, "auth.mfa_removed")) == 1
    assert is_redirect_to(other.get(reverse("home")), "login")
    # Without a device the password alone signs in again.
    client.post(reverse("logout"))
    assert is_redirect_to(sign_in(client, alice, password), "home")


def test_removing_mfa_with_a_backup_code(client, alice, alice_device, password):
    signed_in_with_mfa(client, alice, password, alice_device)
    code = StaticToken.objects.filter(device__user=alice).first().token
    done = client.post(reverse("account-security"), {"action": "remove_mfa", "remove-code": code})
    assert is_redirect_to(done, "account-security")
    assert not auth_services.has_mfa(alice)


def test_code_actions_without_mfa_do_nothing(client, alice, password):
    sign_in(client, alice, password)
    for action in ("backup_codes", "remove_mfa"):
        response = client.post(reverse("account-security"), {"action": action})
        assert is_redirect_to(response, "account-security")
    assert not StaticDevice.objects.filter(user=alice).exists()
