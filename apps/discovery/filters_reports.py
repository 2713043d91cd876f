"""The filter forms of the discovery reports, shared by the console pages, the CSV exports and
the API (one definition each; the API answers 400 naming the field, the console shows it).

Filtering and sorting run in Python over the per-app rows of `reports.py`, not in SQL: the
catalog (names, categories, risk attributes) lives in memory, not in the database, so a filter
such as "not SOC 2" or "risk score 0-4" cannot be a WHERE clause. The rows are already aggregated
(one per discovered app), so this stays cheap.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms

from apps.activities.filtersets import StrictBooleanField

from .catalog.attributes import ATTRIBUTES, CATEGORIES, GENERAL, GROUPS
from .models import AppTag, TagKind
from .reports import BUILT_IN, AppRow, EntityRow
from .selectors import PERIODS

MB = 1024 * 1024
MAX_TEXT = 200

# Risk factors a filter can ask about: yes / no / unknown (N/A). Booleans, plus the compliance
# levels where "na" (none) means no and any level means yes.
_LEVELS = {"pci_dss", "fedramp", "csa_star"}
FACTORS = [
    a
    for a in ATTRIBUTES
    if a.kind == "bool" or a.key in _LEVELS or a.key in {"user_upload", "file_sharing"}
]
FACTOR_KEYS = {a.key for a in FACTORS}
ANSWERS = {"yes": "yes", "no": "no", "unknown": "unknown (N/A)"}


def factor_choices() -> list:
    grouped = []
    for group, label in GROUPS.items():
        options = [
            (f"{a.key}:{answer}", f"{a.label}: {text}")
            for a in FACTORS
            if a.group == group
            for answer, text in ANSWERS.items()
        ]
        if options:
            grouped.append((f"{label} risk factors" if group != GENERAL else label, options))
    return grouped


def factor_answer(attributes: dict, key: str) -> str:
    """yes / no / unknown for one risk factor of an app's attributes."""
    value = attributes.get(key)
    if value is None:
        return "unknown"
    if key in _LEVELS:
        return "no" if value == "na" else "yes"
    return "yes" if value else "no"


class ScopeForm(forms.Form):
    """Which report and how many days: `report` (global, a report id) and `period`."""

    report = forms.CharField(
        required=False,
        max_length=64,
        help_text='"global" (default: every continuous report), or a report id.',
    )
    period = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Last 30 days"), *[(str(p), f"Last {p} days") for p in PERIODS]],
        help_text="Days up to today (default 30); a snapshot report shows its whole range.",
    )


SORTS = {
    "traffic": ("Traffic", lambda r: (-r.traffic, r.name.lower())),
    "upload": ("Upload", lambda r: (-r.bytes_up, r.name.lower())),
    "transactions": ("Transactions", lambda r: (-r.transactions, r.name.lower())),
    "users": ("Users", lambda r: (-r.users, r.name.lower())),
    "ips": ("IP addresses", lambda r: (-r.ips, r.name.lower())),
    "score": ("Risk score, safest first", lambda r: (-(r.score.total or -1), r.name.lower())),
    "risk": ("Risk score, riskiest first", lambda r: (_riskiest(r), r.name.lower())),
    "name": ("Name", lambda r: (r.name.lower(),)),
    "last_seen": ("Last seen", lambda r: (-(r.last_seen.toordinal() if r.last_seen else 0),)),
}


def _riskiest(row: AppRow) -> float:
    return 11.0 if row.score.total is None else row.score.total  # unscored last


