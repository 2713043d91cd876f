"""Where a tenant's data goes: the one registry of integrations.

The transparency page and its API list, per tenant, every integration that receives data from
us or sends data to us, read from the configuration itself (never from a hand-kept list). Each
kind of integration is a *provider*: a function registered by name that, for one tenant, yields
an `Integration` per configured item. Providers run inside `tenant_context(tenant)`, so they
query through the ordinary, fail-closed managers.

Adding a provider (the SIEM agents and webhooks of the next issue do exactly this):

1. write a module in `apps/integrations/providers/`, e.g. `siem.py`::

       from apps.integrations.registry import Data, Direction, Integration, register

       @register("siem", label="SIEM agents", order=40)
       def siem_agents(tenant):
           for agent in SiemAgent.objects.all():  # scoped to `tenant` already
               yield Integration(
                   provider="siem", id=str(agent.pk), name=agent.name, type="SIEM agent",
                   direction=Direction.OUTBOUND, receives=(Data.ALERTS, Data.ACTIVITIES),
                   status=agent.status, status_label=agent.get_status_display(),
                   configure_url=reverse("integrations:siem", args=[tenant.slug, agent.pk]),
               )

2. import it in `apps/integrations/providers/__init__.py`.

Keep a provider to a fixed number of queries (one or two per provider, never one per item): the
page has a query-count guard. Name only the data kinds the integration can actually receive
(`Data`); private activities are never sent to any integration, and an `Integration` cannot say
otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context


class Direction(StrEnum):
    OUTBOUND = "outbound"  # it receives data from us
    INBOUND = "inbound"  # we receive data from it
    BOTH = "both"


DIRECTION_LABELS = {
    Direction.OUTBOUND: "Outbound (receives our data)",
    Direction.INBOUND: "Inbound (sends us data)",
    Direction.BOTH: "Inbound and outbound",
}


class Data(StrEnum):
    """The kinds of data that flow to or from an integration."""

    ALERTS = "alerts"
    ACTIVITIES = "activities"
    ACTIVITY_EXPORTS = "activity_exports"
    ACCOUNTS = "accounts"
    DISCOVERY = "discovery"
    DISCOVERY_IDENTITIES = "discovery_identities"
    GOVERNANCE_LOG = "governance_log"
    GOVERNANCE_ACTIONS = "governance_actions"
    SETTINGS = "settings"
    AUDIT_LOG = "audit_log"
    TRAFFIC_LOGS = "traffic_logs"
    FILES_FOR_DLP = "files_for_dlp"


DATA_LABELS: dict[str, str] = {
    Data.ALERTS: "Alerts",
    Data.ACTIVITIES: "Activities",
    Data.ACTIVITY_EXPORTS: "Activity exports (CSV)",
    Data.ACCOUNTS: "Users, accounts and groups",
    Data.DISCOVERY: "Cloud Discovery data",
    Data.DISCOVERY_IDENTITIES: "Real usernames behind anonymised discovery data (each request "
    "audited)",
    Data.GOVERNANCE_LOG: "Governance log",
    Data.GOVERNANCE_ACTIONS: "Governance actions (the account, file or app id to act on)",
    Data.SETTINGS: "Settings and policies",
    Data.AUDIT_LOG: "Audit log",
    Data.TRAFFIC_LOGS: "Network traffic logs",
    Data.FILES_FOR_DLP: "Files for DLP scan (inspected, never stored)",
}


@dataclass(frozen=True)
class Integration:
    """One configured integration of a tenant and exactly which data crosses it.

    `receives`: the data kinds it gets from us (outbound); `sends`: what we get from it
    (inbound). `details` are (label, value) facts shown as they are (role, creator, port...).
    """

    provider: str
    id: str
    name: str
    type: str
    direction: Direction
    status: str
    status_label: str
    configure_url: str
    receives: tuple[str, ...] = ()
    sends: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = field(default=())

    # Private activities are never sent to an integration (issue 6, item 8): a constant, so
    # no provider can claim otherwise and the page states it for each integration.
    @property
    def private_activities_sent(self) -> bool:
        return False

    @property
    def direction_label(self) -> str:
        return DIRECTION_LABELS[self.direction]

    @property
    def receives_labels(self) -> list[str]:
        return [DATA_LABELS.get(kind, kind) for kind in self.receives]

    @property
    def sends_labels(self) -> list[str]:
        return [DATA_LABELS.get(kind, kind) for kind in self.sends]


ProviderFn = Callable[[Tenant], Iterable[Integration]]


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    order: int
    fn: ProviderFn
    empty: str  # what would appear here, for the empty state


_PROVIDERS: dict[str, Provider] = {}


def register(
    name: str, *, label: str, order: int = 100, empty: str = ""
) -> Callable[[ProviderFn], ProviderFn]:
    """Register a provider of integrations under `name` (unique)."""

    def decorator(fn: ProviderFn) -> ProviderFn:
        if name in _PROVIDERS:
            raise ValueError(f"two integration providers named {name!r}")
        _PROVIDERS[name] = Provider(name=name, label=label, order=order, fn=fn, empty=empty)
        return fn

    return decorator


def unregister(name: str) -> None:
    """Drop a provider (tests that register a temporary one)."""
    _PROVIDERS.pop(name, None)


def providers() -> list[Provider]:
    """Every registered provider, in page order (the built-in ones are loaded on first use)."""
    from . import providers as _builtin  # noqa: F401  (importing registers them)

    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.name))


def integrations_for(*, tenant: Tenant) -> list[Integration]:
    """Every integration configured for `tenant`, provider by provider."""
    found: list[Integration] = []
    with tenant_context(tenant):
        for provider in providers():
            found.extend(provider.fn(tenant))
    return found


@dataclass(frozen=True)
class Group:
    provider: Provider
    items: list[Integration]


def grouped_for(*, tenant: Tenant) -> list[Group]:
    """The tenant's integrations grouped by provider (empty groups kept: the page says what
    would appear there)."""
    with tenant_context(tenant):
        return [Group(p, list(p.fn(tenant))) for p in providers()]
