"""Console form of an IP range. It only translates text boxes into lists; the rules (CIDR
syntax, unique names, no overlaps) live in `iprange_services`, whose refusals the view puts
back on the fields."""

from __future__ import annotations

import re

from django import forms

from .iprange_services import MAX_TAG_LENGTH
from .models import IpCategory, IpRange

_SPLIT = re.compile(r"[\s,;]+")


class IpRangeForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For you only; not shown on activities.")
    cidrs = forms.CharField(
        label="CIDRs",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        max_length=40_000,
        help_text="One per line, IPv4 or IPv6, e.g. 192.0.2.0/24 or 2001:db8::/32. A bare "
        "address is one host. Ranges may not overlap.",
    )
    category = forms.TypedChoiceField(choices=IpCategory.choices, coerce=int)
    tags = forms.CharField(
        required=False,
        max_length=2000,
        help_text=f"Comma separated, e.g. “London, Guest Wi-Fi” (each up to {MAX_TAG_LENGTH} "
        "characters). Tags appear on activities from these addresses.",
    )
    isp_override = forms.CharField(
        label="Override registered ISP",
        required=False,
        max_length=200,
        help_text="Shown instead of the ISP of the geo database. Leave empty to keep it.",
    )

    @classmethod
    def for_range(cls, ip_range: IpRange, data=None) -> IpRangeForm:
        return cls(
            data,
            initial={
                "name": ip_range.name,
                "cidrs": "\n".join(ip_range.cidrs),
                "category": ip_range.category,
                "tags": ", ".join(ip_range.tags),
                "isp_override": ip_range.isp_override,
            },
        )

    def values(self) -> dict:
        """The cleaned fields in the services' shape."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "cidrs": [part for part in _SPLIT.split(data["cidrs"]) if part],
            "category": data["category"],
            "tags": [tag.strip() for tag in data["tags"].split(",") if tag.strip()],
            "isp_override": data["isp_override"],
        }
