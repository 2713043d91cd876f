"""Console forms of the scoped deployment page: a rule, and the activity-privacy groups.

They only turn checkboxes into lists; the rules (known groups and apps of this tenant, at least
one group) live in `scope_services`, whose refusals the views put back on the fields.
"""

from __future__ import annotations

from django import forms

from .models import ScopeRule, ScopeRuleKind

ALL_APPS, SOME_APPS = "all", "some"


class ScopeRuleForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For you only, e.g. “Global sales”.")
    kind = forms.ChoiceField(
        label="Rule",
        choices=[
            (ScopeRuleKind.INCLUDE, "Include: monitor only these groups"),
            (ScopeRuleKind.EXCLUDE, "Exclude: never monitor these groups"),
        ],
        help_text="An include rule leaves out everyone it does not name in the apps it covers. "
        "Exclude wins over include.",
    )
    groups = forms.MultipleChoiceField(
        label="User groups", widget=forms.CheckboxSelectMultiple, choices=()
    )
    scope = forms.ChoiceField(
        label="Applies to",
        widget=forms.RadioSelect,
        choices=[(ALL_APPS, "All connected apps"), (SOME_APPS, "Specific apps")],
        initial=ALL_APPS,
    )
    apps = forms.MultipleChoiceField(
        label="Apps",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=(),
        help_text="Only with “Specific apps”. Choosing Microsoft 365 covers all its sub-apps; "
        "a sub-app (e.g. Power BI) narrows the rule to it.",
    )

    def __init__(self, *args, groups=(), apps=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = list(groups)
        self.fields["apps"].choices = list(apps)

    @classmethod
    def for_rule(cls, rule: ScopeRule, data=None, **choices) -> ScopeRuleForm:
        return cls(
            data,
            initial={
                "name": rule.name,
                "kind": rule.kind,
                "groups": rule.groups,
                "scope": SOME_APPS if rule.apps else ALL_APPS,
                "apps": rule.apps,
            },
            **choices,
        )

    def clean(self):
        data = super().clean()
        if data.get("scope") == SOME_APPS and not data.get("apps"):
            self.add_error("apps", "Choose at least one app, or “All connected apps”.")
        return data

    def values(self) -> dict:
        """The cleaned fields in the services' shape."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "groups": list(data["groups"]),
            "apps": list(data["apps"]) if data["scope"] == SOME_APPS else [],
        }


class PrivacyGroupsForm(forms.Form):
    private_groups = forms.MultipleChoiceField(
        label="Groups whose activities are private",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=(),
        help_text="None checked: no activity is private.",
    )

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["private_groups"].choices = list(groups)
