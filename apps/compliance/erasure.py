"""Erasing a subject (see `personal` for what is found where and why): one step per area, in
`STEPS` order, each counting what it removed or redacted into the receipt.

Call inside the tenant's context. Alerts go first (they are found through the subject's
activities), the directory last (the other steps find rows by the subject's ids).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from django.db import connections, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from apps.accounts.models import Account, CloudUser

from .personal import (
    MIN_NAME,
    REDACTED,
    Subject,
    activities_q,
    alert_ids,
    audit_rows,
    file_rows,
    governance_rows,
    rows,
    sql_words,
)

Receipt = Counter  # kind -> rows removed or redacted
Step = Callable[[Subject, Receipt], None]


def prepare(subject: Subject) -> None:
    """Find the IP addresses only this subject used (their activities', no one else's), so they
    can be removed from shared alerts and discovery per-address usage."""
    from apps.activities.models import Activity

    theirs = set(
        Activity.objects.filter(activities_q(subject))
        .exclude(ip=None)
        .values_list("ip", flat=True)
        .distinct()
    )
    if theirs:
        shared = set(
            Activity.objects.filter(ip__in=theirs)
            .exclude(activities_q(subject))
            .values_list("ip", flat=True)
            .distinct()
        )
        theirs -= shared
    subject.only_ips = frozenset(str(ip) for ip in theirs)
    subject._pattern = None


def _erase_alerts(subject: Subject, receipt: Receipt) -> None:
    """A full erase deletes an alert naming no one else (no other person or account, no other
    activity); one shared with others stays for them, without this subject. The cleanup keeps
    every alert (retention removes it in time) without the subject."""
    from apps.activities.models import Activity
    from apps.alerts.models import Alert, AlertAccount, AlertActivity, AlertUser

    theirs = Activity.objects.filter(activities_q(subject)).values("id")
    for alert in Alert.objects.filter(pk__in=alert_ids(subject)):
        users = set(AlertUser.objects.filter(alert=alert).values_list("user_id", flat=True))
        accounts = set(
            AlertAccount.objects.filter(alert=alert).values_list("account_id", flat=True)
        )
        users.discard(subject.user_id)
        accounts -= set(subject.account_ids)
        others = AlertActivity.objects.filter(alert=alert).exclude(activity_id__in=theirs)
        if subject.full and not users and not accounts and not others.exists():
            alert.delete()  # cascades its links (AlertUser, AlertAccount, AlertApp, activities)
            receipt["alerts_deleted"] += 1
            continue
        removed = AlertAccount.objects.filter(
            alert=alert, account_id__in=subject.account_ids
        ).delete()[0]
        if subject.user_id is not None:
            removed += AlertUser.objects.filter(alert=alert, user_id=subject.user_id).delete()[0]
        receipt["alert_links"] += removed
        for name in ("title", "description", "comment", "evidence"):
            setattr(alert, name, subject.scrub(getattr(alert, name)))
        alert.dedupe_key = _scrub_key(subject, alert.dedupe_key)
        alert.ips = [ip for ip in (alert.ips or []) if str(ip) not in subject.only_ips]
        alert.save(
            update_fields=["title", "description", "comment", "dedupe_key", "evidence", "ips"]
        )
        receipt["alerts_redacted"] += 1


def _scrub_key(subject: Subject, key: str) -> str:
    """A dedupe key without the subject's detector key (`u:<person>`, `a:<account>`, names)."""
    for pk in [subject.user_id, *subject.account_ids]:
        if pk is not None:
            key = key.replace(str(pk), REDACTED)
    return subject.scrub(key)


def _erase_governance(subject: Subject, receipt: Receipt) -> None:
    for action in governance_rows(subject):
        action.account_id = None
        if subject.user_id is not None:
            action.user_id = None
        action.target_label = REDACTED
        action.target_ref = ""
        for name in ("params", "comment", "result", "error", "idempotency_key"):
            setattr(action, name, subject.scrub(getattr(action, name)))
        action.save()
        receipt["governance_redacted"] += 1


def _erase_detector_state(subject: Subject, receipt: Receipt) -> None:
    from apps.alerts.models import DetectorState, MatchWindow

    keys = subject.detector_keys
    receipt["detector_state"] += DetectorState.objects.filter(subject__in=keys).delete()[0]
    receipt["match_windows"] += MatchWindow.objects.filter(subject__in=keys).delete()[0]
    for window in MatchWindow.objects.all():
        times = window.times if isinstance(window.times, dict) else {}
        kept = {k: v for k, v in times.items() if k.split("@", 1)[0] not in keys}
        if len(kept) != len(times):
            window.times = kept
            window.save(update_fields=["times"])
            receipt["match_windows"] += len(times) - len(kept)


