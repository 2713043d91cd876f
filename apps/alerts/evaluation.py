"""Policy evaluation: each ingested activity is evaluated exactly once, a batch at a time.

Ingestion writes one `EvaluationBatch` (the ids of the activities a chunk stored) in the chunk's
own transaction and enqueues `alerts.evaluate` for the tenant once it commits. The task calls
`evaluate_pending(tenant)`, which repeatedly, in one transaction each:

1. takes the tenant's evaluation lock (a PostgreSQL advisory lock: one evaluator per tenant at a
   time, so per-person memory is never updated twice concurrently; other tenants run in parallel),
2. claims the oldest batch, loads its activities with one query that also computes every active
   activity policy's filter as a boolean column (the activity log's own filter compiler, so a
   policy filter means exactly what it means in the log),
3. applies scope, single / repeated matching (`MatchWindow`) and the enabled anomaly detections
   (`apps.alerts.detectors`, with their `DetectorState`), raises or folds alerts
   (`apps.alerts.raising`) and records the policies' governance actions (pending, sent on commit),
4. deletes the batch.

Everything of one batch commits together or not at all: a task killed or retried half-way
leaves the batch in place and nothing of it written, so the next run evaluates it from scratch.
A beat job re-enqueues tenants whose batches wait too long (a lost message, a busy lock).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from apps.accounts.models import GroupMembership
from apps.activities.models import Activity
from apps.activities.query import FilterError, compile_filters

from . import raising
from .detectors import all_detectors
from .detectors.base import ROW_FIELDS, Context, Finding, Row
from .models import (
    AlertType,
    DetectorState,
    EvaluationBatch,
    MatchMode,
    MatchWindow,
    Policy,
    PolicyKind,
)

log = logging.getLogger(__name__)

_LOCK_NAMESPACE = 0x43415342  # "CASB": keeps our advisory locks apart from anyone else's


@dataclass
class Stats:
    batches: int = 0
    activities: int = 0
    findings: int = 0
    alerts_created: int = 0
    alerts_updated: int = 0
    suppressed: int = 0
    governance: int = 0
    busy: bool = False  # another evaluator holds the tenant's lock
    more: bool = False  # stopped on the time budget with batches left
    by_policy: dict = field(default_factory=lambda: defaultdict(int))


def record_batch(*, tenant_id, app_instance_id, written: list[tuple]) -> None:
    """Queue the activities an ingestion chunk stored (call inside the chunk's transaction)."""
    if not written or not settings.POLICY_EVALUATION:
        return
    times = [when for _, when in written]
    EvaluationBatch(
        tenant_id=tenant_id,
        app_instance_id=app_instance_id,
        activity_ids=[str(activity_id) for activity_id, _ in written],
        oldest=min(times),
        newest=max(times),
    ).save()


def _lock(alias: str, tenant_id) -> bool:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return True  # SQLite (the demo) serialises writers on its own
    key = int.from_bytes(tenant_id.bytes[:4], "big") & 0x7FFFFFFF
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, key])
        return bool(cursor.fetchone()[0])


def evaluate_pending(tenant, *, max_seconds: float = 50.0, now: datetime | None = None) -> Stats:
    """Evaluate the tenant's waiting batches, oldest first, one transaction each."""
    stats = Stats()
    alias = tenant.db_alias
    deadline = time.monotonic() + max_seconds
    engine = Engine(tenant)
    while True:
        with transaction.atomic(using=alias):
            if not _lock(alias, tenant.id):
                stats.busy = True
                return stats
            batch = (
                EvaluationBatch.objects.select_for_update(skip_locked=True)
                .order_by("created_at")
                .first()
            )
            if batch is None:
                return stats
            engine.evaluate(batch, stats, now or timezone.now())
            batch.delete()
        stats.batches += 1
        if time.monotonic() > deadline:
            stats.more = EvaluationBatch.objects.exists()
            return stats


# --- The engine --------------------------------------------------------------------------------


