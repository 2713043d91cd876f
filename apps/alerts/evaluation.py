"""Policy evaluation: each ingested activity is evaluated exactly once, a batch at a time.

Ingestion writes one `EvaluationBatch` (the ids of the activities a chunk stored) in the chunk's
own transaction and enqueues `alerts.evaluate` for the tenant once it commits. The task calls
`evaluate_pending(tenant)`, which repeatedly, in one transaction each:

1. takes the tenant's evaluation lock (a PostgreSQL advisory lock: one evaluator per tenant at a
   time, so per-person memory is never updated twice concurrently; other tenants run in parallel),
2. claims the oldest batches (a few together, up to `GROUP_ACTIVITIES` activities), loads
   their activities with one query that also computes which active activity policies' filters
   each one meets (the activity log's own filter compiler, so a policy filter means exactly
   what it means in the log),
3. applies scope, single / repeated matching (`MatchWindow`) and the enabled anomaly detections
   (`apps.alerts.detectors`, with their `DetectorState`), raises or folds alerts
   (`apps.alerts.raising`) and records the policies' governance actions (pending, sent on commit),
4. deletes the batches.

Everything of one batch commits together or not at all: a task killed or retried half-way
leaves the batch in place and nothing of it written, so the next run evaluates it from scratch.
A beat job re-enqueues tenants whose batches wait too long (a lost message, a busy lock).
"""

from __future__ import annotations

import bisect
import json
import logging
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import compress
from operator import itemgetter

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router, transaction
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    Field,
    Func,
    JSONField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from apps.accounts.models import GroupMembership
from apps.activities.models import Activity
from apps.activities.query import FilterError, compile_filters
from apps.integrations import outbox
from apps.integrations.models import EventKind

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

