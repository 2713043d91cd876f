"""Writes of the content inspection settings: per built-in type thresholds and the tenant's own
sensitive types; plus "try it", which runs the tenant's engine on pasted text and writes nothing.

Called by the settings page and by /api/v1/dlp/..., inside the tenant's context. Rules enforced
here whichever caller:
- a custom regex follows the reference product's limits (spec 3.3): always case-insensitive;
  quantifiers `{n}` / `{n,m}` with n and m below 10 only; no `*`, `+`, `{n,}`; groups only
  non-capturing `(?:...)`; no back-references; it must not match empty text;
- a custom type needs a regex or keywords; its key is "custom_" + the slug of its name, unique,
  and kept when the type is renamed (matches already stored name it);
- thresholds name built-in types only, with a minimum count of 1-1000 and a minimum confidence
  of 1 (low) to 3 (high);
- every change is audited. Errors are `ValidationError`s keyed by field, with plain messages.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apps.tenants import audit
from apps.tenants.models import Tenant

from .detection.engine import CustomType, Engine
from .detection.types import BUILTIN_BY_KEY, BUILTIN_TYPES, CONFIDENCE_NAMES
from .models import CustomSensitiveType, DlpSettings

MAX_NAME = 120
MAX_REGEX = 500
MAX_KEYWORDS = 50
MAX_KEYWORD = 100
MAX_MIN_COUNT = 1000
MAX_TRY_CHARS = 100_000

_NAME_TAKEN = "A sensitive type with this name exists already."
_BOUNDED = re.compile(r"\{(\d+)(?:,(\d+))?\}")


# --- Regex limits ----------------------------------------------------------------------------


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` breaks the custom regex limits, in words; None if it keeps them."""
    if len(pattern) > MAX_REGEX:
        return f"At most {MAX_REGEX} characters."
    i, in_class, n = 0, False, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if not nxt:
                return "The pattern ends with a lone backslash."
            if not in_class and (nxt in "123456789" or nxt in "gk"):
                return "Back-references (such as \\1) are not allowed."
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            i += 1
            continue
        if ch == "[":
            in_class = True
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":
                i += 1  # a leading "]" is a literal
            continue
        if ch in "*+":
            return f"“{ch}” is not allowed: use a bounded quantifier {{n,m}} with n and m below 10."
        if ch == "(":
            if pattern[i + 1 : i + 2] == "?":
                if pattern[i + 2 : i + 3] != ":":
                    return (
                        "Only non-capturing groups (?:...) are allowed: no lookarounds, named "
                        "groups or inline flags (the pattern is always case-insensitive)."
                    )
            else:
                return "Groups must be non-capturing: write (?:...) instead of (...)."
            i += 1
            continue
        if ch == "{":
            bounded = _BOUNDED.match(pattern, i)
            if bounded is None:
                return "Quantifiers must be {n} or {n,m} with n and m below 10 (no {n,})."
            low = int(bounded.group(1))
            high = int(bounded.group(2)) if bounded.group(2) is not None else low
            if low > 9 or high > 9:
                return f"“{bounded.group(0)}”: n and m must be below 10."
            if low > high:
                return f"“{bounded.group(0)}”: n must not be larger than m."
            i = bounded.end()
            continue
        i += 1
    if in_class:
        return "A character class [ is not closed."
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        return f"Not a valid regular expression: {exc}."
    if compiled.groups:
        return "Groups must be non-capturing: write (?:...) instead of (...)."
    if compiled.fullmatch("") is not None:
        return "The pattern matches empty text; it must match at least one character."
    return None


# --- Custom types ----------------------------------------------------------------------------


