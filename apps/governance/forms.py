"""The console's "run a governance action" form (the action buttons on the person, alert and
log pages post it). Ids are looked up in the tenant's scope: another tenant's account, app or
alert is "not found", as a missing one is."""

from __future__ import annotations

from django import forms

from . import selectors
from .models import GovernanceKind


class RunActionForm(forms.Form):
    kind = forms.ChoiceField(choices=GovernanceKind.choices, label="Action")
    account = forms.UUIDField(required=False)
    app = forms.UUIDField(required=False)
    file_id = forms.CharField(required=False, max_length=300, label="File")
    client_id = forms.CharField(required=False, max_length=300, label="OAuth client id")
    target_label = forms.CharField(required=False, max_length=300)
    alert = forms.UUIDField(required=False)
    comment = forms.CharField(
        required=False,
        max_length=2000,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
    )

    def clean(self):
        cleaned = super().clean()
        for name, lookup in (
            ("account", selectors.account),
            ("app", selectors.app_instance),
            ("alert", selectors.alert),
        ):
            value = cleaned.get(name)
            if value is None:
                continue
            found = lookup(value)
            if found is None:
                self.add_error(name, f"No such {name} in this tenant.")
            cleaned[f"{name}_object"] = found
        return cleaned

    def problems(self) -> str:
        """The errors in one line, for a flash message on the page the form was posted from."""
        words = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            for error in errors:
                words.append(f"{label}: {error}" if label and name != "__all__" else str(error))
        return " ".join(words)
