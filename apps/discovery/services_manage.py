"""Managing what discovery found: app tags, score overrides, the score metric and the tenant's
anonymisation default (spec 5.6, 5.7, 5.9); custom apps are in `services_custom_apps`.

Writes take keyword arguments with an explicit actor (a user, an API token or a label) and the
request when there is one; every change is recorded in the tenant's audit log. Refusals raise
`DiscoveryRefused` naming the input at fault, before anything is written. Reads are in
`selectors_manage`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from apps.tenants import audit
from apps.tenants.scoping import current_tenant

from .catalog import apps as catalog_apps
from .catalog.attributes import DEFAULT_LEVEL, GROUPS, SCORED, WEIGHT_LEVELS
from .models import AppOverride, AppTag, AppTagging, CustomApp, TagKind
from .services import DiscoveryRefused, settings_for_tenant

CUSTOM_PREFIX = "custom-"
BUILTIN_KINDS = (TagKind.SANCTIONED, TagKind.UNSANCTIONED, TagKind.MONITORED)
# Tagging one of these removes the other: an app cannot be both.
_EXCLUSIVE = {
    TagKind.SANCTIONED: TagKind.UNSANCTIONED,
    TagKind.UNSANCTIONED: TagKind.SANCTIONED,
}
MAX_BULK = 500


# --- apps and domains ----------------------------------------------------------------------


@dataclass(frozen=True)
class AppRef:
    """An app a tenant can tag or score: a catalog app or one of the tenant's custom apps."""

    key: str
    name: str
    domains: tuple[str, ...]
    custom: bool


def app_ref(key: str) -> AppRef | None:
    """The app named by `key` (catalog slug or `custom-<uuid>`), None when there is none."""
    key = (key or "").strip()
    if key.startswith(CUSTOM_PREFIX):
        try:
            pk = uuid.UUID(key[len(CUSTOM_PREFIX) :])
        except ValueError:
            return None
        found = CustomApp.objects.filter(pk=pk).first()
        if found is None:
            return None
        return AppRef(found.key, found.name, tuple(found.domains), True)
    app = catalog_apps().get(key)
    if app is None:
        return None
    return AppRef(app.slug, app.name, app.domains, False)


def _need_app(key: str, field: str = "app") -> AppRef:
    found = app_ref(key)
    if found is None:
        raise DiscoveryRefused("No such app in the catalog or among your custom apps.", field)
    return found


# --- tags ----------------------------------------------------------------------------------


def builtin_tag(kind: str) -> AppTag:
    """The tenant's built-in tag of `kind` (made on first use)."""
    found = AppTag.objects.filter(kind=kind).first()
    if found is not None:
        return found
    label = TagKind(kind).label
    try:
        with transaction.atomic(using=current_tenant().db_alias):
            return AppTag.objects.create(name=label, kind=kind)
    except IntegrityError:  # made meanwhile, or a tag of that name exists
        found = AppTag.objects.filter(kind=kind).first() or AppTag.objects.get(name=label)
        if found.kind != kind:
            AppTag.objects.filter(pk=found.pk).update(kind=kind)
            found.kind = kind
        return found


def ensure_builtin_tags() -> None:
    """Make the built-in tags the tenant lacks (one query when it has them all)."""
    present = set(AppTag.objects.filter(kind__in=BUILTIN_KINDS).values_list("kind", flat=True))
    for kind in BUILTIN_KINDS:
        if kind not in present:
            builtin_tag(kind)


def tag_by_name(name: str, field: str = "tag") -> AppTag:
    """A tag by its name (any case), built-ins included; refused when there is none."""
    text = " ".join((name or "").split()).lower()
    for kind in BUILTIN_KINDS:
        if text in (kind.value, kind.label.lower()):
            return builtin_tag(kind)
    found = AppTag.objects.filter(name__iexact=text).first() if text else None
    if found is None:
        raise DiscoveryRefused("No such tag.", field)
    return found


def _clean_tag_name(name: str, *, exclude=None) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise DiscoveryRefused("Give the tag a name.", "name")
    if len(text) > 60:
        raise DiscoveryRefused("At most 60 characters.", "name")
    if not text.isprintable():
        raise DiscoveryRefused("The name may not hold control characters.", "name")
    reserved = {kind.label.lower() for kind in BUILTIN_KINDS}
    taken = AppTag.objects.filter(name__iexact=text)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if text.lower() in reserved or taken.exists():
        raise DiscoveryRefused("A tag with this name exists.", "name")
    return text


