"""Forms of the discovery management pages. They only read and shape input; the services
check it against the tenant's data (names taken, domains claimed, apps that exist)."""

from __future__ import annotations

from django import forms

from .catalog.attributes import CATEGORIES, DEFAULT_LEVEL, GROUPS, SCORED, WEIGHT_LEVELS
from .models import TagKind

LEVEL_CHOICES = [(str(level), label) for level, label in WEIGHT_LEVELS.items()]


class TagForm(forms.Form):
    name = forms.CharField(max_length=60, label="New tag")


class AppTagForm(forms.Form):
    """Add or remove one tag on one app: a built-in by kind, or a custom tag by id."""

    op = forms.ChoiceField(choices=[("add", "Add"), ("remove", "Remove")], required=False)
    kind = forms.ChoiceField(
        choices=[("", "")] + [(k.value, k.label) for k in TagKind if k != TagKind.CUSTOM],
        required=False,
    )
    tag = forms.UUIDField(required=False)

    def clean(self):
        data = super().clean()
        if not data.get("kind") and not data.get("tag"):
            raise forms.ValidationError("Choose a tag.")
        return data


class BulkTagForm(forms.Form):
    apps = forms.CharField(help_text="App keys, one per line or comma-separated.")
    kind = AppTagForm.base_fields["kind"]
    tag = forms.UUIDField(required=False)

    def clean(self):
        data = super().clean()
        if not data.get("kind") and not data.get("tag"):
            raise forms.ValidationError("Choose a tag.")
        raw = data.get("apps") or ""
        data["app_keys"] = [k for k in raw.replace(",", "\n").split() if k]
        return data


class OverrideForm(forms.Form):
    score = forms.DecimalField(
        min_value=0, max_value=10, decimal_places=1, max_digits=3, required=False
    )
    note = forms.CharField(max_length=2000, required=False)
    clear = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if not data.get("clear") and data.get("score") is None and not self.errors:
            self.add_error("score", "Enter a score from 0 to 10.")
        return data


class ScoreMetricForm(forms.Form):
    """One importance level per group and per scored attribute, and the N/A rule."""

    na_negative = forms.BooleanField(
        required=False,
        label="Count N/A as negative",
        help_text="Attributes with no known value count as 0 instead of being left out.",
    )

    def __init__(self, *args, settings_row=None, **kwargs):
        super().__init__(*args, **kwargs)
        groups = dict(getattr(settings_row, "group_weights", None) or {})
        attributes = dict(getattr(settings_row, "attribute_weights", None) or {})
        for key, label in GROUPS.items():
            self.fields[f"group_{key}"] = forms.TypedChoiceField(
                choices=LEVEL_CHOICES,
                coerce=int,
                label=label,
                initial=str(groups.get(key, DEFAULT_LEVEL)),
            )
        for attribute in SCORED:
            self.fields[f"attr_{attribute.key}"] = forms.TypedChoiceField(
                choices=LEVEL_CHOICES,
                coerce=int,
                label=attribute.label,
                initial=str(attributes.get(attribute.key, DEFAULT_LEVEL)),
            )
        if settings_row is not None:
            self.fields["na_negative"].initial = settings_row.na_negative

    def group_fields(self):
        return [self[f"group_{key}"] for key in GROUPS]

    def attribute_fields_by_group(self):
        return [
            (label, [self[f"attr_{a.key}"] for a in SCORED if a.group == key])
            for key, label in GROUPS.items()
        ]

    def weights(self) -> dict:
        data = self.cleaned_data
        return {
            "group_weights": {key: data[f"group_{key}"] for key in GROUPS},
            "attribute_weights": {a.key: data[f"attr_{a.key}"] for a in SCORED},
            "na_negative": bool(data.get("na_negative")),
        }


class CustomAppForm(forms.Form):
    name = forms.CharField(max_length=100)
    category = forms.ChoiceField(choices=sorted(CATEGORIES.items(), key=lambda kv: kv[1]))
    domains = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Host names or IP addresses, one per line. A domain also matches its subdomains.",
    )


class AnonymizeDefaultForm(forms.Form):
    anonymize_by_default = forms.BooleanField(
        required=False,
        label="Anonymise usernames in new reports and data sources",
        help_text="Applies to snapshot reports and data sources created from now on.",
    )


class ResolveForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[
            ("from", "From anonymised (pseudonym to username)"),
            ("to", "To anonymised (username to pseudonym)"),
        ],
        widget=forms.RadioSelect,
        initial="from",
    )
    value = forms.CharField(max_length=400, label="Pseudonym or username")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why you need this (at least 10 characters). It is kept in the audit log.",
    )