class Engine:
    """Evaluates batches of one tenant; policies are re-read for each batch."""

    def __init__(self, tenant):
        self.tenant = tenant
        self.alias = tenant.db_alias
        self._compiled: dict = {}  # (policy id, updated_at) -> Q or None (match all)

    def _q(self, policy: Policy) -> Q | None:
        key = (policy.pk, policy.updated_at)
        if key not in self._compiled:
            filters = dict(policy.filters or {})
            self._compiled[key] = compile_filters(filters, using=self.alias) if filters else None
        return self._compiled[key]

    def evaluate(self, batch: EvaluationBatch, stats: Stats, now: datetime) -> None:
        policies = list(Policy.objects.filter(enabled=True))
        activity_policies, compiled = [], []
        for policy in policies:
            if policy.kind != PolicyKind.ACTIVITY:
                continue
            try:
                compiled.append(self._q(policy))
            except FilterError as exc:  # refused at save; kept safe against older rows
                log.warning("policy %s skipped: its filters no longer compile: %s", policy.pk, exc)
                continue
            activity_policies.append(policy)
        detectors = all_detectors()
        anomaly_policies = [
            p for p in policies if p.kind == PolicyKind.ANOMALY and p.detector in detectors
        ]

        annotations = {
            f"p{i}": ExpressionWrapper(q, output_field=BooleanField())
            for i, q in enumerate(compiled)
            if q is not None
        }
        queryset = Activity.objects.filter(
            id__in=batch.activity_ids,
            occurred_at__gte=batch.oldest,
            occurred_at__lte=batch.newest,
        )
        if annotations:
            queryset = queryset.annotate(**annotations)
        width = len(ROW_FIELDS)
        loaded = list(queryset.values_list(*ROW_FIELDS, *annotations))
        loaded.sort(key=lambda values: (values[1], values[0]))
        rows = [Row(*values[:width]) for values in loaded]
        stats.activities += len(rows)
        if not rows:
            return
        names = list(annotations)
        matches: list[list[Row]] = []
        for i, q in enumerate(compiled):
            if q is None:
                matches.append(rows)
                continue
            column = width + names.index(f"p{i}")
            matches.append(
                [row for row, values in zip(rows, loaded, strict=True) if values[column]]
            )

        scope = Scope(policies)
        for policy, matched in zip(activity_policies, matches, strict=True):
            matched = scope.filter(policy, matched)
            if not matched:
                continue
            if policy.mode == MatchMode.REPEATED:
                findings = self._repeated(policy, matched)
            else:
                findings = _single(policy, matched)
            self._raise(policy, findings, AlertType.ACTIVITY_POLICY, stats, now)

        for policy in anomaly_policies:
            in_scope = scope.filter(policy, rows)
            if not in_scope:
                continue
            detector = detectors[policy.detector]
            options, errors = detector.clean_options({**detector.defaults(), **policy.tuning})
            if errors:
                log.warning("detection %s: bad tuning %s; defaults used", policy.detector, errors)
                options = detector.defaults()
            ctx = Context(
                tenant=self.tenant, detector=detector.key, options=options, now=now, states={}
            )
            ctx._loader = _load_states
            findings = list(detector().detect(in_scope, ctx))
            _save_states(self.tenant.id, ctx)
            self._raise(policy, findings, AlertType.ANOMALY, stats, now)

    def _raise(self, policy: Policy, findings: list[Finding], alert_type, stats: Stats, now):
        if not findings:
            return
        stats.findings += len(findings)
        stats.by_policy[policy.name] += len(findings)
        raised = raising.raise_alerts(
            policy=policy, findings=findings, alert_type=alert_type, now=now
        )
        stats.alerts_created += len(raised.created)
        stats.alerts_updated += raised.updated
        stats.suppressed += raised.suppressed
        if policy.governance:
            from apps.governance.services import actions_for_alert

            for alert, finding in raised.created:
                stats.governance += actions_for_alert(policy=policy, alert=alert, rows=finding.rows)

    def _repeated(self, policy: Policy, matched: list[Row]) -> list[Finding]:
        """N matches within T minutes per subject: a finding each time the count reaches N."""
        span = policy.repeat_window_minutes * 60
        need = max(policy.repeat_count, 1)
        by_key: dict[str, list[Row]] = defaultdict(list)
        for row in matched:
            key = row.subject if policy.repeat_per_user else "*"
            if policy.repeat_per_app:
                key = f"{key}@{row.app_instance_id}"
            by_key[key].append(row)
        windows = {
            w.subject: w for w in MatchWindow.objects.filter(policy=policy, subject__in=by_key)
        }
        findings, changed = [], []
        for key, key_rows in by_key.items():
            window = windows.get(key) or MatchWindow(
                tenant_id=self.tenant.id, policy=policy, subject=key, times=[]
            )
            times = list(window.times)
            recent: list[Row] = []
            for row in key_rows:
                moment = row.occurred_at.timestamp()
                bisect.insort(times, moment)
                recent = [r for r in recent if r.occurred_at.timestamp() >= moment - span]
                recent.append(row)
                start = bisect.bisect_left(times, moment - span)
                end = bisect.bisect_right(times, moment)
                if end - start >= need:
                    findings.append(
                        Finding(
                            subject=key,
                            title=policy.name,
                            description=(
                                f"{end - start} matching activities within "
                                f"{policy.repeat_window_minutes} minutes by "
                                f"{row.actor or 'an unknown actor'}."
                            ),
                            rows=recent,
                            evidence=[_line(r) for r in recent[-5:]],
                        )
                    )
                    times, recent = [], []  # counting starts again after a trigger
                newest = times[-1] if times else moment
                times = [t for t in times if t >= newest - span][-need:]
            window.times = times
            changed.append(window)
        for window in changed:
            if window._state.adding:
                window.save()
            else:
                window.save(update_fields=["times", "updated_at"])
        return findings


