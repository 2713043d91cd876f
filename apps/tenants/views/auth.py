"""Sign-in, the second step (TOTP or backup code), MFA enrolment, account security, sign-out.

Two-step sign-in: after a correct password, a user with a confirmed OTP device is *not* logged
in. The session (with a fresh key) holds only a pending record for PENDING_TTL seconds; the code
page calls Django's `login()` and then `django_otp.login()`. Until then the request is anonymous,
so no tenant page (nor any other signed-in page) is reachable, whether or not a tenant requires
MFA. A password-only session therefore only exists for users without a device; tenants with
`require_mfa` send those to enrolment (views/base.py).

Lock-out is django-axes': `authenticate(request=...)` counts failures per username and address,
and AxesMiddleware turns a refused attempt into templates/tenants/auth/locked_out.html (429).
Failures for unknown usernames are recorded by axes only (AccessAttempt); our per-tenant audit
log gets the events of known users.
"""

from __future__ import annotations

import time

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticDevice

from .. import auth_services as svc
from ..auth_forms import AxesPasswordChangeForm, CodeForm, EnrolForm, SignInForm
from ..selectors import tenants_of

PENDING_KEY = "casb_mfa_pending"
PENDING_TTL = 300  # seconds between the password and the code
PENDING_MAX_FAILURES = 5  # wrong codes before the password must be entered again
REAUTH_AT_KEY = "casb_reauth_at"  # time of the last password or code check
REAUTH_WINDOW = 600  # a password sign-in this recent counts as re-authentication

_sensitive = method_decorator(
    sensitive_post_parameters(
        "password",
        "old_password",
        "new_password1",
        "new_password2",
        "code",
        "backup-code",
        "remove-code",
    ),
    name="dispatch",
)


def safe_next(request, url: str | None, default: str = "home") -> str:
    """`url` if it stays on this site, else the URL named `default` (no open redirects)."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse(default)


def _with_query(name: str, **params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{reverse(name)}?{query}" if query else reverse(name)


def _method(device) -> str:
    return "backup_code" if isinstance(device, StaticDevice) else "totp"


def _is_verified(user) -> bool:
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


# --- Sign-in --------------------------------------------------------------------------------


@_sensitive
class SignInView(View):
    template_name = "tenants/auth/login.html"

    def get(self, request):
        form = SignInForm(request)
        return self._render(request, form, request.GET.get("next", ""))

    def post(self, request):
        form = SignInForm(request, data=request.POST)
        next_url = request.POST.get("next", "")
        if not form.is_valid():
            self._audit_failure(request, form)
            return self._render(request, form, next_url, status=400)
        user = form.user_cache
        target = safe_next(request, next_url)
        if svc.has_mfa(user):
            # Fresh session key before anything is stored (no fixation), nobody logged in yet.
            request.session.flush()
            request.session[PENDING_KEY] = {
                "uid": str(user.pk),
                "backend": user.backend,
                "at": int(time.time()),
                "fails": 0,
                "next": target,
            }
            return redirect("mfa-verify")
        auth_login(request, user)  # rotates the session key
        request.session[REAUTH_AT_KEY] = int(time.time())
        svc.record_for_user(user, "auth.signed_in", request=request, details={"mfa": False})
        return redirect(target)

    def _render(self, request, form, next_url: str, status: int = 200):
        context = {"form": form, "next": next_url if next_url else ""}
        return render(request, self.template_name, context, status=status)

    @staticmethod
    def _audit_failure(request, form: SignInForm) -> None:
        user = svc.find_user(form.login_name) if form.login_name else None
        if user is None:
            return  # unknown name: recorded by django-axes only, no tenant to write to
        if not form.locked_out:
            svc.record_for_user(
                user, "auth.sign_in_failed", request=request, details={"reason": "bad_password"}
            )
            return
        failures = getattr(request, "axes_failures_since_start", None)
        if failures == settings.AXES_FAILURE_LIMIT:
            # This attempt checked the password, failed, and reached the limit.
            svc.record_for_user(
                user, "auth.sign_in_failed", request=request, details={"reason": "bad_password"}
            )
            svc.record_for_user(
                user,
                "auth.locked_out",
                request=request,
                details={
                    "failures": failures,
                    "cool_off_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
                },
            )
        else:
            svc.record_for_user(
                user, "auth.sign_in_failed", request=request, details={"reason": "locked_out"}
            )


# --- Second step ----------------------------------------------------------------------------


def _pending_user(request):
    """(pending record, user) of a sign-in waiting for its code, or (None, None)."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None, None
    if time.time() - data.get("at", 0) > PENDING_TTL:
        request.session.pop(PENDING_KEY, None)
        messages.info(request, "That sign-in took too long. Please sign in again.")
        return None, None
    user = get_user_model()._default_manager.filter(pk=data.get("uid"), is_active=True).first()
    if user is None or data.get("backend") not in settings.AUTHENTICATION_BACKENDS:
        request.session.pop(PENDING_KEY, None)
        return None, None
    return data, user


