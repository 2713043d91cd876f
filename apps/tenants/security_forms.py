"""The portal security form: it parses and validates; `access_policy` decides and saves."""

from __future__ import annotations

from django import forms

from .access_policy import Policy, parse_countries, parse_networks


class PortalSecurityForm(forms.Form):
    require_mfa = forms.BooleanField(
        label="Require multi-factor authentication",
        required=False,
        help_text="Every member must pass a second factor (TOTP) before using this tenant. "
        "Members without one are sent to enrol first.",
    )
    allowed_networks = forms.CharField(
        label="Allowed networks",
        required=False,
        max_length=20000,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "spellcheck": "false",
                "placeholder": "198.51.100.0/24\n2001:db8::/32",
            }
        ),
        help_text="One network (CIDR) or address per line, IPv4 or IPv6. "
        "Empty: every network is allowed.",
    )
    allowed_countries = forms.CharField(
        label="Allowed countries",
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "GB, IE, FR", "spellcheck": "false"}),
        help_text="ISO 3166 two-letter codes separated by commas. Empty: every country is "
        "allowed. Private and unknown addresses have no country and are refused when this is set.",
    )
    confirm_lockout = forms.BooleanField(
        label="I understand this policy refuses my current address and I may lose access",
        required=False,
    )

    @classmethod
    def initial_for(cls, policy: Policy) -> dict:
        return {
            "require_mfa": policy.require_mfa,
            "allowed_networks": "\n".join(policy.allowed_networks),
            "allowed_countries": ", ".join(policy.allowed_countries),
        }

    def clean_allowed_networks(self) -> list[str]:
        return parse_networks(self.cleaned_data["allowed_networks"])

    def clean_allowed_countries(self) -> list[str]:
        return parse_countries(self.cleaned_data["allowed_countries"])

    def policy(self) -> Policy:
        data = self.cleaned_data
        return Policy(data["require_mfa"], data["allowed_networks"], data["allowed_countries"])
