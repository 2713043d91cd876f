"""Forms of sign-in, second factor and account security. They only translate input: the
password check goes through `authenticate(request=...)` so django-axes counts every failure."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm
from django.views.decorators.debug import sensitive_variables

from .auth_services import find_login_name, normalise_code

# One message for a wrong password, an unknown user and an inactive account (no enumeration).
INVALID_LOGIN = "The username or email and password you entered do not match an account."
_CODE_RE = re.compile(r"^[0-9a-z]{6,16}$")


class SignInForm(forms.Form):
    """Username or email, and password. The field names are part of the browser test's API."""

    username = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user_cache = None
        self.login_name = ""
        self.locked_out = False
        super().__init__(*args, **kwargs)

    @sensitive_variables("password", "cleaned")
    def clean(self):
        cleaned = super().clean()
        identifier, password = cleaned.get("username"), cleaned.get("password")
        if not identifier or not password:
            return cleaned
        self.login_name = find_login_name(identifier)
        self.user_cache = authenticate(
            request=self.request, username=self.login_name, password=password
        )
        # django-axes flags the request when this attempt is refused because of a lock-out;
        # AxesMiddleware then answers with the lock-out page instead of this form.
        self.locked_out = bool(getattr(self.request, "axes_locked_out", False))
        if self.user_cache is None:
            raise forms.ValidationError(INVALID_LOGIN, code="invalid_login")
        return cleaned


class CodeForm(forms.Form):
    """A code from the authenticator app or one backup code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code your authenticator app shows, or one of your backup codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not _CODE_RE.fullmatch(code):
            raise forms.ValidationError("Enter the code as shown: digits, or a backup code.")
        return code


class EnrolForm(CodeForm):
    """Confirms a new authenticator app. When the session's password sign-in is not recent, the
    current password is asked too (ASVS 7.5.1: re-authenticate before changing MFA)."""

    password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request, needs_password: bool, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = "The 6-digit code your app shows after scanning."
        self.fields["code"].widget.attrs.pop("autofocus", None)
        if not needs_password:
            del self.fields["password"]

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not code.isdigit() or len(code) not in (6, 8):
            raise forms.ValidationError("Enter the 6-digit code your app shows.")
        return code

    @sensitive_variables("password")
    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        checked = authenticate(
            request=self.request, username=user.get_username(), password=password
        )
        if checked is None or checked.pk != user.pk:
            raise forms.ValidationError("Your password was entered incorrectly.")
        return password


class AxesPasswordChangeForm(PasswordChangeForm):
    """Django's password change, with the current password checked through `authenticate` so
    guessing it from a stolen session counts towards the lock-out like any sign-in."""

    def __init__(self, user, *args, request, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)

    @sensitive_variables("old_password")
    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        checked = authenticate(
            request=self.request, username=self.user.get_username(), password=old_password
        )
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password
