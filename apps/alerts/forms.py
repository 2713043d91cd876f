"""Console forms of alert triage. They only translate: `services` checks the rules, and its
refusals come back as field errors.

Closing as a resolution is one drop-down of "resolution: reason" pairs grouped by resolution,
so the console needs no script to offer only the reasons of the chosen resolution.
"""

from __future__ import annotations

import uuid

from django import forms

from .models import RESOLUTION_REASONS, Resolution
from .services import COMMENT_MAX_LENGTH, SETTABLE_STATUSES, Operation, assignable_members


def close_as_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """(resolution label, [("resolution:reason", "Resolution: reason text"), ...]) per
    resolution, in the order of RESOLUTION_REASONS."""
    groups = []
    for resolution, reasons in RESOLUTION_REASONS.items():
        label = Resolution(resolution).label
        options = [(f"{resolution}:{key}", f"{label}: {text}") for key, text in reasons.items()]
        groups.append((label, options))
    return groups


def close_as_choices() -> list:
    return [("", "Pick a resolution and reason"), *close_as_groups()]


def split_close_as(value: str) -> tuple[str, str]:
    resolution, _, reason = (value or "").partition(":")
    return resolution, reason


def member_choices(tenant, empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [
        (str(m.user_id), m.user.get_full_name() or m.user.get_username())
        for m in assignable_members(tenant)
    ]


def _comment_field() -> forms.CharField:
    return forms.CharField(
        label="Comment",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TriageForm(forms.Form):
    """One alert's triage (detail page): `op` says which of the fields are read."""

    OPS = ("status", "resolve", "dismiss", "assign", "unread")

    op = forms.ChoiceField(choices=[(op, op) for op in OPS], widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[(s.value, s.label) for s in SETTABLE_STATUSES],
    )
    close_as = forms.ChoiceField(label="Resolution", required=False, choices=close_as_choices)
    comment = _comment_field()
    assignee = forms.TypedChoiceField(
        label="Assignee", required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = member_choices(tenant, "Nobody (unassign)")

    def clean(self):
        data = super().clean()
        op = data.get("op")
        if op == "status" and not data.get("status"):
            self.add_error("status", "Pick a status.")
        if op == "resolve" and not data.get("close_as"):
            self.add_error("close_as", "Pick a resolution and its reason.")
        return data


class UUIDListField(forms.Field):
    """Repeated `ids` parameters (the checked rows), each a UUID."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            return [uuid.UUID(str(v)) for v in values]
        except ValueError as exc:
            raise forms.ValidationError("These are not alert ids.", code="invalid") from exc

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError("Select at least one alert.", code="required")


class BulkForm(forms.Form):
    """The queue's bulk actions: the checked rows and one operation."""

    ids = UUIDListField()
    operation = forms.ChoiceField(
        label="Action", choices=[("", "Bulk action…"), *Operation.CHOICES]
    )
    close_as = forms.ChoiceField(label="Resolution", required=False, choices=close_as_choices)
    assignee = forms.TypedChoiceField(
        label="Assign to", required=False, coerce=int, empty_value=None
    )
    comment = _comment_field()
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = member_choices(tenant, "Assign to…")
        self.fields["comment"].widget = forms.TextInput(attrs={"placeholder": "Comment"})
