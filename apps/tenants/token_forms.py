"""Console form for creating an API token. It only translates; the rules live in
`token_services` (which re-checks the role, so a forged POST gains nothing)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from .models import Role
from .permissions import ROLE_RANK

# A date picker cannot go past this; it also keeps the value inside datetime's range.
MAX_EXPIRY_YEARS = 5


class CreateTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. “SIEM export” or “nightly report”."
    )
    role = forms.ChoiceField(
        help_text="What the token may do. It can never do more than your own role."
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at 00:00 UTC on this day. Leave empty for never.",
    )

    def __init__(self, *args, roles: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Role.choices)
        ordered = sorted(roles, key=ROLE_RANK.__getitem__)
        self.fields["role"].choices = [(role, labels[role]) for role in ordered]
        if ordered:
            self.fields["role"].initial = ordered[0]  # least privilege unless asked for more

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def clean_expires_on(self) -> dt.date | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        today = timezone.now().date()
        if day <= today:
            raise forms.ValidationError("Pick a day after today, or leave empty for never.")
        if day > today + dt.timedelta(days=365 * MAX_EXPIRY_YEARS + 1):
            raise forms.ValidationError(f"Pick a day within {MAX_EXPIRY_YEARS} years.")
        return day

    @property
    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires_on")
        return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC) if day else None
