"""Console forms of policies and detection settings. They only translate (JSON text into an
object, checkboxes into lists); the rules live in `policy_services`, whose refusals the views put
back on the fields."""

from __future__ import annotations

import json

from django import forms

from apps.governance.models import GovernanceKind

from .detectors.base import Detector, Option
from .models import Category, MatchMode, Policy, Severity

FILTERS_HELP = (
    "The activity log's filter language: a JSON object of field → {operator: value}, e.g. "
    '<code>{"activity.eventType": {"eq": ["download"]}, '
    '"location.country": {"neq": ["GB"]}}</code>. '
    "Fields are ANDed; the values of one operator are ORed. Empty (<code>{}</code>) matches every "
    "activity. Time fields do not apply: a policy looks at each new activity as it arrives."
)


def _checkboxes(choices) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=choices, required=False, widget=forms.CheckboxSelectMultiple
    )


class _ScopeFields(forms.Form):
    """Severity, scope and governance: what policies and detections share."""

    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int)

    def __init__(self, *args, groups: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        size = str(min(max(len(groups), 2), 8))
        for name, label, help_text in (
            ("include_groups", "Only people in these groups", "Leave empty for everyone."),
            ("exclude_groups", "Never people in these groups", "Excluding wins over including."),
        ):
            self.fields[name] = forms.MultipleChoiceField(
                label=label,
                choices=groups,
                required=False,
                help_text=help_text,
                widget=forms.SelectMultiple(attrs={"size": size}),
            )
        self.fields["governance"] = _checkboxes(GovernanceKind.choices)
        self.fields["governance"].label = "Governance actions on each new alert"
        self.fields["governance"].help_text = (
            "Run through the app's connector on the accounts (or files, OAuth apps) the alert is "
            "about. Apps that do not support an action record it as failed, with the reason."
        )

    def add_problems(self, problems: dict[str, list[str]]) -> None:
        for field, messages in problems.items():
            target = self.field_for(field)
            for message in messages:
                self.add_error(target, message)

    def field_for(self, problem: str) -> str | None:
        return problem if problem in self.fields else None


class PolicyForm(_ScopeFields):
    """An activity policy."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    category = forms.ChoiceField(choices=Category.choices, initial=Category.THREAT_DETECTION)
    filters = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text=FILTERS_HELP,
    )
    mode = forms.ChoiceField(
        label="Match",
        choices=MatchMode.choices,
        initial=MatchMode.SINGLE,
        widget=forms.RadioSelect,
        help_text="Single: every matching activity. Repeated: N matches within T minutes.",
    )
    repeat_count = forms.IntegerField(
        label="Minimum number of repeated activities",
        required=False,
        initial=10,
        help_text="2 to 10,000 (repeated only).",
    )
    repeat_window_minutes = forms.IntegerField(
        label="Within (minutes)", required=False, initial=5, help_text="1 to 10,080 (7 days)."
    )
    repeat_per_user = forms.BooleanField(label="Count per user", required=False, initial=True)
    repeat_per_app = forms.BooleanField(label="Count within one app", required=False)
    daily_alert_limit = forms.IntegerField(
        initial=5, help_text="New alerts per UTC day, 1 to 1,000; further triggers are counted."
    )
    dedupe_minutes = forms.IntegerField(
        label="Fold repeats into one alert for (minutes)",
        initial=60,
        help_text="A new trigger for the same person within this time updates their open alert "
        "instead of raising another. 1 to 10,080.",
    )
    template = forms.CharField(required=False, widget=forms.HiddenInput)

    field_order = [
        "name",
        "description",
        "severity",
        "category",
        "filters",
        "mode",
        "repeat_count",
        "repeat_window_minutes",
        "repeat_per_user",
        "repeat_per_app",
        "daily_alert_limit",
        "dedupe_minutes",
        "include_groups",
        "exclude_groups",
        "governance",
        "template",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(self.field_order)
        self.fields["severity"].initial = Severity.MEDIUM

    @staticmethod
    def initial_from(values: dict) -> dict:
        """Form initial values from policy fields (a policy's or a template's)."""
        initial = dict(values)
        initial["filters"] = json.dumps(values.get("filters") or {}, indent=2)
        return initial

    @classmethod
    def for_policy(cls, policy: Policy, data=None, **kwargs) -> PolicyForm:
        fields = {
            name: getattr(policy, name)
            for name in (
                "name",
                "description",
                "severity",
                "category",
                "filters",
                "mode",
                "repeat_count",
                "repeat_window_minutes",
                "repeat_per_user",
                "repeat_per_app",
                "daily_alert_limit",
                "dedupe_minutes",
                "include_groups",
                "exclude_groups",
                "governance",
                "template",
            )
        }
        return cls(data, initial=cls.initial_from(fields), **kwargs)

    def clean_filters(self):
        text = (self.cleaned_data.get("filters") or "").strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.") from exc
        except RecursionError as exc:
            raise forms.ValidationError("Not valid JSON: nested too deeply.") from exc

    def values(self) -> dict:
        """The cleaned fields in the services' shape."""
        data = dict(self.cleaned_data)
        for name in ("repeat_count", "repeat_window_minutes"):
            if data[name] is None:  # single mode leaves them empty; the service ignores them
                data[name] = self.fields[name].initial
        return data


# --- Detection settings ------------------------------------------------------------------------


def _option_field(option: Option) -> forms.Field:
    common = {"label": option.label, "help_text": option.help, "required": False}
    if option.kind == "int":
        attrs = {
            k: v for k, v in (("min", option.minimum), ("max", option.maximum)) if v is not None
        }
        bounds = " to ".join(str(v) for v in (option.minimum, option.maximum) if v is not None)
        if bounds and not option.help:
            common["help_text"] = bounds
        return forms.CharField(widget=forms.NumberInput(attrs=attrs), **common)
    if option.kind == "choice":
        return forms.ChoiceField(choices=option.choices, **common)
    if option.kind == "bool":
        return forms.BooleanField(**common)
    return forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        **{**common, "help_text": (option.help + " One per line.").strip()},
    )


class DetectionForm(_ScopeFields):
    """A built-in detection's settings; its options become `opt_<name>` fields."""

    enabled = forms.BooleanField(label="On", required=False)

    def __init__(self, *args, detector: type[Detector] | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["enabled", "severity"])
        self.options = list(detector.options) if detector is not None else []
        for option in self.options:
            self.fields[f"opt_{option.name}"] = _option_field(option)

    @classmethod
    def for_policy(cls, policy: Policy, detector, data=None, **kwargs) -> DetectionForm:
        initial = {
            "enabled": policy.enabled,
            "severity": policy.severity,
            "include_groups": policy.include_groups,
            "exclude_groups": policy.exclude_groups,
            "governance": policy.governance,
        }
        tuning = {**(detector.defaults() if detector else {}), **(policy.tuning or {})}
        for option in detector.options if detector else ():
            value = tuning.get(option.name, option.default)
            initial[f"opt_{option.name}"] = "\n".join(value) if option.kind == "words" else value
        return cls(data, initial=initial, detector=detector, **kwargs)

    def field_for(self, problem: str) -> str | None:
        if problem.startswith("tuning."):
            name = f"opt_{problem.removeprefix('tuning.')}"
            return name if name in self.fields else None
        return super().field_for(problem)

    def values(self) -> dict:
        data = self.cleaned_data
        values = {
            key: data[key]
            for key in ("enabled", "severity", "include_groups", "exclude_groups", "governance")
        }
        if self.options:
            values["tuning"] = {o.name: data[f"opt_{o.name}"] for o in self.options}
        return values