def _erase_discovery(subject: Subject, receipt: Receipt) -> None:
    from apps.discovery.models import AppIpDay

    receipt["discovery_usage"] += rows(subject, "discovery_usage").delete()[0]
    if subject.only_ips and subject.full:
        receipt["discovery_ip_usage"] += AppIpDay.objects.filter(ip__in=subject.only_ips).delete()[
            0
        ]


def _erase_files(subject: Subject, receipt: Receipt) -> None:
    """A full erase deletes the subject's file records with their matches (matches first, in one
    transaction per batch); the deleted-account cleanup keeps the records (the files may still
    exist in the app) without the owner and with the names scrubbed from name and location."""
    from apps.dlp.models import FileRecord, Match

    alias = subject.tenant.db_alias
    if subject.full:
        while ids := list(file_rows(subject).values_list("pk", flat=True)[:FILE_BATCH]):
            with transaction.atomic(using=alias):
                receipt["file_matches"] += Match.objects.filter(file_id__in=ids).delete()[0]
                receipt["files"] += FileRecord.objects.filter(pk__in=ids).delete()[0]
        return
    for record in file_rows(subject).iterator(chunk_size=200):
        record.owner = ""
        record.owner_account = None
        if subject.user_id is not None:
            record.owner_user = None
        record.name = subject.scrub(record.name)
        record.location = subject.scrub(record.location)
        record.save(update_fields=["owner", "owner_account", "owner_user", "name", "location"])
        receipt["files_stripped"] += 1


FILE_BATCH = 1000


def _scrub_rows(subject: Subject, queryset, fields: tuple[str, ...], kind: str, receipt) -> None:
    for row in queryset.iterator(chunk_size=200):
        changed = [f for f in fields if subject.scrub(getattr(row, f)) != getattr(row, f)]
        for name in changed:
            setattr(row, name, subject.scrub(getattr(row, name)))
        if changed:
            row.save(update_fields=changed)
            receipt[kind] += 1


def _erase_mentions(subject: Subject, receipt: Receipt) -> None:
    """Small admin-written tables that may name the person in free text or JSON."""
    from apps.alerts.models import Policy
    from apps.discovery.models import Upload

    from .models import SubjectRequest

    _scrub_rows(subject, Policy.objects.all(), ("filters", "description"), "policies", receipt)
    _scrub_rows(subject, Upload.objects.all(), ("skip_samples", "error"), "uploads", receipt)
    _scrub_rows(subject, SubjectRequest.objects.all(), ("reference",), "requests", receipt)


ACTIVITY_BATCH = 5000


def _activity_sql(subject: Subject) -> tuple[str, list]:
    where = "tenant_id = %s AND (account_id = ANY(%s::uuid[])"
    params: list = [subject.tenant.id, [str(pk) for pk in subject.account_ids]]
    if subject.user_id is not None:
        where += " OR user_id = %s"
        params.append(subject.user_id)
    if subject.names:
        where += " OR (user_id IS NULL AND account_id IS NULL AND lower(actor) = ANY(%s))"
        params.append(sorted(subject.names))
    return where + ")", params


def _strip_sql(subject: Subject) -> tuple[str, list]:
    """The cleanup's SET clause: what identifies the account goes, and the subject's names and
    display names leave object name and id (apps put the user's name there: OneDrive paths,
    mailboxes); the person link too when the person goes with the account."""
    sets = "account_id = NULL, actor = '', ip = NULL, user_agent = '', raw = '{}'::jsonb"
    params: list = []
    words = [w for w in subject.names | subject.display_names if len(w) >= MIN_NAME]
    if words:
        regex = sql_words(words)
        sets += (
            ", object_name = regexp_replace(object_name, %s, %s, 'gi')"
            ", object_id = regexp_replace(object_id, %s, %s, 'gi')"
        )
        params += [regex, REDACTED, regex, REDACTED]
    if subject.user_id is not None:
        sets += ", user_id = NULL"
    return sets, params


def _postgres(subject: Subject) -> bool:
    return connections[subject.tenant.db_alias].vendor == "postgresql"


