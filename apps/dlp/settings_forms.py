"""Forms of the content inspection settings page: thresholds of the built-in types, one custom
type, and the "try it" box. They only translate; the rules are in `settings_services`."""

from __future__ import annotations

from django import forms

from .models import Confidence, CustomSensitiveType
from .settings_services import MAX_MIN_COUNT, MAX_NAME, MAX_REGEX, MAX_TRY_CHARS

_CONFIDENCE = [(str(value), label) for value, label in Confidence.choices]


class ThresholdsForm(forms.Form):
    """Three fields per built-in type: `<key>__enabled`, `<key>__min_count`,
    `<key>__min_confidence`."""

    def __init__(self, *args, rows: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            key = row["key"]
            self.fields[f"{key}__enabled"] = forms.BooleanField(
                required=False, initial=row["enabled"], label=f"Inspect {row['label']}"
            )
            self.fields[f"{key}__min_count"] = forms.IntegerField(
                min_value=1,
                max_value=MAX_MIN_COUNT,
                initial=row["min_count"],
                label=f"Minimum count of {row['label']}",
                widget=forms.NumberInput(attrs={"class": "narrow"}),
            )
            self.fields[f"{key}__min_confidence"] = forms.TypedChoiceField(
                choices=_CONFIDENCE,
                coerce=int,
                initial=str(row["min_confidence"]),
                label=f"Minimum confidence of {row['label']}",
            )

    def table(self) -> list[dict]:
        """The rows with their three bound fields, for the template."""
        return [
            row
            | {
                "enabled_field": self[f"{row['key']}__enabled"],
                "count_field": self[f"{row['key']}__min_count"],
                "confidence_field": self[f"{row['key']}__min_confidence"],
            }
            for row in self.rows
        ]

    def thresholds(self) -> dict:
        data = self.cleaned_data
        return {
            row["key"]: {
                "enabled": data[f"{row['key']}__enabled"],
                "min_count": data[f"{row['key']}__min_count"],
                "min_confidence": data[f"{row['key']}__min_confidence"],
            }
            for row in self.rows
        }


class CustomTypeForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME, label="Name")
    regex = forms.CharField(
        max_length=MAX_REGEX,
        required=False,
        label="Regular expression",
        help_text="Always case-insensitive. Quantifiers only as {n} or {n,m} with n and m below "
        "10; no *, + or {n,}; groups only non-capturing (?:...); no back-references. "
        "Example: PRJ-\\d{4}-[a-z]{2}",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    keywords = forms.CharField(
        required=False,
        label="Keywords",
        help_text="One per line (or separated by commas). With a regular expression they are "
        "context words that raise confidence; alone, each occurrence is a match.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    keywords_required = forms.BooleanField(
        required=False, label="Count a regular expression match only near a keyword"
    )
    min_count = forms.IntegerField(
        min_value=1, max_value=MAX_MIN_COUNT, initial=1, label="Minimum count"
    )
    min_confidence = forms.TypedChoiceField(
        choices=_CONFIDENCE, coerce=int, initial="2", label="Minimum confidence"
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Inspect files for it")

    @classmethod
    def for_type(cls, custom: CustomSensitiveType, *args, **kwargs) -> CustomTypeForm:
        initial = {
            "name": custom.name,
            "regex": custom.regex,
            "keywords": "\n".join(custom.keywords or []),
            "keywords_required": custom.keywords_required,
            "min_count": custom.min_count,
            "min_confidence": str(custom.min_confidence),
            "enabled": custom.enabled,
        }
        return cls(*args, initial=initial, **kwargs)

    def values(self) -> dict:
        return dict(self.cleaned_data)


class TryForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_TRY_CHARS,
        label="Text to try",
        help_text="Paste text to see what content inspection finds in it, masked. Nothing is "
        "stored.",
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        strip=False,
    )
