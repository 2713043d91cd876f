"""What the report pages show, built from the SQL totals of `selectors.py` and what the tenant
knows about each app: the catalog (in memory), its custom apps, tags, score overrides and score
metric weights (`Knowledge`, five small queries per page).

Rows are plain dataclasses so the console, the CSV exports and the API present the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from . import selectors
from .anonymize import is_pseudonym
from .catalog import CatalogApp, apps
from .catalog.attributes import CATEGORIES
from .catalog.scoring import Score, Weights, score
from .models import (
    UNRECOGNISED,
    AppOverride,
    AppTag,
    AppTagging,
    CustomApp,
    DiscoverySettings,
    TagKind,
)
from .selectors import AppTotal, EntityTotal, Scope

TOP = 10
BUILT_IN = (TagKind.SANCTIONED, TagKind.UNSANCTIONED, TagKind.MONITORED)


@dataclass
class Knowledge:
    """The tenant's view of the apps: custom apps, tags, overrides and score weights."""

    custom: dict[str, CatalogApp]
    tags: dict[str, list[AppTag]]  # app key -> tags
    all_tags: list[AppTag]
    overrides: dict[str, AppOverride]
    weights: Weights
    _scores: dict[str, Score] = field(default_factory=dict)

    def app(self, key: str) -> CatalogApp | None:
        """The catalog or custom app of `key`, None for an unknown key."""
        return self.custom.get(key) or apps().get(key)

    def score(self, key: str) -> Score:
        """The app's score under the tenant's weights, or its override."""
        found = self._scores.get(key)
        if found is None:
            app = self.app(key)
            override = self.overrides.get(key)
            found = score(
                app.attributes if app else {},
                self.weights,
                override=override.score if override is not None else None,
            )
            self._scores[key] = found
        return found

    def tag_kinds(self, key: str) -> set[str]:
        return {tag.kind for tag in self.tags.get(key, ())}

    def keys_tagged(self, kind: str) -> set[str]:
        return {key for key, tags in self.tags.items() if any(t.kind == kind for t in tags)}


def custom_app(row: CustomApp) -> CatalogApp:
    """A tenant's custom app in the catalog's shape (no attributes: unscored unless overridden)."""
    return CatalogApp(
        slug=row.key,
        name=row.name,
        category=row.category if row.category in CATEGORIES else "unclassified",
        domains=tuple(row.domains or ()),
        custom=True,
    )


def knowledge() -> Knowledge:
    """Load what the tenant knows about apps (five queries, none of them per app)."""
    custom = {row.key: custom_app(row) for row in CustomApp.objects.all()}
    all_tags = list(AppTag.objects.order_by("name"))
    by_id = {tag.pk: tag for tag in all_tags}
    tags: dict[str, list[AppTag]] = defaultdict(list)
    for app, tag_id in AppTagging.objects.values_list("app", "tag_id"):
        if tag_id in by_id:
            tags[app].append(by_id[tag_id])
    overrides = {row.app: row for row in AppOverride.objects.all()}
    # Read-only: a tenant with no settings row yet has the defaults (no row is written here).
    weights = Weights.of(DiscoverySettings.objects.first())
    return Knowledge(custom, dict(tags), all_tags, overrides, weights)


@dataclass
class AppRow:
    """One discovered app with its traffic, score and tags."""

    key: str
    name: str
    category: str
    custom: bool
    catalog_domains: tuple[str, ...]
    score: Score
    tags: list[AppTag]
    totals: AppTotal

    @property
    def category_label(self) -> str:
        return CATEGORIES.get(self.category, self.category)

    @property
    def traffic(self) -> int:
        return self.totals.traffic

    @property
    def bytes_up(self) -> int:
        return self.totals.bytes_up

    @property
    def bytes_down(self) -> int:
        return self.totals.bytes_down

    @property
    def transactions(self) -> int:
        return self.totals.transactions

    @property
    def users(self) -> int:
        return self.totals.users

    @property
    def ips(self) -> int:
        return self.totals.ips

    @property
    def last_seen(self) -> date | None:
        return self.totals.last_seen

    @property
    def blocked(self) -> int:
        return self.totals.blocked

    @property
    def tag_kinds(self) -> set[str]:
        return {tag.kind for tag in self.tags}

    @property
    def status(self) -> str:
        """sanctioned / unsanctioned / other: how the dashboard splits apps."""
        kinds = self.tag_kinds
        if TagKind.SANCTIONED in kinds:
            return "sanctioned"
        if TagKind.UNSANCTIONED in kinds:
            return "unsanctioned"
        return "other"

    @property
    def score_percent(self) -> int:
        return int((self.score.total or 0) * 10)