@_sensitive
class MfaVerifyView(View):
    """Second step of sign-in, or verification of a signed-in session that has not passed one."""

    template_name = "tenants/auth/mfa_verify.html"

    def dispatch(self, request, *args, **kwargs):
        self.pending, self.subject = _pending_user(request)
        if self.subject is None:
            if not request.user.is_authenticated:
                return redirect("login")
            next_url = request.GET.get("next") or request.POST.get("next", "")
            if _is_verified(request.user):
                return redirect(safe_next(request, next_url))
            if not svc.has_mfa(request.user):
                return redirect(
                    _with_query("mfa-enrol", next=next_url, tenant=request.GET.get("tenant", ""))
                )
            self.subject = request.user
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self._render(request, CodeForm())

    def post(self, request):
        form = CodeForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        check = svc.check_code(self.subject, form.cleaned_data["code"])
        if not check.ok:
            svc.record_for_user(
                self.subject,
                "auth.mfa_failed",
                request=request,
                details={"throttled": check.error.startswith("Too many")},
            )
            if self.pending is not None:
                self.pending["fails"] = self.pending.get("fails", 0) + 1
                request.session.modified = True
                if self.pending["fails"] >= PENDING_MAX_FAILURES:
                    request.session.flush()
                    messages.error(request, "Too many wrong codes. Please sign in again.")
                    return redirect("login")
            form.add_error("code", check.error)
            return self._render(request, form, status=400)
        if self.pending is not None:
            target = self.pending.get("next") or reverse("home")
            password_at = self.pending.get("at")
            request.session.pop(PENDING_KEY, None)
            auth_login(request, self.subject, backend=self.pending["backend"])  # rotates key
            django_otp.login(request, check.device)
            request.session[REAUTH_AT_KEY] = password_at
            svc.record_for_user(
                self.subject,
                "auth.signed_in",
                request=request,
                details={"mfa": True, "method": _method(check.device)},
            )
        else:
            target = safe_next(request, request.POST.get("next"))
            request.session.cycle_key()  # new token on re-authentication (ASVS 7.2.4)
            django_otp.login(request, check.device)
            svc.record_for_user(
                self.subject,
                "auth.mfa_verified",
                request=request,
                details={"method": _method(check.device)},
            )
        if isinstance(check.device, StaticDevice):
            left = svc.backup_codes_left(self.subject)
            messages.warning(
                request, f"You used a backup code; {left} left. Regenerate them if few remain."
            )
        return redirect(safe_next(request, target))

    def _render(self, request, form, status: int = 200):
        context = {
            "form": form,
            "subject": self.subject,
            "pending": self.pending is not None,
            "next": request.GET.get("next") or request.POST.get("next", ""),
        }
        return render(request, self.template_name, context, status=status)


# --- Enrolment ------------------------------------------------------------------------------


@_sensitive
@method_decorator(login_required, name="dispatch")
class MfaEnrolView(View):
    """Set up an authenticator app: QR code and secret, then a code confirms it."""

    template_name = "tenants/auth/mfa_enrol.html"

    def dispatch(self, request, *args, **kwargs):
        self.next_param = request.GET.get("next") or request.POST.get("next", "")
        slug = request.GET.get("tenant") or request.POST.get("tenant", "")
        user = request.user
        self.tenant = tenants_of(user).filter(slug=slug).first() if slug else None
        if user.is_authenticated and svc.has_mfa(user):
            if not _is_verified(user):
                return redirect(_with_query("mfa-verify", next=self.next_param))
            messages.info(request, "Two-step verification is already on for your account.")
            return redirect(safe_next(request, self.next_param, default="account-security"))
        return super().dispatch(request, *args, **kwargs)

    def _needs_password(self, request) -> bool:
        at = request.session.get(REAUTH_AT_KEY)
        return not isinstance(at, int) or time.time() - at > REAUTH_WINDOW

    def get(self, request):
        device = svc.start_totp_enrolment(user=request.user)
        form = EnrolForm(request=request, needs_password=self._needs_password(request))
        return self._render(request, form, device)

    def post(self, request):
        device = svc.start_totp_enrolment(user=request.user)
        form = EnrolForm(
            request.POST, request=request, needs_password=self._needs_password(request)
        )
        if not form.is_valid():
            return self._render(request, form, device, status=400)
        try:
            codes = svc.confirm_totp_enrolment(
                user=request.user, device=device, code=form.cleaned_data["code"], request=request
            )
        except ValueError as exc:
            form.add_error("code", str(exc))
            return self._render(request, form, device, status=400)
        device.refresh_from_db()
        request.session.cycle_key()  # privilege change: new session token
        django_otp.login(request, device)
        request.session[REAUTH_AT_KEY] = int(time.time())
        svc.end_other_sessions(user=request.user, keep_session_key=request.session.session_key)
        return render(
            request,
            "tenants/auth/backup_codes.html",
            {
                "codes": codes,
                "enrolled": True,
                "continue_url": safe_next(request, self.next_param),
            },
        )

    def _render(self, request, form, device, status: int = 200):
        context = {
            "form": form,
            "qr_svg": svc.totp_qr_svg(device),
            "secret": svc.totp_secret_b32(device),
            "required_by": self.tenant,
            "next": self.next_param,
            "tenant_slug": self.tenant.slug if self.tenant else "",
        }
        return render(request, self.template_name, context, status=status)


