"""The rules of policies, checked before anything is written (used by `policy_services`).

Each check adds `field -> reason` to a `Problems` and returns the normalised value, so that one
refusal lists every problem at once; `PolicyRefused` carries them to the form or the API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from apps.accounts.models import UserGroup
from apps.activities.query import FilterError, compile_filters
from apps.governance.models import GovernanceKind
from apps.tenants.models import Tenant

from . import policy_templates
from .detectors import all_detectors
from .models import Category, MatchMode, Policy, Severity

REPEAT_COUNT = (2, 10_000)
WINDOW_MINUTES = (1, 7 * 24 * 60)
DAILY_ALERT_LIMIT = (1, 1000)
DEDUPE_MINUTES = (1, 7 * 24 * 60)
MAX_GROUPS = 100
MAX_FILTERS_CHARS = 20_000
TIME_FIELDS = ("date", "created")

ACTIVITY_FIELDS = (
    "name",
    "description",
    "template",
    "enabled",
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
)
DETECTION_FIELDS = (
    "enabled",
    "severity",
    "include_groups",
    "exclude_groups",
    "governance",
    "tuning",
)
# The fields of a new activity policy that the caller leaves out.
DEFAULTS: dict[str, Any] = {
    "description": "",
    "template": "",
    "enabled": True,
    "severity": Severity.MEDIUM,
    "category": Category.THREAT_DETECTION,
    "filters": {},
    "mode": MatchMode.SINGLE,
    "repeat_count": 1,
    "repeat_window_minutes": 60,
    "repeat_per_user": True,
    "repeat_per_app": False,
    "daily_alert_limit": 5,
    "dedupe_minutes": 60,
    "include_groups": [],
    "exclude_groups": [],
    "governance": [],
}


class PolicyRefused(Exception):
    """Bad input for a policy: field name -> reasons in plain words."""

    def __init__(self, problems: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = problems


class Problems(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def check_filters(filters: Any, *, using: str) -> list[str]:
    """Reasons the filters cannot be a policy's (empty when they can), each naming its field."""
    if not isinstance(filters, Mapping):
        return ["Filters are a JSON object keyed by field name, e.g. {}."]
    if len(json.dumps(filters, default=str)) > MAX_FILTERS_CHARS:
        return [f"Filters hold at most {MAX_FILTERS_CHARS:,} characters of JSON."]
    problems = [
        f"{name}: a policy looks at each new activity as it arrives, so time filters "
        f"({', '.join(TIME_FIELDS)}) do not apply; use a repeated-activity window instead."
        for name in filters
        if name in TIME_FIELDS
    ]
    rest = {name: ops for name, ops in filters.items() if name not in TIME_FIELDS}
    try:
        compile_filters(rest, using=using)
    except FilterError as exc:
        for where, messages in exc.errors.items():
            for message in messages:
                problems.append(message if where == "filters" else f"{where}: {message}")
    return problems


def bounded(value: Any, field: str, bounds: tuple[int, int], what: str, p: Problems) -> int:
    low, high = bounds
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None:
        p.add(field, f"{what} must be a whole number from {low:,} to {high:,}.")
        return low
    if not low <= number <= high:
        p.add(field, f"{what} must be from {low:,} to {high:,} (got {number:,}).")
    return number


def flag(value: Any, field: str, p: Problems) -> bool:
    if isinstance(value, bool):
        return value
    p.add(field, "Give true or false.")
    return False


def severity(value: Any, p: Problems) -> int:
    try:
        severity = int(value)
    except (TypeError, ValueError):
        severity = None
    if isinstance(value, bool) or severity not in Severity.values:
        names = ", ".join(f"{v} {label}" for v, label in Severity.choices)
        p.add("severity", f"Pick a severity: {names}.")
        return Severity.MEDIUM
    return severity


def groups(value: Any, field: str, p: Problems) -> list[str]:
    if not isinstance(value, list | tuple):
        p.add(field, "Give a list of user group ids.")
        return []
    if len(value) > MAX_GROUPS:
        p.add(field, f"At most {MAX_GROUPS} groups.")
        return []
    ids: list[str] = []
    for item in value:
        try:
            ids.append(str(uuid.UUID(str(item))))
        except ValueError:
            p.add(field, f"{str(item)[:60]!r} is not a user group id.")
    ids = list(dict.fromkeys(ids))
    known = {str(pk) for pk in UserGroup.objects.filter(pk__in=ids).values_list("pk", flat=True)}
    for missing in (i for i in ids if i not in known):
        p.add(field, f"No user group of this tenant has the id {missing}.")
    return ids


def governance(value: Any, p: Problems) -> list[str]:
    if not isinstance(value, list | tuple):
        p.add("governance", "Give a list of governance actions.")
        return []
    kinds = []
    for item in value:
        if item in GovernanceKind.values:
            kinds.append(str(item))
        else:
            known = ", ".join(GovernanceKind.values)
            p.add("governance", f"{str(item)[:60]!r} is not a governance action ({known}).")
    return list(dict.fromkeys(kinds))