# Batches evaluated together in one transaction (at most this many activities, unless one
# batch alone is larger): reading policies, memories, windows and counters is paid per group.
GROUP_BATCHES = 8
GROUP_ACTIVITIES = 20_000
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
    alert_ids: set = field(default_factory=set)  # raised or changed in the current group
    busy: bool = False  # another evaluator holds the tenant's lock
    more: bool = False  # stopped on the time budget with batches left


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
            waiting = list(
                EvaluationBatch.objects.select_for_update(skip_locked=True).order_by("created_at")[
                    :GROUP_BATCHES
                ]
            )
            if not waiting:
                return stats
            group, size = [], 0
            for batch in waiting:  # a few chunks together: the per-batch work is paid once
                if group and size + len(batch.activity_ids) > GROUP_ACTIVITIES:
                    break
                group.append(batch)
                size += len(batch.activity_ids)
            stats.alert_ids = set()
            engine.evaluate(group, stats, now or timezone.now())
            EvaluationBatch.objects.filter(pk__in=[batch.pk for batch in group]).delete()
            # Last: the outbox numbers its event under a row lock held until this commits.
            outbox.append(EventKind.ALERT, sorted(stats.alert_ids, key=str))
        stats.batches += len(group)
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

    def evaluate(self, batches: list[EvaluationBatch], stats: Stats, now: datetime) -> None:
        first_queued = min(batch.created_at for batch in batches)
        policies = list(Policy.objects.filter(enabled=True))
        activity_policies, compiled, late = [], [], {}
        for policy in policies:
            if policy.kind != PolicyKind.ACTIVITY:
                continue
            if policy.created_at > first_queued:
                # A policy judges what arrives after it exists (spec 3.1): only the batches
                # queued since it was created.
                since = {
                    activity_id
                    for batch in batches
                    if batch.created_at >= policy.created_at
                    for activity_id in batch.activity_ids
                }
                if not since:
                    continue
                late[policy.pk] = since
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

        oldest = min(batch.oldest for batch in batches)
        newest = max(batch.newest for batch in batches)
        queryset = in_list(
            Activity.objects.filter(occurred_at__gte=oldest, occurred_at__lte=newest),
            "id",
            [activity_id for batch in batches for activity_id in batch.activity_ids],
            "uuid",
        ).annotate(wanted_raw=_raw_wanted(detectors[p.detector] for p in anomaly_policies))
        width = len(ROW_FIELDS)
        columns = [name if name != "raw" else "wanted_raw" for name in ROW_FIELDS]
        filtered = [i for i, q in enumerate(compiled) if q is not None]
        postgres = connections[self.alias].vendor == "postgresql"
        if filtered and postgres:
            # One small array column: the positions (in `filtered`) of the filters a row meets.
            queryset = queryset.annotate(matched=MatchedFilters([compiled[i] for i in filtered]))
            extra = ["matched"]
        else:
            queryset = queryset.annotate(
                **{
                    f"p{i}": ExpressionWrapper(compiled[i], output_field=BooleanField())
                    for i in filtered
                }
            )
            extra = [f"p{i}" for i in filtered]
        queryset = queryset.order_by("occurred_at", "id")
        if postgres:
            loaded = _fetch_rows(queryset, columns, extra)
        else:
            loaded = list(queryset.values_list(*columns, *extra))
        rows = [Row(*values[:width]) for values in loaded]
        for row in rows:
            if row.raw is None:
                row.raw = {}
        stats.activities += len(rows)
        if not rows:
            return
        matches: list[list[Row]] = [rows if q is None else [] for q in compiled]
        if filtered and postgres:
            for row, values in zip(rows, loaded, strict=True):
                for position in values[width]:
                    matches[filtered[position]].append(row)
        else:
            for offset, i in enumerate(filtered):
                matches[i] = list(compress(rows, map(itemgetter(width + offset), loaded)))

        scope = Scope(policies)
        self.ledger = raising.Ledger(policies, rows[0].occurred_at, now)
        for policy, matched in zip(activity_policies, matches, strict=True):
            if policy.pk in late:
                since = late[policy.pk]
                matched = [row for row in matched if str(row.id) in since]
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
            store = StateStore(self.tenant.id, detector.key)
            ctx = Context(
                tenant=self.tenant,
                detector=detector.key,
                options=options,
                now=now,
                states={},
                loader=store.load,
            )
            findings = list(detector().detect(in_scope, ctx))
            store.save(ctx)
            self._raise(policy, findings, AlertType.ANOMALY, stats, now)
        self.ledger.write()

    def _raise(self, policy: Policy, findings: list[Finding], alert_type, stats: Stats, now):
        if not findings:
            return
        stats.findings += len(findings)
        raised = raising.raise_alerts(
            policy=policy, findings=findings, alert_type=alert_type, now=now, ledger=self.ledger
        )
        stats.alerts_created += len(raised.created)
        stats.alerts_updated += raised.updated
        stats.alert_ids.update(alert.pk for alert, _ in raised.created)
        stats.alert_ids.update(raised.updated_ids)
        stats.suppressed += raised.suppressed
        if policy.governance:
            from apps.governance.services import actions_for_alert

            for alert, finding in raised.created:
                stats.governance += actions_for_alert(policy=policy, alert=alert, rows=finding.rows)

    def _repeated(self, policy: Policy, matched: list[Row]) -> list[Finding]:
        """N matches within T minutes per subject: a finding each time the count reaches N.

        The policy's recent match times live in one `MatchWindow` row (subject -> times),
        pruned to the window on every batch, so its size follows the people active within
        the window, and a batch reads and writes one row per repeated policy.
        """
        span = policy.repeat_window_minutes * 60
        need = max(policy.repeat_count, 1)
        by_key: dict[str, list[Row]] = defaultdict(list)
        for row in matched:
            key = row.subject if policy.repeat_per_user else "*"
            if policy.repeat_per_app:
                key = f"{key}@{row.app_instance_id}"
            by_key[key].append(row)
        window = MatchWindow.objects.filter(policy=policy, subject="").first() or MatchWindow(
            tenant_id=self.tenant.id, policy=policy, subject="", times={}
        )
        known: dict[str, list[float]] = window.times if isinstance(window.times, dict) else {}
        findings = []
        for key, key_rows in by_key.items():
            times = known.get(key, [])
            recent: deque[Row] = deque()
            for row in key_rows:
                moment = row.occurred_at.timestamp()
                bisect.insort(times, moment)
                while recent and recent[0].occurred_at.timestamp() < moment - span:
                    recent.popleft()
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
                            rows=list(recent),
                        )
                    )
                    times, recent = [], deque()  # counting starts again after a trigger
                elif len(times) > need:
                    del times[: len(times) - need]
            known[key] = times
        newest = max((t[-1] for t in known.values() if t), default=0.0)
        window.times = {
            key: [t for t in times if t > newest - span]
            for key, times in known.items()
            if times and times[-1] > newest - span
        }
        window.save()
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
        )
        for subject, subject_rows in by_subject.items()
    ]


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


_TAGS = ROW_FIELDS.index("ip_tags")
_RAW = ROW_FIELDS.index("raw")


def _fetch_rows(queryset: QuerySet, columns: list[str], extra: list[str]) -> list[tuple]:
    """The rows of `queryset` as plain tuples, fetched in one go (PostgreSQL).

    `values_list()` fetches 100 rows at a time and runs a JSON decoder on every row's tags;
    here the JSON columns come as text and are decoded only when not empty (most rows have
    no tags and no raw record loaded).
    """
    queryset = queryset.annotate(
        tags_text=Cast("ip_tags", TextField()), raw_text=Cast("wanted_raw", TextField())
    )
    names = [
        "tags_text" if n == "ip_tags" else "raw_text" if n == "wanted_raw" else n for n in columns
    ]
    sql, params = queryset.values_list(*names, *extra).query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    loads = json.loads
    rows = []
    for values in fetched:
        values = list(values)
        tags = values[_TAGS]
        values[_TAGS] = [] if not tags or tags == "[]" else loads(tags)
        raw = values[_RAW]
        values[_RAW] = None if raw is None else loads(raw)
        rows.append(values)
    return rows


