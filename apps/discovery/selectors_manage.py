"""Reads of discovery management, shared by the pages, the API, the reports and the block
scripts: tags with their counts, the tags and scores of many apps at once (one or two queries
for a whole table), and the apps carrying a built-in tag."""

from __future__ import annotations

from collections import Counter

from .catalog import apps as catalog_apps
from .catalog.scoring import Score, Weights, score
from .models import AppOverride, AppTag, AppTagging
from .services import settings_for_tenant
from .services_manage import BUILTIN_KINDS, ensure_builtin_tags


def tags_with_counts() -> list[AppTag]:
    """Every tag (built-ins first made if missing), each with `.app_count`; two queries."""
    ensure_builtin_tags()
    counts = Counter(AppTagging.objects.values_list("tag_id", flat=True))
    tags = list(AppTag.objects.all())
    order = {kind: n for n, kind in enumerate(BUILTIN_KINDS)}
    tags.sort(key=lambda tag: (order.get(tag.kind, len(order)), tag.name.lower()))
    for tag in tags:
        tag.app_count = counts.get(tag.pk, 0)
    return tags


def tags_of(app: str) -> list[AppTag]:
    return list(AppTag.objects.filter(taggings__app=app).order_by("name"))


def apps_with_kind(kind: str) -> list[str]:
    """Keys of the apps carrying the built-in tag `kind`."""
    return list(
        AppTagging.objects.filter(tag__kind=kind).order_by("app").values_list("app", flat=True)
    )


def tags_by_app(keys: list[str]) -> dict[str, list[AppTag]]:
    """The tags of many apps (a table's rows) in one query: key -> tags by name."""
    found: dict[str, list[AppTag]] = {key: [] for key in keys}
    rows = AppTagging.objects.filter(app__in=keys).select_related("tag").order_by("tag__name")
    for row in rows:
        found[row.app].append(row.tag)
    return found


def scores_for(keys: list[str]) -> dict[str, Score]:
    """The risk score of many apps under the tenant's metric, overrides applied (two queries).
    Custom apps have no catalog attributes: unscored unless overridden."""
    weights = Weights.of(settings_for_tenant())
    overrides = dict(
        AppOverride.objects.filter(app__in=keys, score__isnull=False).values_list("app", "score")
    )
    catalog = catalog_apps()
    result = {}
    for key in keys:
        app = catalog.get(key)
        attributes = app.attributes if app is not None else {}
        result[key] = score(attributes, weights, override=overrides.get(key))
    return result
