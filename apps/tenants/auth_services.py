"""Sign-in and second-factor services: audit of authentication events, TOTP enrolment, backup
codes, code checks and ending a user's other sessions.

Design of the two-step sign-in (see views/auth.py): a user who has a confirmed OTP device is
*not* logged in after the password step. The session only holds a short-lived "pending" record
(user id, backend, time); Django's `login()` runs after the code is accepted. Until then the
session is anonymous, so every page that needs a signed-in user (all tenant pages, the tenant
picker, account security) is unreachable by construction, whatever a tenant's MFA setting is.
"""

from __future__ import annotations

import logging
from base64 import b32encode
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user, verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit
from .selectors import tenants_of

log = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


# --- Reads --------------------------------------------------------------------------------


def find_login_name(identifier: str) -> str:
    """The username to authenticate for what the person typed: a username or an email address.

    Resolving the email to the canonical username *before* `authenticate()` makes django-axes
    count failures against one name, so alternating username and email does not double the
    attempts an attacker gets. An unknown identifier is returned unchanged (axes then counts
    it as typed, and the answer is the same as for a known user).
    """
    identifier = identifier.strip()
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    if user_model._default_manager.filter(**{field: identifier}).exists():
        return identifier
    if "@" in identifier:
        matches = list(
            user_model._default_manager.filter(email__iexact=identifier).values_list(
                field, flat=True
            )[:2]
        )
        if len(matches) == 1:  # an address shared by two accounts identifies neither
            return matches[0]
    return identifier


def find_user(username: str):
    """The user with this exact username, or None."""
    user_model = get_user_model()
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()


def has_mfa(user) -> bool:
    """True when the user has at least one confirmed second factor."""
    return any(True for _ in devices_for_user(user, confirmed=True))


def totp_device(user) -> TOTPDevice | None:
    """The user's confirmed authenticator-app device, if any."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def totp_secret_b32(device: TOTPDevice) -> str:
    """The device key in base32, grouped by four, for typing into an app by hand."""
    raw = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL of `device` as an inline SVG QR code (rendered here, no JS needed)."""
    import segno

    # omitsize: a viewBox instead of a fixed width/height, so the stylesheet sizes it.
    return segno.make(device.config_url, error="m").svg_inline(
        scale=1, border=2, omitsize=True, svgclass="qr-code", title="QR code for your app"
    )


# --- Codes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeCheck:
    device: Device | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.device is not None


def normalise_code(raw: str) -> str:
    """Codes are typed with spaces or dashes for readability; backup codes are lower case."""
    return "".join(raw.split()).replace("-", "").lower()


def check_code(user, code: str) -> CodeCheck:
    """Verify `code` against the user's confirmed devices: six (or eight) digits go to the
    authenticator app, anything else to the backup codes.

    django-otp does the rest: a TOTP is accepted only at a time step later than the last one
    accepted (no replay), a backup code is deleted when used, and every failure doubles the
    device's throttling delay (OTP_TOTP_THROTTLE_FACTOR / OTP_STATIC_THROTTLE_FACTOR).
    """
    code = normalise_code(code)
    model = TOTPDevice if code.isdigit() and len(code) in (6, 8) else StaticDevice
    devices = list(model.objects.devices_for_user(user, confirmed=True))
    throttled_until = None
    for device in devices:
        allowed, info = device.verify_is_allowed()
        if not allowed:
            locked_until = (info or {}).get("locked_until")
            throttled_until = max(filter(None, [throttled_until, locked_until]), default=None)
            continue
        verified = verify_token(user, device.persistent_id, code)
        if verified is not None:
            return CodeCheck(verified)
    if throttled_until is not None:
        wait = max(1, int((throttled_until - timezone.now()).total_seconds()) + 1)
        return CodeCheck(None, f"Too many wrong codes. Wait {wait} seconds, then try again.")
    return CodeCheck(None, "That code is not valid. Check your app's current code and retry.")


# --- Audit ----------------------------------------------------------------------------------


def record_for_user(user, action: str, *, request=None, details: dict | None = None) -> None:
    """Write one authentication event into the audit log of every tenant `user` belongs to.

    Sign-ins are not tenant-scoped, but each tenant's admins must see their members' sign-ins
    in their own chain. Never pass passwords or codes in `details`.
    """
    for tenant in tenants_of(user):
        audit.record(tenant, action, actor=user, request=request, details=details)


# --- Writes ---------------------------------------------------------------------------------


def start_totp_enrolment(*, user) -> TOTPDevice:
    """The user's unconfirmed authenticator device, created on first call.

    Re-used across page loads so a secret already scanned keeps working; older unconfirmed
    devices are dropped so at most one secret is pending.
    """
    pending = list(TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("-id"))
    for stale in pending[1:]:
        stale.delete()
    if pending:
        return pending[0]
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def _new_backup_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def confirm_totp_enrolment(*, user, device: TOTPDevice, code: str, request=None) -> list[str]:
    """Confirm `device` with a code from the app; returns fresh backup codes (shown once).

    Raises ValueError with a user-facing message when the code is wrong or throttled.
    """
    if device.user_id != user.pk or device.confirmed:
        raise ValueError("This set-up has expired. Start again.")
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        raise ValueError("Too many wrong codes. Wait a few seconds, then try again.")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        # A failed check must commit its throttling increment, so no exception in this block.
        verified = device.verify_token(normalise_code(code))
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.devices_for_user(user).exclude(pk=device.pk).delete()
            codes = _new_backup_codes(user)
    if not verified:
        raise ValueError("That code is not valid. Check your app's current code and retry.")
    record_for_user(user, "auth.mfa_enrolled", request=request, details={"device": "totp"})
    return codes


def regenerate_backup_codes(*, user, request=None) -> list[str]:
    """Replace the user's backup codes with ten new ones (the caller checked a current code)."""
    with transaction.atomic():
        codes = _new_backup_codes(user)
    record_for_user(
        user, "auth.backup_codes_regenerated", request=request, details={"count": len(codes)}
    )
    return codes


def remove_mfa(*, user, request=None) -> None:
    """Delete every OTP device of the user (the caller checked a current code)."""
    with transaction.atomic():
        removed = sorted({d.__class__.__name__ for d in devices_for_user(user, confirmed=None)})
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
    record_for_user(user, "auth.mfa_removed", request=request, details={"devices": removed})


def end_other_sessions(*, user, keep_session_key: str | None) -> int:
    """Delete every stored session of `user` except `keep_session_key`; returns how many.

    Used when the second factor changes: a session signed in before enrolment never passed a
    code and must not outlive it (ASVS 7.4.3). Password changes need no call: Django's session
    auth hash already invalidates the other sessions. Works for the database-backed session
    engines; it decodes each live session, which is fine at portal scale (admins, not end users).
    """
    engine = import_module(settings.SESSION_ENGINE)
    store_class = engine.SessionStore
    get_model = getattr(store_class, "get_model_class", None)
    if get_model is None:
        log.warning("Session engine %s cannot list sessions", settings.SESSION_ENGINE)
        return 0
    uid = str(user.pk)
    ended = 0
    for session in get_model().objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == keep_session_key:
            continue
        if str(session.get_decoded().get("_auth_user_id")) == uid:
            store_class(session_key=session.session_key).delete()
            ended += 1
    return ended
