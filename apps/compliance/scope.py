"""Scoped deployment and activity privacy: who is monitored in which app (spec 9.1 and 1.6).

The decision, read by ingestion (`apps.activities.ingestion`) once per `ingest()` call and by the
settings page's summary. Rules (`ScopeRule`) name user groups and apps:

- Groups are `UserGroup` ids (as strings) and two built-in keys: `builtin:external` (people
  marked external, `CloudUser.is_external`) and `builtin:application` (activities with no person
  behind them: an app or service principal, or no actor at all). A person's groups are the union
  of the groups of all their accounts, in every connected app.
- Apps are app keys: an `AppInstance` id, or `<AppInstance id>:<sub-app>` where the sub-app
  comes from the event (Microsoft 365: the audit record's `Workload`, e.g. `PowerBI`). A rule
  with no app applies to every connected app; a rule naming an app covers all its sub-apps.
- Exclude rules win: an activity whose person is in a group of any exclude rule covering the
  activity's app (or sub-app) is out of scope.
- Include rules: of those covering the activity, only the most specific are considered - rules
  naming its sub-app, else rules naming its app, else rules for all apps. If any are considered
  and the person is in none of their groups, the activity is out of scope.
- Apps with no rule are monitored for everyone.

Out-of-scope activities are dropped before they are written: neither stored nor evaluated by
policies (ingestion counts them). Accounts, files and groups are still synced (spec 9.1).

Activity privacy: activities of people in one of `PrivacySettings.private_groups` are stored
with `is_private=True`, from the moment the group is added (earlier activities are unchanged).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from apps.accounts.models import CloudUser, GroupMembership

BUILTIN_EXTERNAL = "builtin:external"
BUILTIN_APPLICATION = "builtin:application"
BUILTIN_GROUPS = {
    BUILTIN_EXTERNAL: "External users",
    BUILTIN_APPLICATION: "Application (no person behind the activity)",
}

# Microsoft 365 workloads (the audit record's `Workload`) offered as sub-apps on the page.
M365_SUB_APPS = {
    "AzureActiveDirectory": "Microsoft Entra ID",
    "Exchange": "Exchange Online",
    "SharePoint": "SharePoint Online",
    "OneDrive": "OneDrive for Business",
    "MicrosoftTeams": "Microsoft Teams",
    "PowerBI": "Power BI",
    "Yammer": "Viva Engage (Yammer)",
    "MicrosoftForms": "Microsoft Forms",
    "MicrosoftStream": "Microsoft Stream",
    "PowerApps": "Power Apps",
    "MicrosoftFlow": "Power Automate",
    "Dynamics365": "Dynamics 365",
    "SecurityComplianceCenter": "Security & Compliance Center",
}
SUB_APP_FIELD = "Workload"  # where an event's raw record names its sub-app

# People remembered per ingestion call; cleared when full so memory stays bounded.
_CACHE_LIMIT = 200_000


def sub_app_of(raw) -> str:
    """The sub-app an event's raw record names ("" if none)."""
    if isinstance(raw, dict):
        value = raw.get(SUB_APP_FIELD)
        if isinstance(value, str):
            return value
    return ""


@dataclass(frozen=True)
class Rule:
    """One scope rule, as the decision reads it."""

    name: str
    include: bool
    groups: frozenset[str]
    apps: frozenset[str]


def _covers(rule: Rule, app_id: str) -> bool:
    """Whether `rule` applies to app `app_id` or any of its sub-apps."""
    if not rule.apps:
        return True
    prefix = f"{app_id}:"
    return any(key == app_id or key.startswith(prefix) for key in rule.apps)


@dataclass(frozen=True)
class AppScope:
    """The rules of one app, sorted for the per-activity decision."""

    excludes_app: tuple[frozenset[str], ...]  # groups of excludes covering the whole app
    excludes_sub: dict[str, tuple[frozenset[str], ...]]  # sub-app -> groups of excludes
    includes_sub: dict[str, frozenset[str]]  # sub-app -> union of groups of includes naming it
    includes_app: frozenset[str] | None  # includes naming the app (None: there are none)
    includes_all: frozenset[str] | None  # includes for all apps (None: there are none)

    @property
    def unrestricted(self) -> bool:
        return not (
            self.excludes_app
            or self.excludes_sub
            or self.includes_sub
            or self.includes_app is not None
            or self.includes_all is not None
        )

    @property
    def needs_sub_app(self) -> bool:
        return bool(self.excludes_sub or self.includes_sub)

    def monitored(self, groups: frozenset[str] | set[str], sub_app: str = "") -> bool:
        """Whether an activity in this app (and `sub_app`) of someone in `groups` is in scope."""
        for excluded in self.excludes_app:
            if not groups.isdisjoint(excluded):
                return False
        if sub_app and self.excludes_sub:
            for excluded in self.excludes_sub.get(sub_app, ()):
                if not groups.isdisjoint(excluded):
                    return False
        considered = self.includes_sub.get(sub_app) if sub_app else None
        if considered is None:
            considered = self.includes_app if self.includes_app is not None else self.includes_all
        return considered is None or not groups.isdisjoint(considered)


