"""Where a tenant's data is stored and for how long (selectors of the transparency page and API).

Every answer is read from the running configuration: the tenant's geo, `GEO_DATABASES`, the
connection settings of each database alias (engine, host and database name only: never a user
name, password or option), the retention periods of `inventory.KINDS` and the tenant's own
`RetentionSettings`. `classified_models()` lets a test prove that every tenant model is named
by one of the kinds below, so a new table cannot be left off the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections

from apps.tenants.models import Geo, Tenant
from apps.tenants.scoping import tenant_context

from . import inventory
from .models import DataKind, RetentionSettings

ENGINES = {
    "postgresql": "PostgreSQL",
    "postgis": "PostgreSQL",
    "sqlite3": "SQLite",
    "mysql": "MySQL",
    "oracle": "Oracle",
}


@dataclass(frozen=True)
class Store:
    """One database as a tenant may see it: alias, engine, host and database name."""

    alias: str
    engine: str
    host: str
    database: str


def store_for(alias: str) -> Store:
    """The public facts of database `alias`. User, password and options are never read."""
    conf = connections[alias].settings_dict
    engine_key = str(conf.get("ENGINE", "")).rsplit(".", 1)[-1]
    engine = ENGINES.get(engine_key, engine_key)
    name = str(conf.get("NAME") or "")
    if engine_key == "sqlite3":
        # A file (or memory) on the application server: its name, not the server's paths.
        return Store(alias, engine, "the application server (file)", Path(name).name or name)
    host = str(conf.get("HOST") or "local socket")
    port = str(conf.get("PORT") or "")
    return Store(alias, engine, f"{host}:{port}" if port else host, name)


@dataclass(frozen=True)
class Placement:
    """One kind of data: where it lives, for how long, and how it is protected."""

    key: str
    label: str
    description: str
    plane: str  # "tenant": the tenant's geo database; "control": the default database
    store: Store | None  # None: not in a database (the discovery spool)
    where: str  # the place in words
    retention: str
    effective_days: int | None
    max_days: int | None
    encrypted: bool
    protection: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class Extra:
    key: str
    label: str
    description: str
    models: tuple[str, ...]
    retention: str
    protection: str = ""


# How a retention kind of `inventory.KINDS` is protected beyond the database's own (none: plain).
# Only part of such a kind is encrypted, so its placement does not claim `encrypted`.
KIND_PROTECTION: dict[str, str] = {
    "files": "Only metadata is kept, never the file content; the masked match samples are "
    "encrypted at rest with the tenant key.",
}

# The tenant data beyond the retention kinds of `inventory.KINDS`.
EXTRA_KINDS: tuple[Extra, ...] = (
    Extra(
        key="accounts",
        label="Users and accounts",
        description="People and their accounts and groups in the connected apps, as the apps "
        "describe them.",
        models=(
            "accounts.CloudUser",
            "accounts.Account",
            "accounts.UserGroup",
            "accounts.GroupMembership",
        ),
        retention="accounts",  # computed: see _accounts_retention
    ),
    Extra(
        key="settings",
        label="Settings and policies",
        description="Policies, IP ranges, Cloud Discovery settings, "
        "data sources, tags and custom apps, retention, scope and privacy settings, content "
        "inspection settings and custom sensitive types, the ICAP service, and the connected "
        "apps' polling state.",
        models=(
            "alerts.Policy",
            "alerts.AlertSequence",
            "alerts.EvaluationBatch",
            "activities.IpRange",
            "discovery.DiscoverySettings",
            "discovery.CustomParser",
            "discovery.DataSource",
            "discovery.Report",
            "discovery.CustomApp",
            "discovery.AppTag",
            "discovery.AppTagging",
            "discovery.AppOverride",
            "compliance.RetentionSettings",
            "compliance.ScopeRule",
            "compliance.PrivacySettings",
            "connectors.PollCursor",
            "connectors.StatusChange",
            "dlp.CustomSensitiveType",
            "dlp.DlpSettings",
            "dlp.IcapSettings",
        ),
        retention="Kept while configured; deleted with the tenant.",
    ),
    Extra(
        key="audit",
        label="Audit log",
        description="Who did what in the console and the API, purge records and data-subject "
        "request receipts (append-only, hash-chained).",
        models=("tenants.AuditEvent", "compliance.PurgeRun", "compliance.SubjectRequest"),
        retention="Kept for the life of the subscription; deleted with the tenant.",
    ),
    Extra(
        key="integrations",
        label="Integrations and their outbox",
        description="SIEM agents and webhooks (a webhook's signing secret is encrypted with the "
        "tenant key), the queue of alerts and activities waiting to be sent to them (ids "
        "only), their delivery history and refused items.",
        models=(
            "integrations.Destination",
            "integrations.OutboxSequence",
            "integrations.OutboxEvent",
            "integrations.DeadLetter",
            "integrations.Delivery",
        ),
        retention="integrations",  # computed: see _integrations_retention
    ),
    Extra(
        key="secrets",
        label="Connector credentials and keys (encrypted)",
        description="The credentials of the connected apps and the Cloud Discovery "
        "anonymisation key.",
        models=("connectors.AppInstance", "discovery.AnonymizationKey"),
        retention="Kept while configured; unreadable once the tenant key is destroyed.",
        protection="Encrypted at rest with the tenant key.",
    ),
)

CONTROL_PLANE_MODELS = (
    "auth.User",
    "tenants.Tenant",
    "tenants.Membership",
    "tenants.ApiToken",
    "tenants.AuditAnchor",
    "compliance.TenantKey",
    "compliance.TenantDeletion",
)


def classified_models() -> set[str]:
    """The labels of every model named by a kind of this page."""
    named = {label for kind in inventory.KINDS.values() for label in kind.models}
    named |= {label for extra in EXTRA_KINDS for label in extra.models}
    return named


def unclassified_models() -> list[str]:
    """Tenant models no kind names (shown as "Other tenant data"; a test keeps this empty)."""
    named = classified_models()
    return sorted(m._meta.label for m in inventory.tenant_models() if m._meta.label not in named)


def _where(store: Store, geo_name: str | None) -> str:
    prefix = f"{geo_name}: " if geo_name else ""
    return f"{prefix}database {store.alias} ({store.engine}, {store.host}, {store.database})"


@dataclass(frozen=True)
class DataLocation:
    """The whole answer for one tenant."""

    geo: str
    geo_name: str
    alias: str
    store: Store
    control_store: Store
    tenant_data: list[Placement]
    control_plane: list[Placement]


def _retention(retention: RetentionSettings | None, key: str) -> tuple[str, int | None, int | None]:
    if key in inventory.KINDS:
        days, ceiling = inventory.effective_days(key, retention), inventory.max_days(key)
        words = f"{days} days" + (f" (shortened from {ceiling})" if days < ceiling else "")
        return words, days, ceiling
    if key == "accounts":
        days = inventory.deleted_accounts_days(retention)
        ceiling = settings.DELETED_ACCOUNT_RETENTION_DAYS
        words = (
            f"Kept while the account exists in its app; removed {days} days after the app "
            "reports it deleted"
        )
        return words, days, ceiling
    if key == "integrations":
        return _integrations_retention()
    extra = next((e for e in EXTRA_KINDS if e.key == key), None)
    return (extra.retention if extra else "Deleted with the tenant."), None, None


def _integrations_retention() -> tuple[str, int, int]:
    """What `integrations.services.prune_outbox` keeps: it runs every minute."""
    from apps.integrations.models import Delivery

    days = inventory.max_days(DataKind.ACTIVITIES)
    words = (
        "The queue is emptied as receivers take it; queued items, refused items (dead letters) "
        f"and delivery attempts are deleted after {days} days (the activity log's maximum) at "
        f"most, and each webhook keeps only its newest {Delivery.KEEP} delivery attempts; "
        "deleted with the tenant."
    )
    return words, days, days


def data_location(*, tenant: Tenant) -> DataLocation:
    """Where each kind of `tenant`'s data is stored and for how long (two queries)."""
    geo_name = Geo(tenant.geo).label
    alias = tenant.db_alias
    store = store_for(alias)
    control = store_for("default")
    with tenant_context(tenant):
        retention = RetentionSettings.objects.first()
    where = _where(store, geo_name)

    def placed(key, label, description, models, protection="", encrypted=None) -> Placement:
        words, days, ceiling = _retention(retention, key)
        return Placement(
            key=key,
            label=label,
            description=description,
            plane="tenant",
            store=store,
            where=where,
            retention=words,
            effective_days=days,
            max_days=ceiling,
            encrypted=bool(protection) if encrypted is None else encrypted,
            protection=protection,
            models=models,
        )

    placements = [
        # A kind with a protection note is only partly encrypted (file records: the samples).
        placed(k.key, k.label, k.description, k.models, KIND_PROTECTION.get(str(k.key), ""), False)
        for k in inventory.KINDS.values()
    ]
    placements += [
        placed(e.key, e.label, e.description, e.models, e.protection) for e in EXTRA_KINDS
    ]
    leftovers = tuple(unclassified_models())
    if leftovers:
        placements.append(
            placed("other", "Other tenant data", "Tables not yet described here.", leftovers)
        )
    placements.append(
        Placement(
            "discovery_spool",
            "Log files waiting to be parsed (Cloud Discovery)",
            "Uploaded or collected logs between their arrival and their parsing.",
            "tenant",
            None,
            "Temporary files on the processing servers (not a database)",
            "Deleted as soon as they are parsed.",
            None,
            None,
            True,
            "Encrypted at rest with the tenant key.",
            (),
        )
    )
    control_plane = [
        Placement(
            "control_plane",
            "Portal users, memberships and roles, tenants and API tokens (stored hashed)",
            "What lets people sign in and what they may do; the same for every tenant.",
            "control",
            control,
            "The control-plane database, shared by every tenant: " + _where(control, None),
            "Kept while the subscription lasts; the tenant's rows are deleted with it.",
            None,
            None,
            False,
            "API keys are stored as hashes only.",
            CONTROL_PLANE_MODELS[:4],
        ),
        Placement(
            "tenant_keys",
            "The tenant's data keys",
            "The keys the tenant's credentials, anonymisation key, file match samples and spool "
            "are encrypted with.",
            "control",
            control,
            "The control-plane database, shared by every tenant: " + _where(control, None),
            "Destroyed when the tenant is deleted, so its backups and old exports cannot be "
            "read (crypto-shredding).",
            None,
            None,
            True,
            "Wrapped (encrypted) by the deployment's master key, which is not in the database.",
            ("compliance.TenantKey",),
        ),
    ]
    return DataLocation(
        geo=tenant.geo,
        geo_name=geo_name,
        alias=alias,
        store=store,
        control_store=control,
        tenant_data=placements,
        control_plane=control_plane,
    )
