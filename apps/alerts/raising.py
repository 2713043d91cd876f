"""Turning findings into alerts: fold repeats into one open alert, respect the daily limit, link.

`raise_alerts(policy=..., findings=..., alert_type=..., now=...)` is called by the evaluator inside
the batch's transaction (and by other producers of alerts, e.g. file policies). A finding whose
`policy + subject + key` matches an open alert triggered within the policy's window updates that
alert (trigger count, last trigger, links) instead of raising another; a new alert is raised only
while the policy's daily limit (per UTC day) allows, and held-back triggers are counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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


@dataclass
class Raised:
    """What one call did: alerts created and updated, triggers held back by the daily limit."""

    created: list[tuple[Alert, Finding]] = field(default_factory=list)
    updated: int = 0
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


def raise_alerts(
    *, policy: Policy, findings: Iterable[Finding], alert_type: str, now: datetime
) -> Raised:
    findings = [f for f in findings if f.rows]
    raised = Raised()
    if not findings:
        return raised
    tenant = current_tenant()
    window = window_of(policy)
    keys = {dedupe_key(policy, f) for f in findings}
    earliest = min(row.occurred_at for f in findings for row in f.rows)
    open_alerts: dict[str, Alert] = {}
    for alert in Alert.objects.filter(
        dedupe_key__in=keys, status__in=OPEN_STATUSES, last_triggered_at__gte=earliest - window
    ).order_by("last_triggered_at"):
        open_alerts[alert.dedupe_key] = alert  # the most recent one wins
    day, _ = PolicyDay.objects.get_or_create(policy=policy, day=now.date())
    day_alerts, day_suppressed = day.alerts, day.suppressed
    new: list[tuple[Alert, Finding]] = []
    touched: dict[str, Alert] = {}
    for finding in findings:
        key = dedupe_key(policy, finding)
        first = min(row.occurred_at for row in finding.rows)
        last = max(row.occurred_at for row in finding.rows)
        alert = open_alerts.get(key)
        if alert is not None and first - window <= alert.last_triggered_at:
            alert.trigger_count += 1
            alert.last_triggered_at = max(alert.last_triggered_at, last)
            alert.first_triggered_at = min(alert.first_triggered_at, first)
            _merge_facts(alert, finding)
            touched[alert.pk] = alert
            _link(alert, finding, tenant.id)
            raised.updated += 1
            continue
        if day_alerts >= policy.daily_alert_limit:
            day_suppressed += 1
            raised.suppressed += 1
            continue
        day_alerts += 1
        alert = Alert(
            tenant_id=tenant.id,
            title=(finding.title or policy.name)[:300],
            description=finding.description,
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
        open_alerts[key] = alert
    if new:
        number = next_numbers(len(new))
        for offset, (alert, _) in enumerate(new):
            alert.number = number + offset
        Alert.objects.bulk_create([alert for alert, _ in new])
        for alert, finding in new:
            _link(alert, finding, tenant.id)
        raised.created = new
    for alert in touched.values():
        if alert.pk not in {a.pk for a, _ in new}:
            alert.save(
                update_fields=[
                    "trigger_count",
                    "first_triggered_at",
                    "last_triggered_at",
                    "ips",
                    "evidence",
                    "updated_at",
                ]
            )
    PolicyDay.objects.filter(pk=day.pk).update(
        alerts=day_alerts,
        suppressed=day_suppressed,
        matches=F("matches") + sum(len(f.rows) for f in findings),
    )
    return raised


def _merge_facts(alert: Alert, finding: Finding) -> None:
    ips = list(alert.ips)
    for row in finding.rows:
        if row.ip and row.ip not in ips and len(ips) < MAX_IPS:
            ips.append(row.ip)
    alert.ips = ips
    evidence = list(alert.evidence)
    for line in finding.evidence:
        if line not in evidence and len(evidence) < MAX_EVIDENCE:
            evidence.append(line[:300])
    alert.evidence = evidence


def _link(alert: Alert, finding: Finding, tenant_id) -> None:
    """Link the finding's activities, people, accounts and apps (each once, bounded)."""
    rows = finding.rows[: AlertActivity.MAX_PER_ALERT]
    AlertActivity.objects.bulk_create(
        [
            AlertActivity(
                tenant_id=tenant_id, alert=alert, activity_id=row.id, occurred_at=row.occurred_at
            )
            for row in rows
        ],
        ignore_conflicts=True,
    )
    users = {row.user_id for row in finding.rows if row.user_id}
    accounts = {row.account_id for row in finding.rows if row.account_id}
    apps = {row.app_instance_id for row in finding.rows}
    AlertUser.objects.bulk_create(
        [AlertUser(tenant_id=tenant_id, alert=alert, user_id=u) for u in users],
        ignore_conflicts=True,
    )
    AlertAccount.objects.bulk_create(
        [AlertAccount(tenant_id=tenant_id, alert=alert, account_id=a) for a in accounts],
        ignore_conflicts=True,
    )
    AlertApp.objects.bulk_create(
        [AlertApp(tenant_id=tenant_id, alert=alert, app_instance_id=a) for a in apps],
        ignore_conflicts=True,
    )