def _activity_rows(subject: Subject):
    """The subject's activities as an ORM query (the demo's SQLite; PostgreSQL uses
    `_activity_sql` over the partitioned table)."""
    from apps.activities.models import Activity

    q = Q(account_id__in=list(subject.account_ids))
    if subject.user_id is not None:
        q |= Q(user_id=subject.user_id)
    rows = Activity.objects.annotate(actor_lower=Lower("actor"))
    if subject.names:
        q |= Q(user_id__isnull=True, account_id__isnull=True, actor_lower__in=sorted(subject.names))
    return rows.filter(q)


def _erase_activities_orm(subject: Subject, receipt: Receipt) -> None:
    """`_erase_activities` on a database without partitions (the demo's SQLite), by the ORM,
    in the same batches."""
    from apps.activities.models import Activity
    from apps.alerts.models import AlertActivity

    alias = subject.tenant.db_alias
    while True:  # a row deleted or stripped no longer matches: each batch takes new ones
        with transaction.atomic(using=alias):
            ids = list(_activity_rows(subject).values_list("pk", flat=True)[:ACTIVITY_BATCH])
            if subject.full:
                receipt["alert_links"] += AlertActivity.objects.filter(
                    activity_id__in=ids
                ).delete()[0]
                Activity.objects.filter(pk__in=ids).delete()
            else:
                rows = list(Activity.objects.filter(pk__in=ids))
                for row in rows:
                    row.account_id, row.actor, row.ip, row.user_agent, row.raw = (
                        None,
                        "",
                        None,
                        "",
                        {},
                    )
                    row.object_name = subject.scrub(row.object_name)
                    row.object_id = subject.scrub(row.object_id)
                    if subject.user_id is not None:
                        row.user_id = None
                fields = ["account_id", "actor", "ip", "user_agent", "raw", "object_name"]
                Activity.objects.bulk_update(rows, [*fields, "object_id", "user_id"])
        receipt["activities" if subject.full else "activities_stripped"] += len(ids)
        if len(ids) < ACTIVITY_BATCH:
            break


def _erase_activities(subject: Subject, receipt: Receipt) -> None:
    """Batches of ACTIVITY_BATCH rows, each its own transaction, over the parent table (the
    planner visits every day partition; user_id is indexed per partition). A full erase deletes
    the rows and their alert links; the cleanup clears what identifies the account."""
    from apps.activities.models import Activity
    from apps.alerts.models import AlertActivity

    if not _postgres(subject):
        _erase_activities_orm(subject, receipt)
        return
    table = Activity._meta.db_table
    alias = subject.tenant.db_alias
    where, params = _activity_sql(subject)
    pick = f'SELECT id, occurred_at FROM "{table}" WHERE {where} LIMIT %s'  # noqa: S608
    if subject.full:
        sql = f'DELETE FROM "{table}" WHERE (id, occurred_at) IN ({pick}) RETURNING id'  # noqa: S608
        set_params: list = []
    else:
        sets, set_params = _strip_sql(subject)
        sql = (
            f'UPDATE "{table}" SET {sets} '  # noqa: S608
            f"WHERE (id, occurred_at) IN ({pick}) RETURNING id"
        )
    while True:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(sql, [*set_params, *params, ACTIVITY_BATCH])
            ids = [row[0] for row in cursor.fetchall()]
            if subject.full and ids:
                receipt["alert_links"] += AlertActivity.objects.filter(
                    activity_id__in=ids
                ).delete()[0]
        receipt["activities" if subject.full else "activities_stripped"] += len(ids)
        if len(ids) < ACTIVITY_BATCH:
            break


MENTION_BATCH = 1000


def _mention_sql(subject: Subject) -> tuple[str, list]:
    """Activities naming the subject by a unique name: object name or id equal to one, or a
    string of the raw event equal to one (its JSON text holds the name in quotes)."""
    names = sorted(subject.names)
    quoted = [
        "%"
        + json.dumps(n, ensure_ascii=False)
        .replace("\\", "\\\\")
        .replace("%", "\\%")
        .replace("_", "\\_")
        + "%"
        for n in names
    ]
    where = (
        "tenant_id = %s AND (lower(object_name) = ANY(%s) OR lower(object_id) = ANY(%s) "
        "OR lower(raw::text) LIKE ANY(%s))"
    )
    return where, [subject.tenant.id, names, names, quoted]