def _single(policy: Policy, matched: list[Row]) -> list[Finding]:
    """Every match counts; one batch's matches by one subject make one finding."""
    by_subject: dict[str, list[Row]] = defaultdict(list)
    for row in matched:
        by_subject[row.subject].append(row)
    return [
        Finding(
            subject=subject,
            title=policy.name,
            description=(
                f"{len(subject_rows)} matching "
                f"{'activity' if len(subject_rows) == 1 else 'activities'} by "
                f"{subject_rows[0].actor or 'an unknown actor'}."
            ),
            rows=subject_rows,
            evidence=[_line(r) for r in subject_rows[:5]],
        )
        for subject, subject_rows in by_subject.items()
    ]


def _line(row: Row) -> str:
    where = f" from {row.ip}" if row.ip else ""
    country = f" ({row.country})" if row.country else ""
    return f"{row.occurred_at:%Y-%m-%d %H:%M} {row.action_type}{where}{country}"


class Scope:
    """Include / exclude user groups of each policy (exclude wins), membership read once."""

    def __init__(self, policies: list[Policy]):
        wanted = set()
        for policy in policies:
            wanted.update(str(g) for g in policy.include_groups or [])
            wanted.update(str(g) for g in policy.exclude_groups or [])
        self.members: dict[str, tuple[set, set]] = defaultdict(lambda: (set(), set()))
        if wanted:
            for group_id, account_id, user_id in GroupMembership.objects.filter(
                group_id__in=wanted
            ).values_list("group_id", "account_id", "account__user_id"):
                accounts, users = self.members[str(group_id)]
                accounts.add(account_id)
                if user_id:
                    users.add(user_id)

    def _in(self, groups, row: Row) -> bool:
        for group in groups:
            accounts, users = self.members[str(group)]
            if row.account_id in accounts or (row.user_id is not None and row.user_id in users):
                return True
        return False

    def filter(self, policy: Policy, rows: list[Row]) -> list[Row]:
        include, exclude = policy.include_groups or [], policy.exclude_groups or []
        if not include and not exclude:
            return rows
        return [
            row
            for row in rows
            if (not include or self._in(include, row)) and not self._in(exclude, row)
        ]


def _load_states(detector: str, subjects: list[str]) -> dict[str, dict]:
    return dict(
        DetectorState.objects.filter(detector=detector, subject__in=subjects).values_list(
            "subject", "data"
        )
    )


def _save_states(tenant_id, ctx: Context) -> None:
    if not ctx.dirty:
        return
    now = timezone.now()
    DetectorState.objects.bulk_create(
        [
            DetectorState(
                tenant_id=tenant_id,
                detector=ctx.detector,
                subject=subject,
                data=ctx.peek(subject),
                updated_at=now,
            )
            for subject in sorted(ctx.dirty)
        ],
        update_conflicts=True,
        unique_fields=["tenant_id", "detector", "subject"],
        update_fields=["data", "updated_at"],
    )


def ensure_detection_policies(tenant) -> int:
    """Create the tenant's settings row of every built-in detection (on by default)."""
    existing = set(
        Policy.objects.filter(kind=PolicyKind.ANOMALY).values_list("detector", flat=True)
    )
    created = 0
    for key, detector in all_detectors().items():
        if key in existing:
            continue
        Policy.objects.create(
            kind=PolicyKind.ANOMALY,
            detector=key,
            name=detector.name,
            description=detector.description,
            severity=detector.severity,
            category=detector.category,
            tuning=detector.defaults(),
            dedupe_minutes=24 * 60,
            daily_alert_limit=50,
        )
        created += 1
    return created


def stale_batches(older_than: timedelta) -> dict[str, set]:
    """alias -> tenant ids with a batch waiting longer than `older_than` (for the beat job)."""
    from apps.tenants.routing import geo_aliases

    cutoff = timezone.now() - older_than
    waiting: dict[str, set] = {}
    for alias in sorted(geo_aliases() | {"default"}):
        tenant_ids = set(
            EvaluationBatch.unscoped_objects.using(alias)
            .filter(created_at__lt=cutoff)
            .values_list("tenant_id", flat=True)
            .distinct()
        )
        if tenant_ids:
            waiting[alias] = tenant_ids
    return waiting