class MatchedFilters(Func):
    """`ARRAY_REMOVE(ARRAY[CASE WHEN <filter 0> THEN 0 END, ...], NULL)` (PostgreSQL).

    Fifty policies as fifty boolean columns cost more to fetch and convert than to compute;
    one array of the positions of the filters a row meets is a few bytes per row.
    """

    output_field = Field()

    def __init__(self, conditions: list[Q]):
        super().__init__(*(ExpressionWrapper(q, output_field=BooleanField()) for q in conditions))

    def as_sql(self, compiler, connection, **extra):
        parts, params = [], []
        for position, expression in enumerate(self.source_expressions):
            try:
                sql, values = compiler.compile(expression)
            except EmptyResultSet:
                continue  # a filter nothing can meet
            except FullResultSet:
                sql, values = "TRUE", ()
            parts.append(f"CASE WHEN {sql} THEN {position} END")
            params.extend(values)
        if not parts:
            return "ARRAY[]::int[]", []
        return f"ARRAY_REMOVE(ARRAY[{', '.join(parts)}]::int[], NULL)", params


def in_list(queryset: QuerySet, column: str, values: list, sql_type: str) -> QuerySet:
    """`column IN values` for thousands of values: one array parameter on PostgreSQL.

    `filter(column__in=values)` sends one parameter per value, and building and parsing a
    statement with 5,000 of them cost more than PostgreSQL took to run it.
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset.filter(**{f"{column}__in": values})
    table = queryset.model._meta.db_table
    name = queryset.model._meta.get_field(column).column
    # Only our own table and column names are interpolated; the values are one parameter.
    return queryset.extra(  # noqa: S610
        where=[f'"{table}"."{name}" = ANY(%s::{sql_type}[])'], params=[list(values)]
    )


def _raw_wanted(detectors) -> Case:
    """The `raw` column only for the rows some enabled detection reads it from, else NULL."""
    kinds, operations = set(), set()
    for detector in detectors:
        kinds |= detector.raw_activity_types
        operations |= detector.raw_action_types
    condition = Q(pk__in=[])
    if kinds:
        condition |= Q(activity_type__in=sorted(kinds))
    for operation in sorted(operations):
        condition |= Q(action_type__iexact=operation)
    return Case(When(condition, then=F("raw")), default=Value(None), output_field=JSONField())


class StateStore:
    """Loads and saves one detection's memory for a batch: one query each way.

    Only memories that changed are written: each is parsed twice at load, one copy for the
    detection to change and one kept as it was, compared at save (a C-speed deep equality,
    cheaper than serialising every memory to compare texts). On PostgreSQL they are written
    through COPY and one `INSERT ... ON CONFLICT DO UPDATE` rather than Django's bulk upsert,
    which spent more time building the statement than the database did running it.
    """

    def __init__(self, tenant_id, detector: str):
        self.tenant_id = tenant_id
        self.detector = detector
        self.pristine: dict[str, dict] = {}

    def load(self, detector: str, subjects: list[str]) -> dict[str, dict]:
        rows = in_list(
            DetectorState.objects.filter(detector=detector), "subject", subjects, "text"
        ).values_list("subject", Cast("data", TextField()))
        found = {}
        loads = json.loads
        for subject, text in rows:
            found[subject] = loads(text)
            self.pristine[subject] = loads(text)
        return found

    def save(self, ctx: Context) -> None:
        empty: dict = {}
        changed = []
        for subject in ctx.dirty:
            data = ctx.peek(subject)
            if data != self.pristine.get(subject, empty):
                changed.append((subject, _dump(data)))
        if not changed:
            return
        changed.sort()
        now = timezone.now()
        connection = connections[router.db_for_write(DetectorState)]
        if connection.vendor != "postgresql":
            DetectorState.objects.bulk_create(
                [
                    DetectorState(
                        tenant_id=self.tenant_id,
                        detector=self.detector,
                        subject=subject,
                        data=json.loads(text),
                        updated_at=now,
                    )
                    for subject, text in changed
                ],
                update_conflicts=True,
                unique_fields=["tenant_id", "detector", "subject"],
                update_fields=["data", "updated_at"],
            )
            return
        # COPY into a per-session staging table, then one INSERT ... ON CONFLICT: thousands of
        # memories per batch, written at COPY speed.
        table = DetectorState._meta.db_table
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS casb_state_staging "
                "(subject text, data jsonb) ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE casb_state_staging")
            with cursor.copy("COPY casb_state_staging (subject, data) FROM STDIN") as copy:
                for row in changed:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} (id, tenant_id, detector, subject, data, updated_at) "  # noqa: S608
                "SELECT gen_random_uuid(), %s, %s, subject, data, %s FROM casb_state_staging "
                "ON CONFLICT (tenant_id, detector, subject) "
                "DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
                [self.tenant_id, self.detector, now],
            )


def _dump(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def ensure_detection_policies(tenant) -> int:
    """Create the tenant's settings row of every built-in detection (on by default)."""
    existing = set(
        Policy.objects.filter(kind=PolicyKind.ANOMALY).values_list("detector", flat=True)
    )
    created = 0
    for key, detector in all_detectors().items():
        if key in existing:
            continue
        name = detector.name
        if Policy.objects.filter(name=name).exists():  # an admin's policy took the name
            name = f"{detector.name} (built-in detection)"
        Policy.objects.create(
            kind=PolicyKind.ANOMALY,
            detector=key,
            name=name[:200],
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