# --- Account security -----------------------------------------------------------------------


@_sensitive
@method_decorator(login_required, name="dispatch")
class AccountSecurityView(View):
    """Password change, MFA status, backup codes and MFA removal for the signed-in user.

    Not tenant-scoped. Regenerating backup codes and removing MFA require a current code
    (re-authentication, ASVS 7.5.1); changing the password requires the current password.
    """

    template_name = "tenants/auth/account_security.html"

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and svc.has_mfa(user) and not _is_verified(user):
            return redirect(_with_query("mfa-verify", next=request.get_full_path()))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self._render(request)

    def post(self, request):
        action = request.POST.get("action", "")
        handler = {
            "password": self._change_password,
            "backup_codes": self._regenerate_codes,
            "remove_mfa": self._remove_mfa,
        }.get(action)
        if handler is None:
            messages.error(request, "Unknown action.")
            return self._render(request, status=400)
        return handler(request)

    def _change_password(self, request):
        form = AxesPasswordChangeForm(request.user, request.POST, request=request)
        if not form.is_valid():
            return self._render(request, password_form=form, status=400)
        user = form.save()
        # Keeps this session (and rotates its key); every other session of the user fails its
        # auth-hash check from now on.
        update_session_auth_hash(request, user)
        request.session[REAUTH_AT_KEY] = int(time.time())
        svc.record_for_user(user, "auth.password_changed", request=request)
        messages.success(request, "Password changed. Your other sessions were signed out.")
        return redirect("account-security")

    def _check(self, request, prefix: str):
        form = CodeForm(request.POST, prefix=prefix)
        if form.is_valid():
            check = svc.check_code(request.user, form.cleaned_data["code"])
            if check.ok:
                return form, check.device
            form.add_error("code", check.error)
            svc.record_for_user(
                request.user, "auth.mfa_failed", request=request, details={"purpose": prefix}
            )
        return form, None

    def _regenerate_codes(self, request):
        if not svc.has_mfa(request.user):
            messages.error(request, "Turn on two-step verification first.")
            return redirect("account-security")
        form, device = self._check(request, "backup")
        if device is None:
            return self._render(request, backup_form=form, status=400)
        codes = svc.regenerate_backup_codes(user=request.user, request=request)
        return render(
            request,
            "tenants/auth/backup_codes.html",
            {"codes": codes, "enrolled": False, "continue_url": reverse("account-security")},
        )

    def _remove_mfa(self, request):
        if not svc.has_mfa(request.user):
            return redirect("account-security")
        form, device = self._check(request, "remove")
        if device is None:
            return self._render(request, remove_form=form, status=400)
        svc.remove_mfa(user=request.user, request=request)
        request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
        request.session.cycle_key()
        svc.end_other_sessions(user=request.user, keep_session_key=request.session.session_key)
        messages.success(request, "Two-step verification is off. Your other sessions ended.")
        if tenants_of(request.user).filter(require_mfa=True).exists():
            messages.warning(
                request, "A tenant you belong to requires it: you will be asked to set it up."
            )
        return redirect("account-security")

    def _render(self, request, status: int = 200, **forms):
        user = request.user
        device = svc.totp_device(user)
        context = {
            "password_form": forms.get("password_form")
            or AxesPasswordChangeForm(user, request=request),
            "backup_form": forms.get("backup_form") or CodeForm(prefix="backup"),
            "remove_form": forms.get("remove_form") or CodeForm(prefix="remove"),
            "mfa_on": svc.has_mfa(user),
            "totp_device": device,
            "backup_left": svc.backup_codes_left(user),
            "mfa_tenants": tenants_of(user).filter(require_mfa=True),
        }
        for name in ("backup_form", "remove_form"):
            context[name].fields["code"].widget.attrs.pop("autofocus", None)
        return render(request, self.template_name, context, status=status)


# --- Sign-out -------------------------------------------------------------------------------


@require_POST
def sign_out(request):
    """POST only (a link or image cannot sign someone out); flushes the session server-side."""
    if request.user.is_authenticated:
        svc.record_for_user(request.user, "auth.signed_out", request=request)
    auth_logout(request)  # deletes the stored session and sends a new, empty one
    messages.info(request, "You have signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)
