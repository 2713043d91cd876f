"""Console form of a file policy. It only translates (checkboxes into lists, text into
extensions); the rules live in `policy_checks`, whose refusals the view puts on the fields.
Choices are the tenant's own (types, apps, groups): anything else is a form error."""

from __future__ import annotations

from django import forms

from apps.alerts.models import Category, Policy, Severity
from apps.governance.models import GovernanceKind

from .models import AccessLevel, FileSource, FileType
from .policy_checks import DEFAULTS, GOVERNANCE_KINDS, app_choices, type_choices

GOVERNANCE_LABELS = {
    GovernanceKind.NOTIFY_USER: "Notify the file's owner (email)",
    GovernanceKind.REMOVE_EXTERNAL_SHARING: "Remove external sharing",
    GovernanceKind.MAKE_PRIVATE: "Make private",
    GovernanceKind.QUARANTINE_FILE: "Put in admin quarantine",
}
FILTER_FIELDS = ("file_types", "extensions", "apps", "access_levels", "sources", "name_contains")


def _checkboxes(choices, label: str, help_text: str = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=choices,
        required=False,
        label=label,
        help_text=help_text,
        widget=forms.CheckboxSelectMultiple,
    )


class FilePolicyForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int, initial=Severity.MEDIUM)
    category = forms.ChoiceField(choices=Category.choices, initial=Category.DLP)
    min_matches = forms.IntegerField(
        label="Minimum number of matches",
        required=False,
        initial=1,
        min_value=1,
        max_value=100_000,
        help_text="Occurrences of the chosen types together, e.g. 10 card numbers.",
    )
    file_types = _checkboxes(FileType.choices, "File type")
    extensions = forms.CharField(
        required=False,
        max_length=500,
        help_text="Separated by commas or spaces, without the dot: xlsx, csv.",
    )
    access_levels = _checkboxes(AccessLevel.choices, "Access level")
    sources = _checkboxes(FileSource.choices, "Seen through")
    name_contains = forms.CharField(
        required=False, max_length=200, label="File name contains", help_text="Any case."
    )
    alert = forms.BooleanField(label="Raise an alert", required=False, initial=True)
    block = forms.BooleanField(
        label="Block the transfer (files seen through ICAP: the proxy shows a block page)",
        required=False,
    )
    daily_alert_limit = forms.IntegerField(
        initial=DEFAULTS["daily_alert_limit"],
        help_text="New alerts per UTC day, 1 to 1,000; further matches are counted.",
    )
    dedupe_minutes = forms.IntegerField(
        label="Fold repeats into one alert for (minutes)",
        initial=DEFAULTS["dedupe_minutes"],
        help_text="The same file matching again within this time updates its open alert. "
        "1 to 10,080.",
    )
    governance = _checkboxes(
        [(k, GOVERNANCE_LABELS[k]) for k in GOVERNANCE_KINDS],
        "Governance actions on each new alert",
        "File actions run through the app's connector on files of connected apps; files seen "
        "through ICAP or uploaded to the API get alerts, notices and blocks only.",
    )
    template = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, groups: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sensitive_types"] = _checkboxes(type_choices(), "Sensitive information types")
        self.fields["apps"] = forms.MultipleChoiceField(
            label="App",
            choices=app_choices(),
            required=False,
            help_text="Leave empty for every app (and files seen through ICAP or the API).",
            widget=forms.SelectMultiple(attrs={"size": "4"}),
        )
        size = str(min(max(len(groups), 2), 8))
        for name, label, help_text in (
            ("include_groups", "Only owners in these groups", "Leave empty for every owner."),
            ("exclude_groups", "Never owners in these groups", "Excluding wins over including."),
        ):
            self.fields[name] = forms.MultipleChoiceField(
                label=label,
                choices=groups,
                required=False,
                help_text=help_text,
                widget=forms.SelectMultiple(attrs={"size": size}),
            )

    @classmethod
    def initial_from(cls, values: dict) -> dict:
        """Form initial values from policy fields (a policy's or a template's)."""
        filters = values.get("filters") or {}
        tuning = values.get("tuning") or DEFAULTS["tuning"]
        initial = {k: v for k, v in values.items() if k not in ("filters", "tuning")}
        initial.update(
            sensitive_types=filters.get("sensitive_types", []),
            min_matches=filters.get("min_matches", 1),
            file_types=[str(v) for v in filters.get("file_types", [])],
            extensions=", ".join(filters.get("extensions", [])),
            apps=filters.get("apps", []),
            access_levels=[str(v) for v in filters.get("access_levels", [])],
            sources=filters.get("sources", []),
            name_contains=filters.get("name_contains", ""),
            alert=tuning.get("alert", True),
            block=tuning.get("block", False),
        )
        return initial

    @classmethod
    def for_policy(cls, policy: Policy, data=None, **kwargs) -> FilePolicyForm:
        values = {
            name: getattr(policy, name)
            for name in (
                "name",
                "description",
                "severity",
                "category",
                "filters",
                "tuning",
                "daily_alert_limit",
                "dedupe_minutes",
                "include_groups",
                "exclude_groups",
                "governance",
                "template",
            )
        }
        return cls(data, initial=cls.initial_from(values), **kwargs)

    def values(self) -> dict:
        """The service's keyword arguments."""
        d = self.cleaned_data
        filters = {
            "sensitive_types": d["sensitive_types"],
            "file_types": [int(v) for v in d["file_types"]],
            "extensions": [e for e in d["extensions"].replace(",", " ").split() if e],
            "apps": d["apps"],
            "access_levels": [int(v) for v in d["access_levels"]],
            "sources": d["sources"],
            "name_contains": d["name_contains"],
        }
        if d["min_matches"] is not None:
            filters["min_matches"] = d["min_matches"]
        return {
            "name": d["name"],
            "description": d["description"],
            "template": d["template"],
            "severity": d["severity"],
            "category": d["category"],
            "filters": filters,
            "tuning": {"alert": d["alert"], "block": d["block"]},
            "daily_alert_limit": d["daily_alert_limit"],
            "dedupe_minutes": d["dedupe_minutes"],
            "include_groups": d["include_groups"],
            "exclude_groups": d["exclude_groups"],
            "governance": d["governance"],
        }

    def add_problems(self, problems: dict[str, list[str]]) -> None:
        for field, messages in problems.items():
            name = field.split(".", 1)[1] if field.startswith("filters.") else field
            if name.startswith("tuning."):
                name = name.split(".", 1)[1]
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)
