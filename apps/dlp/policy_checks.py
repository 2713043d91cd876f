"""The rules of file policies, checked before anything is written (used by `policy_services`).

A file policy is an `alerts.Policy` of kind `file`. Its conditions (`filters`, all ANDed; an
empty or missing one is no condition):

- `sensitive_types`: type keys (built-in, or the tenant's custom types); the file matches when
  it holds at least `min_matches` occurrences of them together (default 1);
- `file_types` (`FileType` values), `extensions` (lower case, no dot), `apps` (`AppInstance`
  ids), `access_levels` (`AccessLevel` values), `sources` (`FileSource` values),
  `name_contains` (part of the file name, any case).

Owner scope: `include_groups` / `exclude_groups` (user group ids; exclude wins). Actions:
`tuning` = {"alert": bool, "block": bool}; `governance` = file actions plus `notify_user`.
The shared pieces (name, severity, bounds, groups) are the activity policies' own checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from apps.alerts.models import Category, Policy, Severity
from apps.alerts.policy_checks import (
    DAILY_ALERT_LIMIT,
    DEDUPE_MINUTES,
    PolicyRefused,
    Problems,
    bounded,
    check_name,
    flag,
    groups,
    severity,
)
from apps.connectors.models import AppInstance
from apps.governance.models import GovernanceKind

from .detection.types import BUILTIN_TYPES
from .models import AccessLevel, CustomSensitiveType, FileSource, FileType

MAX_FILE_POLICIES = 50  # spec 9.4
MIN_MATCHES = (1, 100_000)
MAX_ITEMS = 50
MAX_NAME_CONTAINS = 200

GOVERNANCE_KINDS = (
    GovernanceKind.NOTIFY_USER,
    GovernanceKind.REMOVE_EXTERNAL_SHARING,
    GovernanceKind.MAKE_PRIVATE,
    GovernanceKind.QUARANTINE_FILE,
)

FIELDS = (
    "name",
    "description",
    "template",
    "enabled",
    "severity",
    "category",
    "filters",
    "tuning",
    "daily_alert_limit",
    "dedupe_minutes",
    "include_groups",
    "exclude_groups",
    "governance",
)
FILTER_KEYS = (
    "sensitive_types",
    "min_matches",
    "file_types",
    "extensions",
    "apps",
    "access_levels",
    "sources",
    "name_contains",
)
DEFAULTS: dict[str, Any] = {
    "description": "",
    "template": "",
    "enabled": True,
    "severity": Severity.MEDIUM,
    "category": Category.DLP,
    "filters": {},
    "tuning": {"alert": True, "block": False},
    "daily_alert_limit": 5,
    # A file that matches again the same day (a rescan, an edit) folds into its open alert.
    "dedupe_minutes": 24 * 60,
    "include_groups": [],
    "exclude_groups": [],
    "governance": [],
}


def type_choices() -> list[tuple[str, str]]:
    """(key, label) of the built-in types and the tenant's custom types."""
    builtin = [(t.key, t.label) for t in BUILTIN_TYPES]
    custom = [
        (key, f"{name} (custom)")
        for key, name in CustomSensitiveType.objects.order_by("name").values_list("key", "name")
    ]
    return builtin + custom


def app_choices() -> list[tuple[str, str]]:
    return [
        (str(pk), name)
        for pk, name in AppInstance.objects.order_by("name").values_list("pk", "name")
    ]


def _list(value: Any, field: str, p: Problems) -> list | None:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        p.add(field, "Give a list.")
        return None
    if len(value) > MAX_ITEMS:
        p.add(field, f"At most {MAX_ITEMS} values.")
        return None
    return list(value)


def _ints(value: Any, field: str, choices, what: str, p: Problems) -> list[int]:
    items = _list(value, field, p)
    out: list[int] = []
    for item in items or []:
        if isinstance(item, bool) or not isinstance(item, int | str):
            number = None
        else:
            try:
                number = int(item)
            except ValueError:
                number = None
        if number not in choices.values:
            names = ", ".join(f"{v} {label}" for v, label in choices.choices)
            p.add(field, f"{str(item)[:40]!r} is not {what} ({names}).")
        else:
            out.append(number)
    return sorted(set(out))


