"""Forms of the subscription and offboarding page."""

from __future__ import annotations

from django import forms
from django.utils.html import format_html


class CancelForm(forms.Form):
    """Cancelling asks for the tenant's slug, typed: a guard against the wrong tenant's tab."""

    confirm = forms.CharField(
        label="Type the tenant's slug to confirm",
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, tenant, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["confirm"].help_text = format_html("Type <code>{}</code>.", tenant.slug)

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.tenant.slug:
            raise forms.ValidationError("This is not the tenant's slug; nothing was cancelled.")
        return value