def check_name(value: Any, p: Problems, *, current: Policy | None) -> str:
    """Spaces collapsed; unique in the tenant (any case) and not a built-in detection's."""
    name = " ".join(str(value or "").split())
    if not name:
        p.add("name", "Give the policy a name.")
        return name
    if len(name) > 200:
        p.add("name", "A name has at most 200 characters.")
        return name
    others = Policy.objects.filter(name__iexact=name)
    if current is not None:
        others = others.exclude(pk=current.pk)
    builtin = {d.name.lower() for d in all_detectors().values()}
    if others.exists():
        p.add("name", f"A policy named “{name}” already exists; pick another name.")
    elif name.lower() in builtin:
        p.add("name", f"“{name}” is the name of a built-in detection; pick another name.")
    return name


def clean_activity(tenant: Tenant, values: dict, *, current: Policy | None) -> dict:
    """Every field of an activity policy, checked and normalised; raises PolicyRefused."""
    p = Problems()
    out: dict[str, Any] = {"name": check_name(values.get("name"), p, current=current)}
    description = str(values.get("description") or "").strip()
    if len(description) > 2000:
        p.add("description", "A description has at most 2,000 characters.")
    out["description"] = description
    template = str(values.get("template") or "")
    if template and (current is None or template != current.template):
        found = policy_templates.template(template)
        if found is None or not found.available:
            p.add("template", f"{template[:60]!r} is not a template a policy can be made from.")
    out["template"] = template
    out["enabled"] = flag(values.get("enabled"), "enabled", p)
    out["severity"] = severity(values.get("severity"), p)
    if values.get("category") not in Category.values:
        p.add("category", f"Pick a category: {', '.join(Category.values)}.")
    out["category"] = values.get("category")
    filters = values.get("filters")
    for problem in check_filters(filters, using=tenant.db_alias):
        p.add("filters", problem)
    out["filters"] = dict(filters) if isinstance(filters, Mapping) else {}
    mode = values.get("mode")
    if mode not in MatchMode.values:
        p.add("mode", f"Pick a mode: {', '.join(MatchMode.values)}.")
    out["mode"] = mode
    if mode == MatchMode.REPEATED:
        out["repeat_count"] = bounded(
            values.get("repeat_count"), "repeat_count", REPEAT_COUNT, "The number of activities", p
        )
        out["repeat_window_minutes"] = bounded(
            values.get("repeat_window_minutes"),
            "repeat_window_minutes",
            WINDOW_MINUTES,
            "The window (in minutes)",
            p,
        )
        out["repeat_per_user"] = flag(values.get("repeat_per_user"), "repeat_per_user", p)
        out["repeat_per_app"] = flag(values.get("repeat_per_app"), "repeat_per_app", p)
    else:  # single activity: the counting fields do not apply; store the defaults
        for key in ("repeat_count", "repeat_window_minutes", "repeat_per_user", "repeat_per_app"):
            out[key] = DEFAULTS[key]
    out["daily_alert_limit"] = bounded(
        values.get("daily_alert_limit"),
        "daily_alert_limit",
        DAILY_ALERT_LIMIT,
        "The daily alert limit",
        p,
    )
    out["dedupe_minutes"] = bounded(
        values.get("dedupe_minutes"),
        "dedupe_minutes",
        DEDUPE_MINUTES,
        "The window that folds repeats into one alert (in minutes)",
        p,
    )
    out["include_groups"] = groups(values.get("include_groups"), "include_groups", p)
    out["exclude_groups"] = groups(values.get("exclude_groups"), "exclude_groups", p)
    out["governance"] = governance(values.get("governance"), p)
    if p:
        raise PolicyRefused(dict(p))
    return out


def free_name(name: str) -> str:
    """`name`, or `name (2)`, `(3)`... when a policy or built-in detection has it already
    (templates share names with detections: "Mass download by a single user")."""
    taken = {n.lower() for n in Policy.objects.values_list("name", flat=True)}
    taken |= {d.name.lower() for d in all_detectors().values()}
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def clean_tuning(policy: Policy, tuning: Any, p: Problems) -> dict:
    """New option values over the stored ones, checked by the detection's `clean_options`."""
    detector = all_detectors().get(policy.detector)
    if detector is None:
        p.add("tuning", "This detection is not available in this version.")
        return dict(policy.tuning)
    if not isinstance(tuning, Mapping):
        p.add("tuning", "Give an object of option name -> value.")
        return dict(policy.tuning)
    known = {option.name for option in detector.options}
    stored = {k: v for k, v in (policy.tuning or {}).items() if k in known}
    cleaned, errors = detector.clean_options({**detector.defaults(), **stored, **tuning})
    for name, message in errors.items():
        p.add(f"tuning.{name}", f"{name} {message}.")
    return cleaned


def clean_detection(policy: Policy, values: dict, *, tuning: Any = None) -> dict:
    """A detection's settings, checked; `tuning` (new option values) is checked by the
    detection itself, None keeps the stored tuning. Raises PolicyRefused."""
    p = Problems()
    fields = {
        "enabled": flag(values["enabled"], "enabled", p),
        "severity": severity(values["severity"], p),
        "include_groups": groups(values["include_groups"], "include_groups", p),
        "exclude_groups": groups(values["exclude_groups"], "exclude_groups", p),
        "governance": governance(values["governance"], p),
        "tuning": policy.tuning if tuning is None else clean_tuning(policy, tuning, p),
    }
    if p:
        raise PolicyRefused(dict(p))
    return fields