class DiscoveredAppFilterForm(forms.Form):
    """Filters of the discovered apps: category, risk score range, tag, risk factors, usage
    thresholds and a name/domain search, plus the sort order."""

    q = forms.CharField(
        required=False, max_length=MAX_TEXT, label="Search", help_text="Part of a name or domain."
    )
    category = forms.ChoiceField(
        required=False,
        choices=[("", "Any category"), *sorted(CATEGORIES.items(), key=lambda kv: kv[1])],
    )
    risk_min = forms.DecimalField(
        required=False, min_value=0, max_value=10, decimal_places=1, label="Risk score from"
    )
    risk_max = forms.DecimalField(
        required=False, min_value=0, max_value=10, decimal_places=1, label="Risk score to"
    )
    tag = forms.ChoiceField(
        required=False,
        help_text="sanctioned, unsanctioned, monitored, none (no built-in tag) or a tag id.",
    )
    factor = forms.MultipleChoiceField(
        required=False,
        choices=factor_choices,
        label="Risk factors",
        help_text='Each "attribute:yes|no|unknown", e.g. soc2:no; all must hold.',
    )
    min_users = forms.IntegerField(required=False, min_value=0, label="Users at least")
    min_transactions = forms.IntegerField(
        required=False, min_value=0, label="Transactions at least"
    )
    min_traffic_mb = forms.IntegerField(required=False, min_value=0, label="Traffic at least (MB)")
    min_upload_mb = forms.IntegerField(required=False, min_value=0, label="Upload at least (MB)")
    sort = forms.ChoiceField(
        required=False, choices=[(k, v[0]) for k, v in SORTS.items()], label="Sort by"
    )

    def __init__(self, *args, tags: list[AppTag] = (), **kwargs):
        super().__init__(*args, **kwargs)
        built_in = [(kind.value, kind.label) for kind in BUILT_IN]
        custom = [(str(t.pk), t.name) for t in tags if t.kind == TagKind.CUSTOM]
        self.fields["tag"].choices = [
            ("", "Any tag"),
            *built_in,
            ("none", "No built-in tag"),
            *custom,
        ]

    def clean(self):
        data = super().clean()
        low, high = data.get("risk_min"), data.get("risk_max")
        if low is not None and high is not None and low > high:
            self.add_error("risk_max", "Must not be below the lower bound.")
        return data

    def apply(self, rows: list[AppRow], known) -> list[AppRow]:
        """The rows that pass every filter, in the chosen order (call after is_valid())."""
        data = self.cleaned_data
        q = (data.get("q") or "").strip().lower()
        factors = [value.split(":", 1) for value in data.get("factor") or ()]
        kept = []
        for row in rows:
            if q and not _matches(row, q):
                continue
            if data.get("category") and row.category != data["category"]:
                continue
            if not _in_range(row.score.total, data.get("risk_min"), data.get("risk_max")):
                continue
            if data.get("tag") and not _tagged(row, data["tag"]):
                continue
            if factors:
                app = known.app(row.key)
                attributes = app.attributes if app else {}
                if any(factor_answer(attributes, k) != want for k, want in factors):
                    continue
            if not _usage(row, data):
                continue
            kept.append(row)
        kept.sort(key=SORTS[data.get("sort") or "traffic"][1])
        return kept


def _matches(row: AppRow, q: str) -> bool:
    if q in row.name.lower() or q in row.key:
        return True
    domains = (*row.catalog_domains, *(d.domain for d in row.totals.domains))
    return any(q in domain for domain in domains)


def _in_range(value: float | None, low: Decimal | None, high: Decimal | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:  # unscored apps match no score range
        return False
    return (low is None or value >= float(low)) and (high is None or value <= float(high))


def _tagged(row: AppRow, wanted: str) -> bool:
    kinds = row.tag_kinds
    if wanted == "none":
        return not kinds & set(BUILT_IN)
    if wanted in {kind.value for kind in BUILT_IN}:
        return wanted in kinds
    return any(str(tag.pk) == wanted for tag in row.tags)


def _usage(row: AppRow, data: dict) -> bool:
    checks = (
        (data.get("min_users"), row.users, 1),
        (data.get("min_transactions"), row.transactions, 1),
        (data.get("min_traffic_mb"), row.traffic, MB),
        (data.get("min_upload_mb"), row.bytes_up, MB),
    )
    return all(limit is None or value >= limit * unit for limit, value, unit in checks)


ENTITY_SORTS = {
    "traffic": ("Traffic", lambda r: (-r.traffic, r.name)),
    "transactions": ("Transactions", lambda r: (-r.transactions, r.name)),
    "apps": ("Apps used", lambda r: (-r.app_count, r.name)),
    "name": ("Name", lambda r: (r.name,)),
}


class EntityFilterForm(forms.Form):
    """Filters of the users and IP address tabs."""

    q = forms.CharField(required=False, max_length=MAX_TEXT, label="Search")
    unsanctioned = StrictBooleanField(required=False, label="Used unsanctioned apps")
    sort = forms.ChoiceField(
        required=False, choices=[(k, v[0]) for k, v in ENTITY_SORTS.items()], label="Sort by"
    )

    def apply(self, rows: list[EntityRow]) -> list[EntityRow]:
        data = self.cleaned_data
        q = (data.get("q") or "").strip().lower()
        kept = [
            row
            for row in rows
            if (not q or q in row.name.lower())
            and (not data.get("unsanctioned") or row.unsanctioned)
        ]
        kept.sort(key=ENTITY_SORTS[data.get("sort") or "traffic"][1])
        return kept