def clean_filters(value: Any, p: Problems) -> dict:
    """The conditions, checked and normalised (empty conditions are left out)."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        p.add("filters", "Conditions are an object keyed by condition name, e.g. {}.")
        return {}
    for key in value:
        if key not in FILTER_KEYS:
            p.add(f"filters.{key}", f"Not a file condition ({', '.join(FILTER_KEYS)}).")
    out: dict[str, Any] = {}
    types = _list(value.get("sensitive_types"), "filters.sensitive_types", p)
    if types:
        known = dict(type_choices())
        for key in types:
            if not isinstance(key, str) or key not in known:
                p.add(
                    "filters.sensitive_types",
                    f"{str(key)[:60]!r} is not a sensitive information type of this tenant.",
                )
        out["sensitive_types"] = list(dict.fromkeys(k for k in types if k in known))
    raw_min = value.get("min_matches")
    if raw_min not in (None, ""):
        minimum = bounded(
            raw_min, "filters.min_matches", MIN_MATCHES, "The minimum number of matches", p
        )
        if minimum > 1 and not out.get("sensitive_types"):
            p.add(
                "filters.min_matches",
                "The minimum counts matches of the chosen sensitive types: pick at least one.",
            )
        if out.get("sensitive_types"):
            out["min_matches"] = minimum
    file_types = _ints(value.get("file_types"), "filters.file_types", FileType, "a file type", p)
    if file_types:
        out["file_types"] = file_types
    extensions = []
    for item in _list(value.get("extensions"), "filters.extensions", p) or []:
        text = str(item).strip().lower().lstrip(".") if isinstance(item, str) else ""
        if not text or len(text) > 32 or not all(c.isalnum() or c in "-_" for c in text):
            p.add("filters.extensions", f"{str(item)[:40]!r} is not a file extension.")
        else:
            extensions.append(text)
    if extensions:
        out["extensions"] = sorted(set(extensions))
    apps = []
    for item in _list(value.get("apps"), "filters.apps", p) or []:
        try:
            apps.append(str(uuid.UUID(str(item))))
        except ValueError:
            p.add("filters.apps", f"{str(item)[:60]!r} is not an app id.")
    if apps:
        known_apps = {
            str(pk) for pk in AppInstance.objects.filter(pk__in=apps).values_list("pk", flat=True)
        }
        for missing in (a for a in apps if a not in known_apps):
            p.add("filters.apps", f"No connected app of this tenant has the id {missing}.")
        out["apps"] = list(dict.fromkeys(a for a in apps if a in known_apps))
    levels = _ints(
        value.get("access_levels"), "filters.access_levels", AccessLevel, "an access level", p
    )
    if levels:
        out["access_levels"] = levels
    sources = []
    for item in _list(value.get("sources"), "filters.sources", p) or []:
        if item in FileSource.values:
            sources.append(item)
        else:
            p.add(
                "filters.sources",
                f"{str(item)[:40]!r} is not a source ({', '.join(FileSource.values)}).",
            )
    if sources:
        out["sources"] = sorted(set(sources))
    name_contains = value.get("name_contains")
    if name_contains not in (None, ""):
        if not isinstance(name_contains, str) or len(name_contains) > MAX_NAME_CONTAINS:
            p.add("filters.name_contains", f"Give text of at most {MAX_NAME_CONTAINS} characters.")
        elif name_contains.strip():
            out["name_contains"] = name_contains.strip()
    return out


def clean_tuning(value: Any, p: Problems) -> dict:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        p.add("tuning", 'Give an object: {"alert": true, "block": false}.')
        return dict(DEFAULTS["tuning"])
    for key in value:
        if key not in ("alert", "block"):
            p.add(f"tuning.{key}", "Not an action setting (alert, block).")
    return {
        "alert": flag(value.get("alert", True), "tuning.alert", p),
        "block": flag(value.get("block", False), "tuning.block", p),
    }


def clean_governance(value: Any, p: Problems) -> list[str]:
    if not isinstance(value, list | tuple):
        p.add("governance", "Give a list of governance actions.")
        return []
    kinds = []
    for item in value:
        if item in GOVERNANCE_KINDS:
            kinds.append(str(item))
        else:
            known = ", ".join(GOVERNANCE_KINDS)
            p.add("governance", f"{str(item)[:60]!r} is not a file governance action ({known}).")
    return list(dict.fromkeys(kinds))


def clean_file_policy(values: dict, *, current: Policy | None) -> dict:
    """Every field of a file policy, checked and normalised; raises PolicyRefused."""
    from . import policy_templates

    p = Problems()
    out: dict[str, Any] = {"name": check_name(values.get("name"), p, current=current)}
    description = str(values.get("description") or "").strip()
    if len(description) > 2000:
        p.add("description", "A description has at most 2,000 characters.")
    out["description"] = description
    template = str(values.get("template") or "")
    changed = current is None or template != current.template
    if template and changed and policy_templates.template(template) is None:
        p.add("template", f"{template[:60]!r} is not a file policy template.")
    out["template"] = template
    out["enabled"] = flag(values.get("enabled"), "enabled", p)
    out["severity"] = severity(values.get("severity"), p)
    if values.get("category") not in Category.values:
        p.add("category", f"Pick a category: {', '.join(Category.values)}.")
    out["category"] = values.get("category")
    out["filters"] = clean_filters(values.get("filters"), p)
    out["tuning"] = clean_tuning(values.get("tuning"), p)
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
    out["governance"] = clean_governance(values.get("governance"), p)
    if p:
        raise PolicyRefused(dict(p))
    return out