class ScopeDecision:
    """Rules and privacy groups of one tenant: `for_app()`, `monitored()`, `is_private()`."""

    def __init__(self, rules: Iterable[Rule], private_groups: Iterable[str] = ()):
        self.rules = list(rules)
        self.private_groups = frozenset(str(g) for g in private_groups)
        self._apps: dict[str, AppScope] = {}

    @classmethod
    def load(cls, tenant) -> ScopeDecision:
        """The tenant's current rules and privacy groups (call inside its tenant context)."""
        from .models import PrivacySettings, ScopeRule, ScopeRuleKind

        rules = [
            Rule(
                name=name,
                include=kind == ScopeRuleKind.INCLUDE,
                groups=frozenset(str(g) for g in groups or []),
                apps=frozenset(str(a) for a in apps or []),
            )
            for name, kind, groups, apps in ScopeRule.objects.values_list(
                "name", "kind", "groups", "apps"
            )
        ]
        private = PrivacySettings.objects.values_list("private_groups", flat=True).first() or []
        return cls(rules, private)

    def for_app(self, app_id) -> AppScope:
        app_id = str(app_id)
        scope = self._apps.get(app_id)
        if scope is None:
            scope = self._apps[app_id] = self._build(app_id)
        return scope

    def _build(self, app_id: str) -> AppScope:
        excludes_app: list[frozenset[str]] = []
        excludes_sub: dict[str, list[frozenset[str]]] = {}
        includes_sub: dict[str, set[str]] = {}
        includes_app: set[str] | None = None
        includes_all: set[str] | None = None
        prefix = f"{app_id}:"
        for rule in self.rules:
            if not rule.apps:
                if rule.include:
                    includes_all = (includes_all or set()) | rule.groups
                else:
                    excludes_app.append(rule.groups)
                continue
            for key in rule.apps:
                if key == app_id:
                    if rule.include:
                        includes_app = (includes_app or set()) | rule.groups
                    else:
                        excludes_app.append(rule.groups)
                elif key.startswith(prefix):
                    sub = key[len(prefix) :]
                    if rule.include:
                        includes_sub.setdefault(sub, set()).update(rule.groups)
                    else:
                        excludes_sub.setdefault(sub, []).append(rule.groups)
        return AppScope(
            excludes_app=tuple(excludes_app),
            excludes_sub={sub: tuple(groups) for sub, groups in excludes_sub.items()},
            includes_sub={sub: frozenset(groups) for sub, groups in includes_sub.items()},
            includes_app=None if includes_app is None else frozenset(includes_app),
            includes_all=None if includes_all is None else frozenset(includes_all),
        )

    def monitored(self, app_id, groups: Iterable[str], sub_app: str = "") -> bool:
        """Whether an activity of someone in `groups` in app `app_id` (sub-app) is in scope."""
        return self.for_app(app_id).monitored(frozenset(groups), sub_app)

    def is_private(self, groups: Iterable[str]) -> bool:
        return bool(self.private_groups) and not self.private_groups.isdisjoint(groups)

    def groups_for_app(self, app_id) -> frozenset[str]:
        """Every group a decision about app `app_id` may look at (rules covering it, privacy)."""
        app_id = str(app_id)
        wanted = set(self.private_groups)
        for rule in self.rules:
            if _covers(rule, app_id):
                wanted |= rule.groups
        return frozenset(wanted)