def create_tag(*, name: str, actor, request=None) -> AppTag:
    """A custom tag."""
    tenant = current_tenant()
    text = _clean_tag_name(name)
    with transaction.atomic(using=tenant.db_alias):
        tag = AppTag.objects.create(name=text, kind=TagKind.CUSTOM)
        audit.record(
            tenant,
            "discovery.tag_created",
            actor=actor,
            request=request,
            target=tag,
            details={"name": text},
        )
    return tag


def _need_custom(tag: AppTag) -> None:
    if tag.kind != TagKind.CUSTOM:
        raise DiscoveryRefused("Built-in tags cannot be renamed or deleted.", "tag")


def rename_tag(*, tag: AppTag, name: str, actor, request=None) -> AppTag:
    """A custom tag's new name (built-ins keep theirs)."""
    tenant = current_tenant()
    _need_custom(tag)
    text = _clean_tag_name(name, exclude=tag)
    old = tag.name
    with transaction.atomic(using=tenant.db_alias):
        tag.name = text
        tag.save(update_fields=["name"])
        audit.record(
            tenant,
            "discovery.tag_renamed",
            actor=actor,
            request=request,
            target=tag,
            details={"from": old, "to": text},
        )
    return tag


def delete_tag(*, tag: AppTag, actor, request=None) -> None:
    """Delete a custom tag and take it off every app."""
    tenant = current_tenant()
    _need_custom(tag)
    with transaction.atomic(using=tenant.db_alias):
        count = AppTagging.objects.filter(tag=tag).count()
        audit.record(
            tenant,
            "discovery.tag_deleted",
            actor=actor,
            request=request,
            target=tag,
            details={"name": tag.name, "apps": count},
        )
        tag.delete()


def _tag_one(app: AppRef, tag: AppTag) -> tuple[bool, list[str]]:
    """Put `tag` on `app`; (added, names of tags it replaced)."""
    removed: list[str] = []
    other = _EXCLUSIVE.get(tag.kind)
    if other is not None:
        gone = AppTagging.objects.filter(app=app.key, tag__kind=other)
        removed = list(gone.values_list("tag__name", flat=True))
        gone.delete()
    if AppTagging.objects.filter(app=app.key, tag=tag).exists():
        return False, removed
    AppTagging.objects.create(app=app.key, tag=tag)
    return True, removed


def tag_app(*, app: str, tag: AppTag, actor, request=None) -> bool:
    """Tag one app (sanctioning removes "unsanctioned" and the reverse); False if it had it."""
    tenant = current_tenant()
    ref = _need_app(app)
    with transaction.atomic(using=tenant.db_alias):
        added, removed = _tag_one(ref, tag)
        if added or removed:
            audit.record(
                tenant,
                "discovery.app_tagged",
                actor=actor,
                request=request,
                target=tag,
                details={"app": ref.key, "tag": tag.name, "replaced": removed},
            )
    return added


def untag_app(*, app: str, tag: AppTag, actor, request=None) -> bool:
    """Take `tag` off one app; False if it did not have it."""
    tenant = current_tenant()
    ref = _need_app(app)
    with transaction.atomic(using=tenant.db_alias):
        deleted, _ = AppTagging.objects.filter(app=ref.key, tag=tag).delete()
        if deleted:
            audit.record(
                tenant,
                "discovery.app_untagged",
                actor=actor,
                request=request,
                target=tag,
                details={"app": ref.key, "tag": tag.name},
            )
    return bool(deleted)


def tag_apps(*, apps: list[str], tag: AppTag, actor, request=None) -> int:
    """Tag many apps at once (all or none: one unknown app refuses the lot); how many gained
    the tag."""
    tenant = current_tenant()
    keys = list(dict.fromkeys(key.strip() for key in apps if key and key.strip()))
    if not keys:
        raise DiscoveryRefused("Choose at least one app.", "apps")
    if len(keys) > MAX_BULK:
        raise DiscoveryRefused(f"At most {MAX_BULK} apps at once.", "apps")
    refs = []
    for key in keys:
        ref = app_ref(key)
        if ref is None:
            raise DiscoveryRefused(f"No such app: {key[:64]}.", "apps")
        refs.append(ref)
    with transaction.atomic(using=tenant.db_alias):
        added = [ref.key for ref in refs if _tag_one(ref, tag)[0]]
        audit.record(
            tenant,
            "discovery.apps_tagged",
            actor=actor,
            request=request,
            target=tag,
            details={"tag": tag.name, "apps": [ref.key for ref in refs], "added": len(added)},
        )
    return len(added)