def _erase_activity_mentions(subject: Subject, receipt: Receipt) -> None:
    """Other people's activities about the subject (an admin's password reset of them) stay
    for the other person, with the subject's names and display names replaced in object name,
    object id and raw event; in batches, each its own transaction. Runs after the subject's own
    activities are gone. Full erase only: finding them reads every activity of the tenant (no
    index helps), affordable once per request but not once per account of a daily cleanup,
    which strips the account's own activities (`_strip_sql`)."""
    from apps.activities.models import Activity

    if not subject.full or not subject.names:
        return
    if not _postgres(subject):
        _erase_activity_mentions_orm(subject, receipt)
        return
    table = Activity._meta.db_table
    alias = subject.tenant.db_alias
    where, params = _mention_sql(subject)
    # One scan finds them all (no index helps: it reads every partition once); each batch then
    # locks and rewrites its rows by key, in its own transaction.
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f'SELECT id, occurred_at FROM "{table}" WHERE {where}',  # noqa: S608
            params,
        )
        keys = cursor.fetchall()
    pick = (
        f'SELECT id, occurred_at, object_name, object_id, raw FROM "{table}" '  # noqa: S608
        "WHERE tenant_id = %s AND id = ANY(%s::uuid[]) FOR UPDATE"
    )
    update = (
        f'UPDATE "{table}" SET object_name = %s, object_id = %s, raw = %s::jsonb '  # noqa: S608
        "WHERE tenant_id = %s AND id = %s AND occurred_at = %s"
    )
    for start in range(0, len(keys), MENTION_BATCH):
        ids = [str(pk) for pk, _ in keys[start : start + MENTION_BATCH]]
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(pick, [subject.tenant.id, ids])
            found = cursor.fetchall()
            cursor.executemany(
                update,
                [
                    (
                        subject.scrub(name),
                        subject.scrub(ref),
                        json.dumps(subject.scrub(_json(raw))),
                        subject.tenant.id,
                        pk,
                        at,
                    )
                    for pk, at, name, ref, raw in found
                ],
            )
        receipt["activity_mentions"] += len(found)


def _erase_activity_mentions_orm(subject: Subject, receipt: Receipt) -> None:
    """`_erase_activity_mentions` on the demo's SQLite: the same test, in Python."""
    from apps.activities.models import Activity

    names = subject.names
    quoted = [json.dumps(n, ensure_ascii=False) for n in names]
    found = []
    for row in Activity.objects.only("id", "object_name", "object_id", "raw").iterator():
        raw = json.dumps(row.raw, ensure_ascii=False).lower()
        if (
            (row.object_name or "").lower() in names
            or (row.object_id or "").lower() in names
            or any(q in raw for q in quoted)
        ):
            row.object_name = subject.scrub(row.object_name)
            row.object_id = subject.scrub(row.object_id)
            row.raw = subject.scrub(row.raw)
            found.append(row)
    for start in range(0, len(found), MENTION_BATCH):
        with transaction.atomic(using=subject.tenant.db_alias):
            Activity.objects.bulk_update(
                found[start : start + MENTION_BATCH], ["object_name", "object_id", "raw"]
            )
    receipt["activity_mentions"] += len(found)


def _json(raw):
    return json.loads(raw) if isinstance(raw, str | bytes) else raw


def _erase_directory(subject: Subject, receipt: Receipt) -> None:
    from apps.accounts.models import GroupMembership
    from apps.alerts.models import AlertAccount, AlertUser

    ids = subject.account_ids
    receipt["memberships"] += GroupMembership.objects.filter(account_id__in=ids).delete()[0]
    receipt["alert_links"] += AlertAccount.objects.filter(account_id__in=ids).delete()[0]
    receipt["accounts"] += Account.objects.filter(pk__in=ids).delete()[1].get("accounts.Account", 0)
    if subject.user_id is not None:
        receipt["alert_links"] += AlertUser.objects.filter(user_id=subject.user_id).delete()[0]
        receipt["profile"] += (
            CloudUser.objects.filter(pk=subject.user_id).delete()[1].get("accounts.CloudUser", 0)
        )


STEPS: tuple[Step, ...] = (
    _erase_alerts,
    _erase_governance,
    _erase_detector_state,
    _erase_discovery,
    _erase_files,
    _erase_mentions,
    _erase_activities,
    _erase_activity_mentions,
    _erase_directory,
)


def erase(subject: Subject) -> Receipt:
    """Erase the subject everywhere (call inside the tenant's context); returns the receipt.

    A full erase also counts the audit events about the subject, which are kept (`KEPT`)."""
    receipt: Receipt = Counter()
    if subject.full:
        receipt["audit_events_retained"] = audit_rows(subject).count()
    prepare(subject)
    for step in STEPS:
        step(subject, receipt)
    return receipt