def _keywords(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [line for part in values.splitlines() for line in part.split(",")]
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationError({"keywords": ["Keywords must be text."]})
        value = " ".join(value.split())
        if not value:
            continue
        if len(value) > MAX_KEYWORD:
            raise ValidationError(
                {"keywords": [f"“{value[:40]}…” is longer than {MAX_KEYWORD} characters."]}
            )
        if value.lower() not in (k.lower() for k in out):
            out.append(value)
    if len(out) > MAX_KEYWORDS:
        raise ValidationError({"keywords": [f"At most {MAX_KEYWORDS} keywords."]})
    return out


def _clean(
    *,
    name: str,
    regex: str,
    keywords,
    keywords_required: bool,
    min_count: int,
    min_confidence: int,
) -> dict:
    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = ["Give the type a name."]
    elif len(name) > MAX_NAME:
        errors["name"] = [f"At most {MAX_NAME} characters."]
    regex = (regex or "").strip()
    if regex:
        problem = regex_problem(regex)
        if problem:
            errors["regex"] = [problem]
    try:
        words = _keywords(keywords)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        words = []
    if not regex and not words and "regex" not in errors and "keywords" not in errors:
        errors["regex"] = ["Give a regular expression, keywords, or both."]
    if keywords_required and not (regex and words) and "regex" not in errors:
        errors["keywords_required"] = [
            "Requiring keywords needs both a regular expression and keywords."
        ]
    if isinstance(min_count, bool) or not isinstance(min_count, int):
        errors["min_count"] = ["A whole number."]
    elif not 1 <= min_count <= MAX_MIN_COUNT:
        errors["min_count"] = [f"From 1 to {MAX_MIN_COUNT}."]
    if isinstance(min_confidence, bool) or min_confidence not in CONFIDENCE_NAMES:
        errors["min_confidence"] = ["1 (low), 2 (medium) or 3 (high)."]
    if errors:
        raise ValidationError(errors)
    values = {
        "name": name,
        "regex": regex,
        "keywords": words,
        "keywords_required": bool(keywords_required),
        "min_count": min_count,
        "min_confidence": min_confidence,
    }
    try:  # the engine's own check (e.g. a pattern it cannot join)
        Engine(types=(), custom=[_engine_type("custom_check", values)])
    except (ValueError, re.error) as exc:
        raise ValidationError({"regex": [f"The engine cannot use this pattern: {exc}."]}) from exc
    return values


def _engine_type(key: str, values: dict) -> CustomType:
    return CustomType(
        key=key,
        label=values["name"],
        regex=values["regex"] or None,
        keywords=tuple(values["keywords"]),
        keywords_required=values["keywords_required"],
        min_count=values["min_count"],
        min_confidence=values["min_confidence"],
    )


def _new_key(name: str) -> str:
    base = "custom_" + (slugify(name).replace("-", "_")[:48] or "type")
    key, n = base, 2
    taken = set(
        CustomSensitiveType.objects.filter(key__startswith=base).values_list("key", flat=True)
    )
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _name_taken(name: str, exclude_pk=None) -> bool:
    rows = CustomSensitiveType.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    return rows.exists()


def create_custom_type(
    *,
    tenant: Tenant,
    actor,
    request=None,
    name: str,
    regex: str = "",
    keywords=(),
    keywords_required: bool = False,
    min_count: int = 1,
    min_confidence: int = 2,
    enabled: bool = True,
) -> CustomSensitiveType:
    """Add one of the tenant's own sensitive types (see the module docstring for the rules)."""
    values = _clean(
        name=name,
        regex=regex,
        keywords=keywords,
        keywords_required=keywords_required,
        min_count=min_count,
        min_confidence=min_confidence,
    )
    if _name_taken(values["name"]):
        raise ValidationError({"name": [_NAME_TAKEN]})
    try:
        with transaction.atomic(using=tenant.db_alias):
            custom = CustomSensitiveType.objects.create(
                key=_new_key(values["name"]), enabled=bool(enabled), **values
            )
    except IntegrityError as exc:  # a concurrent create of the same name
        raise ValidationError({"name": [_NAME_TAKEN]}) from exc
    audit.record(
        tenant,
        "dlp.custom_type_created",
        actor=actor,
        request=request,
        target=custom,
        details={"key": custom.key, "name": custom.name},
    )
    return custom


def update_custom_type(
    *, tenant: Tenant, custom: CustomSensitiveType, actor, request=None, **changes
) -> CustomSensitiveType:
    """Change a custom type; fields left out keep their values; the key never changes."""
    allowed = {
        "name",
        "regex",
        "keywords",
        "keywords_required",
        "min_count",
        "min_confidence",
        "enabled",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({sorted(unknown)[0]: ["Not a field of a sensitive type."]})
    current = {
        "name": custom.name,
        "regex": custom.regex,
        "keywords": custom.keywords,
        "keywords_required": custom.keywords_required,
        "min_count": custom.min_count,
        "min_confidence": custom.min_confidence,
    }
    enabled = changes.pop("enabled", custom.enabled)
    values = _clean(**(current | changes))
    if _name_taken(values["name"], exclude_pk=custom.pk):
        raise ValidationError({"name": [_NAME_TAKEN]})
    changed = sorted(k for k, v in values.items() if current[k] != v)
    if bool(enabled) != custom.enabled:
        changed.append("enabled")
    for field, value in values.items():
        setattr(custom, field, value)
    custom.enabled = bool(enabled)
    try:
        with transaction.atomic(using=tenant.db_alias):
            custom.save()
    except IntegrityError as exc:
        raise ValidationError({"name": [_NAME_TAKEN]}) from exc
    audit.record(
        tenant,
        "dlp.custom_type_changed",
        actor=actor,
        request=request,
        target=custom,
        details={"key": custom.key, "changed": changed},
    )
    return custom


def delete_custom_type(*, tenant: Tenant, custom: CustomSensitiveType, actor, request=None) -> None:
    """Delete a custom type. Matches already stored keep its key and label."""
    audit.record(
        tenant,
        "dlp.custom_type_deleted",
        actor=actor,
        request=request,
        target=custom,
        details={"key": custom.key, "name": custom.name},
    )
    custom.delete()


# --- Thresholds of built-in types ------------------------------------------------------------


def effective_thresholds(stored: dict | None = None) -> list[dict]:
    """Every built-in type with its defaults and the tenant's values (stored overrides win)."""
    if stored is None:
        settings = DlpSettings.objects.first()
        stored = settings.thresholds if settings else {}
    rows = []
    for kind in BUILTIN_TYPES:
        override = stored.get(kind.key) if isinstance(stored.get(kind.key), dict) else {}
        rows.append(
            {
                "key": kind.key,
                "label": kind.label,
                "default_min_count": kind.min_count,
                "default_min_confidence": kind.min_confidence,
                "enabled": bool(override.get("enabled", True)),
                "min_count": int(override.get("min_count", kind.min_count)),
                "min_confidence": int(override.get("min_confidence", kind.min_confidence)),
            }
        )
    return rows


def clean_thresholds(thresholds) -> dict:
    """{key: {"enabled", "min_count", "min_confidence"}} checked; only non-default entries
    are kept (a key left out keeps the type's defaults)."""
    if not isinstance(thresholds, dict):
        raise ValidationError({"thresholds": ["Give an object keyed by sensitive type."]})
    errors: dict[str, list[str]] = {}
    out: dict[str, dict] = {}
    for key, value in thresholds.items():
        kind = BUILTIN_BY_KEY.get(key)
        where = f"thresholds.{str(key)[:64]}"
        if kind is None:
            errors[where] = ["Not a built-in sensitive type."]
            continue
        if not isinstance(value, dict) or set(value) - {"enabled", "min_count", "min_confidence"}:
            errors[where] = ['Give {"enabled": bool, "min_count": n, "min_confidence": 1-3}.']
            continue
        enabled = value.get("enabled", True)
        count = value.get("min_count", kind.min_count)
        confidence = value.get("min_confidence", kind.min_confidence)
        if not isinstance(enabled, bool):
            errors[where] = ["enabled must be true or false."]
        elif isinstance(count, bool) or not isinstance(count, int):
            errors[where] = ["min_count must be a whole number."]
        elif not 1 <= count <= MAX_MIN_COUNT:
            errors[where] = [f"min_count must be from 1 to {MAX_MIN_COUNT}."]
        elif isinstance(confidence, bool) or confidence not in CONFIDENCE_NAMES:
            errors[where] = ["min_confidence must be 1 (low), 2 (medium) or 3 (high)."]
        elif (enabled, count, confidence) != (True, kind.min_count, kind.min_confidence):
            out[key] = {"enabled": enabled, "min_count": count, "min_confidence": confidence}
    if errors:
        raise ValidationError(errors)
    return out


def set_thresholds(*, tenant: Tenant, actor, request=None, thresholds) -> DlpSettings:
    """Replace the tenant's per-type thresholds (all of them: a type left out gets its
    defaults back)."""
    cleaned = clean_thresholds(thresholds)
    with transaction.atomic(using=tenant.db_alias):
        settings = DlpSettings.objects.select_for_update().first()
        if settings is None:
            settings = DlpSettings(thresholds={})
        before = settings.thresholds or {}
        settings.thresholds = cleaned
        settings.save()
    changed = sorted(k for k in set(before) | set(cleaned) if before.get(k) != cleaned.get(k))
    audit.record(
        tenant,
        "dlp.thresholds_changed",
        actor=actor,
        request=request,
        target=settings,
        details={"changed": changed},
    )
    return settings


# --- Try it ----------------------------------------------------------------------------------


def try_text(text: str) -> list[dict]:
    """What the tenant's engine finds in `text`, masked; nothing is stored or logged."""
    from .services import engine_for_tenant

    if len(text) > MAX_TRY_CHARS:
        raise ValidationError({"text": [f"At most {MAX_TRY_CHARS:,} characters."]})
    results = engine_for_tenant().scan(text)
    return [
        {
            "key": result.key,
            "label": result.label,
            "count": result.count,
            "confidence": result.confidence,
            "samples": [
                {
                    "start": m.start,
                    "end": m.end,
                    "evidence": m.evidence,
                    "context": m.context,
                    "confidence": m.confidence,
                }
                for m in result.matches
            ],
        }
        for result in sorted(results.values(), key=lambda r: (-r.count, r.key))
    ]
