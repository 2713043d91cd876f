"""Writes of the scoped deployment rules and the activity-privacy groups (spec 9.1 and 1.6).

Called by the settings page and by /api/v1/privacy/scope-rules/ and activity-privacy/, inside
the tenant's context. Rules enforced here whichever caller:
- a group is a `UserGroup` id of this tenant or a built-in key (`apps.compliance.scope`); an
  app is an `AppInstance` id of this tenant, optionally `:<sub-app>` for a known Microsoft 365
  workload of a Microsoft 365 app. Anything else is refused naming the value; another tenant's
  group or app is just as unknown (its existence is not confirmed);
- a rule names at least one group; no apps means every connected app;
- every change is audited with ids only (never a monitored person's identity).

A change applies to activities ingested from then on: stored activities are not rewritten
(an activity dropped as out of scope was never stored; one stored private stays private).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import UserGroup
from apps.connectors.models import AppInstance, Vendor
from apps.tenants import audit
from apps.tenants.models import Tenant

from .models import PrivacySettings, ScopeRule, ScopeRuleKind
from .scope import BUILTIN_GROUPS, M365_SUB_APPS

MAX_GROUPS = 200
MAX_APPS = 100
MAX_NAME = 120


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def _texts(values, field: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError({field: ["Give a list."]})
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationError({field: [f"“{str(value)[:60]}” is not text."]})
        value = value.strip()
        if value and value not in out:
            out.append(value)
    return out


def clean_groups(values, *, field: str = "groups", required: bool = True) -> list[str]:
    """Group keys of the current tenant, deduplicated, in order; unknown ones are named."""
    keys = _texts(values, field)
    if required and not keys:
        raise ValidationError({field: ["Choose at least one group."]})
    if len(keys) > MAX_GROUPS:
        raise ValidationError({field: [f"At most {MAX_GROUPS} groups."]})
    ids = {key: _as_uuid(key) for key in keys if key not in BUILTIN_GROUPS}
    known = {
        str(pk)
        for pk in UserGroup.objects.filter(
            pk__in=[pk for pk in ids.values() if pk is not None]
        ).values_list("pk", flat=True)
    }
    unknown = [key for key, pk in ids.items() if pk is None or str(pk) not in known]
    if unknown:
        raise ValidationError({field: [f"Unknown group “{key[:80]}”." for key in unknown[:10]]})
    # Deduplicated again once normalised: the same id may come in two spellings.
    return list(dict.fromkeys(key if key in BUILTIN_GROUPS else str(ids[key]) for key in keys))


def clean_apps(values, *, field: str = "apps") -> list[str]:
    """App keys of the current tenant (id or id:sub-app), deduplicated; unknown ones are named."""
    keys = _texts(values, field)
    if len(keys) > MAX_APPS:
        raise ValidationError({field: [f"At most {MAX_APPS} apps."]})
    parsed = {}
    for key in keys:
        app, _, sub = key.partition(":")
        parsed[key] = (_as_uuid(app), sub)
    vendors = {
        pk: vendor
        for pk, vendor in AppInstance.objects.filter(
            pk__in=[pk for pk, _ in parsed.values() if pk is not None]
        ).values_list("pk", "vendor")
    }
    errors, out = [], []
    for key, (pk, sub) in parsed.items():
        if pk is None or pk not in vendors:
            errors.append(f"Unknown app “{key[:80]}”.")
        elif sub and (vendors[pk] != Vendor.OFFICE365 or sub not in M365_SUB_APPS):
            errors.append(
                f"Unknown sub-app “{sub[:60]}” of app {pk} (known for Microsoft 365: "
                + ", ".join(M365_SUB_APPS)
                + ")."
            )
        else:
            normal = f"{pk}:{sub}" if sub else str(pk)
            if normal not in out:
                out.append(normal)
    if errors:
        raise ValidationError({field: errors[:10]})
    return out


def _clean_rule(*, name, kind, groups, apps) -> dict:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["Give the rule a name."]
    elif len(name.strip()) > MAX_NAME:
        errors["name"] = [f"At most {MAX_NAME} characters."]
    if kind not in ScopeRuleKind.values:
        errors["kind"] = ["Choose include or exclude."]
    fields = {}
    for key, clean in (("groups", clean_groups), ("apps", clean_apps)):
        try:
            fields[key] = clean(groups if key == "groups" else apps)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return {"name": name.strip(), "kind": kind, **fields}


def _details(rule: ScopeRule) -> dict:
    return {"name": rule.name, "kind": rule.kind, "groups": rule.groups, "apps": rule.apps}


def create_rule(
    *,
    tenant: Tenant,
    actor,
    name: str,
    kind: str,
    groups: Iterable[str],
    apps: Iterable[str] = (),
    request=None,
) -> ScopeRule:
    """Add an include or exclude rule (inside `tenant_context(tenant)`)."""
    fields = _clean_rule(name=name, kind=kind, groups=groups, apps=apps)
    with transaction.atomic(using=tenant.db_alias):
        rule = ScopeRule.objects.create(**fields)
        audit.record(
            tenant,
            "scope.rule_created",
            actor=actor,
            request=request,
            target=rule,
            details=_details(rule),
        )
    return rule


def update_rule(*, tenant: Tenant, rule: ScopeRule, actor, request=None, **changes) -> ScopeRule:
    """Change a rule's name, kind, groups and/or apps (those given)."""
    unknown = set(changes) - {"name", "kind", "groups", "apps"}
    if unknown:
        raise TypeError(f"update_rule() got unexpected fields {sorted(unknown)}")
    current = {**_details(rule), **changes}
    fields = _clean_rule(**current)
    before = _details(rule)
    with transaction.atomic(using=tenant.db_alias):
        for key, value in fields.items():
            setattr(rule, key, value)
        rule.save()
        audit.record(
            tenant,
            "scope.rule_changed",
            actor=actor,
            request=request,
            target=rule,
            details={"before": before, "after": _details(rule)},
        )
    return rule


def delete_rule(*, tenant: Tenant, rule: ScopeRule, actor, request=None) -> None:
    """Remove a rule: its groups' activities are ingested again from now on (not the past)."""
    details = _details(rule)
    with transaction.atomic(using=tenant.db_alias):
        audit.record(
            tenant,
            "scope.rule_deleted",
            actor=actor,
            request=request,
            target=rule,
            details=details,
        )
        rule.delete()


def set_private_groups(
    *, tenant: Tenant, actor, groups: Iterable[str], request=None
) -> PrivacySettings:
    """Replace the activity-privacy groups: members' activities are private from now on."""
    keys = clean_groups(groups, field="private_groups", required=False)
    with transaction.atomic(using=tenant.db_alias):
        settings, _ = PrivacySettings.objects.select_for_update().get_or_create()
        before = list(settings.private_groups or [])
        settings.private_groups = keys
        settings.save()
        audit.record(
            tenant,
            "scope.privacy_groups_changed",
            actor=actor,
            request=request,
            target=settings,
            details={"before": before, "after": keys},
        )
    return settings
