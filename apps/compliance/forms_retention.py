"""The retention settings form: each period 1..the deployment maximum, blank for the maximum."""

from __future__ import annotations

from django import forms

from .models import RetentionSettings
from .retention_settings import SETTINGS_FIELDS, ceiling, own_period

LABELS = {
    "activities_days": "Activity log",
    "discovery_days": "Discovery data",
    "alerts_days": "Alerts",
    "governance_days": "Governance log",
    "files_days": "File records",
    "deleted_accounts_days": "Deleted accounts",
}


class RetentionForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SETTINGS_FIELDS:
            most = ceiling(name)
            self.fields[name] = forms.IntegerField(
                label=f"{LABELS[name]} (days)",
                required=False,
                min_value=1,
                max_value=most,
                help_text=f"1 to {most}; leave blank to keep the deployment maximum ({most}).",
            )

    @classmethod
    def initial_for(cls, row: RetentionSettings | None) -> dict:
        """The saved periods, blank where the maximum applies (see `own_period`)."""
        return {name: own_period(row, name) for name in SETTINGS_FIELDS}

    def values(self) -> dict[str, int | None]:
        """The periods the admin changed from what the form offered: a field left as shown
        keeps what is saved (a period above a lowered maximum, shown blank, stays)."""
        return {name: self.cleaned_data.get(name) for name in self.changed_data}
