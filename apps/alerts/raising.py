"""Turning findings into alerts: fold repeats into one open alert, respect the daily limit, link.

`raise_alerts(policy=..., findings=..., alert_type=..., now=...)` is called by the evaluator inside
the batch's transaction (and by other producers of alerts, e.g. file policies). A finding whose
`policy + subject + key` matches an open alert triggered within the policy's window updates that
alert (trigger count, last trigger, links) instead of raising another; a new alert is raised only
while the policy's daily limit (per UTC day) allows, and held-back triggers are counted.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections, router
from django.db.models import F

from apps.tenants.scoping import current_tenant

from .detectors.base import Finding
from .models import (
    OPEN_STATUSES,
    Alert,
    AlertAccount,
    AlertActivity,
    AlertApp,
    AlertSequence,
    AlertUser,
    MatchMode,
    Policy,
    PolicyDay,
)

MAX_IPS = 20
MAX_EVIDENCE = 20
BULK = 2000
# Folding: the first triggers of an alert link a few of their activities each; later ones only
# count (the alert stays readable and its link table bounded however long it stays open).
FOLD_LINK_TRIGGERS = 20
FOLD_LINK_ROWS = 10


@dataclass
class Raised:
    """What one call did: alerts created and updated, triggers held back by the daily limit."""

    created: list[tuple[Alert, Finding]] = field(default_factory=list)
    updated: int = 0
    updated_ids: set = field(default_factory=set)  # alerts a fold changed (for the outbox)
    suppressed: int = 0


def window_of(policy: Policy) -> timedelta:
    """How long after its last trigger an open alert still absorbs new triggers."""
    minutes = policy.dedupe_minutes
    if policy.mode == MatchMode.REPEATED:
        minutes = max(minutes, policy.repeat_window_minutes)
    return timedelta(minutes=max(minutes, 1))


def dedupe_key(policy: Policy, finding: Finding) -> str:
    return f"{policy.pk}:{finding.subject}:{finding.key}"[:200]


def next_numbers(count: int) -> int:
    """Reserve `count` alert numbers of the current tenant; returns the first one."""
    tenant = current_tenant()
    sequence, _ = AlertSequence.objects.get_or_create(tenant_id=tenant.id)
    AlertSequence.objects.filter(pk=sequence.pk).update(value=F("value") + count)
    return AlertSequence.objects.values_list("value", flat=True).get(pk=sequence.pk) - count + 1


class Ledger:
    """What raising needs to know, read once for many policies (a batch) and written once.

    Today's `PolicyDay` counters and the policies' open alerts still inside their windows
    (few: daily limits bound them), so a policy whose findings are all held back or folded
    costs no query of its own.
    """

    def __init__(self, policies: list[Policy], earliest: datetime, now: datetime):
        self.today = now.date()
        ids = [p.pk for p in policies]
        self.days = {
            d.policy_id: d for d in PolicyDay.objects.filter(policy_id__in=ids, day=self.today)
        }
        self.matches: dict = defaultdict(int)
        self.dirty: set = set()  # ids of the PolicyDay rows to write
        self.open: dict = defaultdict(dict)
        reach = max((window_of(p) for p in policies), default=timedelta(0))
        for alert in Alert.objects.filter(
            policy_id__in=ids, status__in=OPEN_STATUSES, last_triggered_at__gte=earliest - reach
        ).order_by("last_triggered_at"):
            self.open[alert.policy_id][alert.dedupe_key] = alert  # the most recent one wins

    def day(self, policy: Policy) -> PolicyDay:
        if policy.pk not in self.days:
            self.days[policy.pk], _ = PolicyDay.objects.get_or_create(policy=policy, day=self.today)
        return self.days[policy.pk]

    def write(self) -> None:
        changed = [d for d in self.days.values() if d.pk in self.dirty]
        for day in changed:
            day.matches += self.matches[day.policy_id]
        if changed:
            PolicyDay.objects.bulk_update(changed, ["alerts", "suppressed", "matches"])
        self.dirty.clear()
        self.matches.clear()


def raise_alerts(
    *,
    policy: Policy,
    findings: Iterable[Finding],
    alert_type: str,
    now: datetime,
    ledger: Ledger | None = None,
) -> Raised:
    """Raise or fold `findings` of `policy`; see the module doc. With a shared `ledger` the
    caller writes it (`ledger.write()`) once its policies are done."""
    findings = [f for f in findings if f.rows or f.at is not None]
    raised = Raised()
    if not findings:
        return raised
    tenant = current_tenant()
    window = window_of(policy)
    own = ledger is None
    if own:
        earliest = min(f.span()[0] for f in findings)
        ledger = Ledger([policy], earliest, now)
    open_alerts = ledger.open[policy.pk]
    day = ledger.day(policy)
    ledger.dirty.add(day.pk)
    ledger.matches[policy.pk] += sum(len(f.rows) or 1 for f in findings)
    day_alerts, day_suppressed = day.alerts, day.suppressed
    new: list[tuple[Alert, Finding]] = []
    touched: dict = {}
    links = _Links(tenant.id)
    for finding in findings:
        key = dedupe_key(policy, finding)
        first, last = finding.span()
        alert = open_alerts.get(key)
        if alert is not None and first - window <= alert.last_triggered_at:
            alert.trigger_count += 1
            alert.last_triggered_at = max(alert.last_triggered_at, last)
            alert.first_triggered_at = min(alert.first_triggered_at, first)
            _merge_facts(alert, finding)
            if alert.pk not in touched and not alert._state.adding:
                touched[alert.pk] = alert
            # A long-running alert keeps its first activities and a sample of later ones.
            if alert.trigger_count <= FOLD_LINK_TRIGGERS:
                links.add(alert, finding, limit=FOLD_LINK_ROWS)
            raised.updated += 1
            if not alert._state.adding:
                raised.updated_ids.add(alert.pk)
            continue
        if day_alerts >= policy.daily_alert_limit:
            day_suppressed += 1
            raised.suppressed += 1
            continue
        day_alerts += 1
        # A detection's own title and description may quote a private activity (its IP,
        # countries, a forwarding address): such an alert says only what the policy is.
        private = any(row.is_private for row in finding.rows)
        alert = Alert(
            tenant_id=tenant.id,
            title=(policy.name if private else finding.title or policy.name)[:300],
            description=PRIVATE_DESCRIPTION if private else finding.description,
            alert_type=alert_type,
            severity=finding.severity if finding.severity is not None else policy.severity,
            category=policy.category,
            policy=policy,
            policy_name=policy.name,
            dedupe_key=key,
            first_triggered_at=first,
            last_triggered_at=last,
        )
        _merge_facts(alert, finding)
        new.append((alert, finding))
        links.add(alert, finding, limit=AlertActivity.MAX_PER_ALERT)
        open_alerts[key] = alert
    if new:
        number = next_numbers(len(new))
        for offset, (alert, _) in enumerate(new):
            alert.number = number + offset
        Alert.objects.bulk_create([alert for alert, _ in new], batch_size=BULK)
        raised.created = new
    if touched:
        _update_folded(list(touched.values()), now)
    links.write()
    day.alerts, day.suppressed = day_alerts, day_suppressed
    if own:
        ledger.write()
    return raised


def describe_row(row) -> str:
    """One evidence line: when, what, from where."""
    where = f" from {row.ip}" if row.ip else ""
    country = f" ({row.country})" if row.country else ""
    return f"{row.occurred_at:%Y-%m-%d %H:%M} {row.action_type}{where}{country}"


PRIVATE_EVIDENCE = "A private activity (details hidden: the person is in a privacy group)"
PRIVATE_DESCRIPTION = (
    "Raised on an activity of a person in a privacy group: its details are hidden. Someone "
    "allowed to view private activities can open the activities linked to this alert."
)


def _merge_facts(alert: Alert, finding: Finding) -> None:
    ips = list(alert.ips)
    for row in finding.rows:
        if row.ip and not row.is_private and row.ip not in ips and len(ips) < MAX_IPS:
            ips.append(row.ip)
    alert.ips = ips
    evidence = list(alert.evidence)
    # Findings without their own evidence show their first activities (built only for the
    # findings that raise or fold, not for those the daily limit holds back). Private
    # activities still raise alerts, but what an alert shows everyone keeps their details out,
    # including a detection's own evidence lines, which may quote them.
    if any(row.is_private for row in finding.rows):
        lines = [
            PRIVATE_EVIDENCE if row.is_private else describe_row(row) for row in finding.rows[:5]
        ]
    else:
        lines = finding.evidence or [describe_row(row) for row in finding.rows[:5]]
    for line in lines:
        if line not in evidence and len(evidence) < MAX_EVIDENCE:
            evidence.append(line[:300])
    alert.evidence = evidence


def _update_folded(alerts: list[Alert], now: datetime) -> None:
    """Write the folded alerts' counters in one `executemany` (bulk_update's CASE is slow)."""
    table = Alert._meta.db_table
    connection = connections[router.db_for_write(Alert)]
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {table} SET trigger_count = %s, first_triggered_at = %s, "  # noqa: S608
        f"last_triggered_at = %s, ips = %s{cast}, evidence = %s{cast}, updated_at = %s "
        "WHERE id = %s AND tenant_id = %s"
    )
    # Values as the fields themselves prepare them (SQLite: naive UTC text, hex UUIDs).
    moment = Alert._meta.get_field("last_triggered_at")
    key = Alert._meta.get_field("id")

    def when(value):
        return moment.get_db_prep_value(value, connection)

    def uuid_value(value):
        return key.get_db_prep_value(value, connection)

    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (
                    alert.trigger_count,
                    when(alert.first_triggered_at),
                    when(alert.last_triggered_at),
                    json.dumps(alert.ips),
                    json.dumps(alert.evidence),
                    when(now),
                    uuid_value(alert.pk),
                    uuid_value(alert.tenant_id),
                )
                for alert in alerts
            ],
        )


class _Links:
    """Link rows of many alerts, written with one bulk insert per kind (each link once)."""

    def __init__(self, tenant_id):
        self.tenant_id = tenant_id
        self.activities: list[AlertActivity] = []
        self.users: dict[tuple, AlertUser] = {}
        self.accounts: dict[tuple, AlertAccount] = {}
        self.apps: dict[tuple, AlertApp] = {}

    def add(self, alert: Alert, finding: Finding, *, limit: int) -> None:
        tenant_id = self.tenant_id
        for row in finding.rows[:limit]:
            self.activities.append(
                AlertActivity(
                    tenant_id=tenant_id,
                    alert=alert,
                    activity_id=row.id,
                    occurred_at=row.occurred_at,
                )
            )
        for row in finding.rows:
            if row.user_id and (alert, row.user_id) not in self.users:
                self.users[alert, row.user_id] = AlertUser(
                    tenant_id=tenant_id, alert=alert, user_id=row.user_id
                )
            if row.account_id and (alert, row.account_id) not in self.accounts:
                self.accounts[alert, row.account_id] = AlertAccount(
                    tenant_id=tenant_id, alert=alert, account_id=row.account_id
                )
            if (alert, row.app_instance_id) not in self.apps:
                self.apps[alert, row.app_instance_id] = AlertApp(
                    tenant_id=tenant_id, alert=alert, app_instance_id=row.app_instance_id
                )
        for user_id in finding.user_ids:
            if (alert, user_id) not in self.users:
                self.users[alert, user_id] = AlertUser(
                    tenant_id=tenant_id, alert=alert, user_id=user_id
                )
        for account_id in finding.account_ids:
            if (alert, account_id) not in self.accounts:
                self.accounts[alert, account_id] = AlertAccount(
                    tenant_id=tenant_id, alert=alert, account_id=account_id
                )
        for app_id in finding.app_ids:
            if (alert, app_id) not in self.apps:
                self.apps[alert, app_id] = AlertApp(
                    tenant_id=tenant_id, alert=alert, app_instance_id=app_id
                )

    def write(self) -> None:
        for model, objects in (
            (AlertActivity, self.activities),
            (AlertUser, list(self.users.values())),
            (AlertAccount, list(self.accounts.values())),
            (AlertApp, list(self.apps.values())),
        ):
            if objects:
                model.objects.bulk_create(objects, batch_size=BULK, ignore_conflicts=True)