class IngestionScope:
    """The decision for one `ingest()` call of one app, with a memory of people's groups.

    `filter(rows, ...)` returns the rows to write and marks private ones; it reads the groups of
    people not seen before in this call with one or two queries per chunk, never per event.
    """

    def __init__(self, decision: ScopeDecision, app_id):
        self.app = decision.for_app(app_id)
        self.decision = decision
        self.relevant = decision.groups_for_app(app_id)
        self.private = bool(decision.private_groups)
        # Nothing to decide: every activity is stored, none private (the common, fast case).
        self.active = not self.app.unrestricted or self.private
        self.needs_sub_app = self.app.needs_sub_app
        self._group_ids = [g for g in self.relevant if _is_uuid(g)]
        self._external = BUILTIN_EXTERNAL in self.relevant
        self._cache: dict[tuple[str, uuid.UUID] | None, frozenset[str]] = {
            None: frozenset({BUILTIN_APPLICATION})
        }

    def filter(
        self,
        rows: list[list],
        *,
        account_at: int,
        user_at: int,
        private_at: int,
        sub_apps: Sequence[str] | None = None,
    ) -> list[list]:
        """The rows in scope (each private one's `row[private_at]` set True)."""
        keys = [_person_key(row[user_at], row[account_at]) for row in rows]
        self._learn({key for key in keys if key not in self._cache})
        cache, app, is_private = self._cache, self.app, self.decision.is_private
        kept = []
        for index, (row, key) in enumerate(zip(rows, keys, strict=True)):
            groups = cache[key]
            sub_app = sub_apps[index] if sub_apps else ""
            if not app.monitored(groups, sub_app):
                continue
            if self.private and is_private(groups):
                row[private_at] = True
            kept.append(row)
        return kept

    def _learn(self, keys: set) -> None:
        """Read the groups of these people (user keys) and person-less accounts."""
        if not keys:
            return
        if len(self._cache) + len(keys) > _CACHE_LIMIT:
            self._cache = {None: self._cache[None]}
        found: dict = {key: set() for key in keys}
        users = [pk for kind, pk in keys if kind == "u"]
        accounts = [pk for kind, pk in keys if kind == "a"]
        for _kind, pk in keys:
            if _kind == "a":
                found[("a", pk)].add(BUILTIN_APPLICATION)
        if self._group_ids:
            if users:
                for user_id, group_id in GroupMembership.objects.filter(
                    group_id__in=self._group_ids, account__user_id__in=users
                ).values_list("account__user_id", "group_id"):
                    found[("u", user_id)].add(str(group_id))
            if accounts:
                for account_id, group_id in GroupMembership.objects.filter(
                    group_id__in=self._group_ids, account_id__in=accounts
                ).values_list("account_id", "group_id"):
                    found[("a", account_id)].add(str(group_id))
        if self._external and users:
            for user_id in CloudUser.objects.filter(id__in=users, is_external=True).values_list(
                "id", flat=True
            ):
                found[("u", user_id)].add(BUILTIN_EXTERNAL)
        for key, groups in found.items():
            self._cache[key] = frozenset(groups)


def _person_key(user_id, account_id) -> tuple[str, uuid.UUID] | None:
    if user_id is not None:
        return ("u", user_id)
    if account_id is not None:
        return ("a", account_id)
    return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- Reads for the settings page and the API ---------------------------------------------------


def group_choices() -> list[tuple[str, str]]:
    """(key, label) of every group a rule may name: the built-ins, then the tenant's groups."""
    from apps.accounts.models import UserGroup

    groups = UserGroup.objects.select_related("app_instance").order_by("name", "pk")
    return [
        *BUILTIN_GROUPS.items(),
        *(
            (str(g.pk), f"{g.name} ({g.app_instance.name})" if g.app_instance else g.name)
            for g in groups
        ),
    ]


def app_choices() -> list[tuple[str, str]]:
    """(key, label) of every app a rule may name: connected apps and Microsoft 365 sub-apps."""
    from apps.connectors.models import AppInstance, Vendor

    choices = []
    for app in AppInstance.objects.order_by("name", "pk"):
        choices.append((str(app.pk), app.name))
        if app.vendor == Vendor.OFFICE365:
            choices.extend(
                (f"{app.pk}:{key}", f"{app.name} / {label}") for key, label in M365_SUB_APPS.items()
            )
    return choices


def _names(keys: Iterable[str], labels: dict[str, str]) -> str:
    named = sorted(labels.get(key, "a deleted group") for key in keys)
    return ", ".join(named) if named else "nobody"


def _sentence(include: frozenset[str] | None, exclude: set[str], labels: dict[str, str]) -> str:
    if include is None and not exclude:
        return "Everyone."
    text = "Everyone" if include is None else f"Only members of {_names(include, labels)}"
    if exclude:
        text += f", except members of {_names(exclude, labels)}"
    return text + "."


def summary(decision: ScopeDecision, apps: list[tuple[str, str]], labels: dict[str, str]):
    """Plain-language lines "who is monitored in which app", one per app and per sub-app a rule
    names: [{"app": label, "text": sentence, "sub": bool}]."""
    lines = []
    names = dict(apps)
    for key, label in apps:
        if ":" in key:
            continue
        scope = decision.for_app(key)
        excluded = set().union(*scope.excludes_app)
        include = scope.includes_app if scope.includes_app is not None else scope.includes_all
        text = _sentence(include, excluded, labels)
        if scope.unrestricted:
            text += " No rule applies to this app."
        lines.append({"app": label, "text": text, "sub": False})
        for sub in sorted(set(scope.includes_sub) | set(scope.excludes_sub)):
            sub_excluded = excluded.union(*scope.excludes_sub.get(sub, ()))
            lines.append(
                {
                    "app": names.get(f"{key}:{sub}", f"{label} / {sub}"),
                    "text": _sentence(scope.includes_sub.get(sub, include), sub_excluded, labels),
                    "sub": True,
                }
            )
    return lines
