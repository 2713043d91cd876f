"""The ICAP service settings form (the secret is never a form field: it is generated)."""

from __future__ import annotations

from django import forms

from .models import IcapMode, IcapSettings


class IcapSettingsForm(forms.Form):
    enabled = forms.BooleanField(
        label="Service on",
        required=False,
        help_text="Off: every request to this organisation's ICAP service is refused.",
    )
    mode = forms.ChoiceField(
        label="Mode",
        choices=IcapMode.choices,
        help_text="Block: a file policy that says block answers with the block page. "
        "Monitor: files are recorded and alerts raised, nothing is blocked.",
    )
    block_message = forms.CharField(
        label="Block page message",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the person whose upload or download was blocked (plain text).",
    )

    @classmethod
    def initial_for(cls, row: IcapSettings) -> dict:
        return {"enabled": row.enabled, "mode": row.mode, "block_message": row.block_message}