# --- score overrides -----------------------------------------------------------------------


def clean_score(value) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DiscoveryRefused("Enter a score from 0 to 10.", "score") from None
    if not number.is_finite() or number < 0 or number > 10:
        raise DiscoveryRefused("Enter a score from 0 to 10.", "score")
    return number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def set_override(*, app: str, score, note: str = "", actor, request=None) -> AppOverride:
    """The tenant's own score (0-10, one decimal) and note for one app."""
    tenant = current_tenant()
    ref = _need_app(app)
    number = clean_score(score)
    note = (note or "").strip()
    if len(note) > 2000:
        raise DiscoveryRefused("At most 2000 characters.", "note")
    with transaction.atomic(using=tenant.db_alias):
        found, _ = AppOverride.objects.update_or_create(
            app=ref.key, defaults={"score": number, "note": note}
        )
        audit.record(
            tenant,
            "discovery.score_overridden",
            actor=actor,
            request=request,
            target=found,
            details={"app": ref.key, "score": str(number), "note": note},
        )
    return found


def clear_override(*, app: str, actor, request=None) -> bool:
    """Back to the computed score; False if the app had no override."""
    tenant = current_tenant()
    ref = _need_app(app)
    with transaction.atomic(using=tenant.db_alias):
        deleted, _ = AppOverride.objects.filter(app=ref.key).delete()
        if deleted:
            audit.record(
                tenant,
                "discovery.score_override_cleared",
                actor=actor,
                request=request,
                details={"app": ref.key},
            )
    return bool(deleted)


# --- settings: score metric and anonymisation default --------------------------------------


def _levels(values: dict, allowed, field: str) -> dict:
    if not isinstance(values, dict):
        raise DiscoveryRefused("Expected an object of name: level.", field)
    cleaned = {}
    for key, level in values.items():
        if key not in allowed:
            raise DiscoveryRefused(f"Unknown name {str(key)[:60]!r}.", field)
        if isinstance(level, bool) or not isinstance(level, int) or level not in WEIGHT_LEVELS:
            raise DiscoveryRefused(f"{key}: a level is 0 (ignored) to 4 (very high).", field)
        if level != DEFAULT_LEVEL:  # only what differs from the default is stored
            cleaned[key] = level
    return cleaned


def update_score_metric(
    *,
    actor,
    request=None,
    group_weights: dict | None = None,
    attribute_weights: dict | None = None,
    na_negative: bool | None = None,
):
    """Change the score metric; arguments left as None keep their value. A weight map given
    replaces the stored one (absent names go back to medium)."""
    tenant = current_tenant()
    groups = None if group_weights is None else _levels(group_weights, GROUPS, "group_weights")
    attributes = None
    if attribute_weights is not None:
        keys = {attribute.key for attribute in SCORED}
        attributes = _levels(attribute_weights, keys, "attribute_weights")
    if groups is not None and all(groups.get(g, DEFAULT_LEVEL) == 0 for g in GROUPS):
        raise DiscoveryRefused("At least one group must count.", "group_weights")
    row = settings_for_tenant()
    changes = {}
    if groups is not None and groups != row.group_weights:
        changes["group_weights"] = groups
    if attributes is not None and attributes != row.attribute_weights:
        changes["attribute_weights"] = attributes
    if na_negative is not None and bool(na_negative) != row.na_negative:
        changes["na_negative"] = bool(na_negative)
    if not changes:
        return row
    with transaction.atomic(using=tenant.db_alias):
        for name, value in changes.items():
            setattr(row, name, value)
        row.save(update_fields=[*changes, "updated_at"])
        audit.record(
            tenant,
            "discovery.score_metric_changed",
            actor=actor,
            request=request,
            target=row,
            details=changes,
        )
    return row


def set_anonymize_default(*, enabled: bool, actor, request=None):
    """Anonymise usernames in new snapshot reports and data sources by default (or not)."""
    tenant = current_tenant()
    row = settings_for_tenant()
    if row.anonymize_by_default == bool(enabled):
        return row
    with transaction.atomic(using=tenant.db_alias):
        row.anonymize_by_default = bool(enabled)
        row.save(update_fields=["anonymize_by_default", "updated_at"])
        audit.record(
            tenant,
            "discovery.anonymize_default_changed",
            actor=actor,
            request=request,
            target=row,
            details={"anonymize_by_default": row.anonymize_by_default},
        )
    return row