def app_row(key: str, totals: AppTotal, known: Knowledge) -> AppRow:
    app = known.app(key)
    return AppRow(
        key=key,
        # An app that left the catalog (or a deleted custom app) still shows its traffic.
        name=app.name if app else key,
        category=app.category if app else "unclassified",
        custom=bool(app and app.custom),
        catalog_domains=app.domains if app else (),
        score=known.score(key),
        tags=list(known.tags.get(key, ())),
        totals=totals,
    )


def app_rows(totals: dict[str, AppTotal], known: Knowledge) -> list[AppRow]:
    """Every recognised app of the scope, busiest first (unrecognised traffic left out)."""
    rows = [app_row(key, total, known) for key, total in totals.items() if key != UNRECOGNISED]
    return sorted(rows, key=lambda r: (-r.traffic, r.name.lower()))


@dataclass
class EntityRow:
    """One user or source address, with whether it used sanctioned or unsanctioned apps."""

    entity: EntityTotal
    sanctioned: bool
    unsanctioned: bool

    @property
    def name(self) -> str:
        return self.entity.name

    @property
    def pseudonymised(self) -> bool:
        return is_pseudonym(self.entity.name)

    @property
    def app_count(self) -> int:
        return len(self.entity.apps - {UNRECOGNISED})

    @property
    def traffic(self) -> int:
        return self.entity.traffic

    @property
    def bytes_up(self) -> int:
        return self.entity.bytes_up

    @property
    def bytes_down(self) -> int:
        return self.entity.bytes_down

    @property
    def transactions(self) -> int:
        return self.entity.transactions

    @property
    def last_seen(self) -> date | None:
        return self.entity.last_seen


def entity_rows(entities: list[EntityTotal], known: Knowledge) -> list[EntityRow]:
    sanctioned = known.keys_tagged(TagKind.SANCTIONED)
    unsanctioned = known.keys_tagged(TagKind.UNSANCTIONED)
    return [EntityRow(e, bool(e.apps & sanctioned), bool(e.apps & unsanctioned)) for e in entities]


# --- Dashboard and executive summary ----------------------------------------------------------


@dataclass
class Totals:
    """The dashboard's headline numbers over a scope."""

    apps: int
    users: int
    ips: int
    bytes_up: int
    bytes_down: int
    transactions: int
    unrecognised_domains: int
    unrecognised_traffic: int

    @property
    def traffic(self) -> int:
        return self.bytes_up + self.bytes_down


def totals(scope: Scope, all_totals: dict[str, AppTotal]) -> Totals:
    overall = selectors.overall(scope)
    other = all_totals.get(UNRECOGNISED)
    return Totals(
        apps=sum(1 for key in all_totals if key != UNRECOGNISED),
        users=overall.users,
        ips=overall.ips,
        bytes_up=sum(t.bytes_up for t in all_totals.values()),
        bytes_down=sum(t.bytes_down for t in all_totals.values()),
        transactions=sum(t.transactions for t in all_totals.values()),
        unrecognised_domains=len(other.domains) if other else 0,
        unrecognised_traffic=other.traffic if other else 0,
    )


def categories(rows: list[AppRow]) -> list[dict]:
    """Per category: apps, traffic, users and traffic split sanctioned/unsanctioned/other."""
    found: dict[str, dict] = {}
    for row in rows:
        entry = found.setdefault(
            row.category,
            {
                "category": row.category,
                "label": row.category_label,
                "apps": 0,
                "traffic": 0,
                "users": 0,
                "sanctioned": 0,
                "unsanctioned": 0,
                "other": 0,
            },
        )
        entry["apps"] += 1
        entry["traffic"] += row.traffic
        entry["users"] += row.users
        entry[row.status] += row.traffic
    return sorted(found.values(), key=lambda e: (-e["traffic"], e["label"]))


def risk_levels(rows: list[AppRow]) -> dict[str, dict]:
    """Traffic and app count per risk level (high / medium / low / unscored)."""
    levels = {name: {"apps": 0, "traffic": 0} for name in ("high", "medium", "low", "unscored")}
    for row in rows:
        levels[row.score.level]["apps"] += 1
        levels[row.score.level]["traffic"] += row.traffic
    return levels


def by_category(rows: list[AppRow], per: int = 3, limit: int = 6) -> list[dict]:
    """The busiest categories, each with its busiest apps."""
    grouped: dict[str, list[AppRow]] = defaultdict(list)
    for row in rows:  # rows are busiest first already
        grouped[row.category].append(row)
    ordered = sorted(grouped.values(), key=lambda apps_: -sum(r.traffic for r in apps_))
    return [
        {
            "label": group[0].category_label,
            "traffic": sum(r.traffic for r in group),
            "apps": group[:per],
            "count": len(group),
        }
        for group in ordered[:limit]
    ]
