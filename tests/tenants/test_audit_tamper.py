"""T27, audit chain tamper evidence: N records, T random tampering trials made directly in the
database (triggers bypassed as a superuser would), each must be flagged by `verify_chain` and by
`manage.py verify_audit`. Every trial runs in a savepoint that is rolled back afterwards.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import time
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from apps.tenants import audit
from apps.tenants.models import AuditEvent

N_RECORDS = 200
N_TRIALS = 30
TABLE = "tenants_auditevent"


class _Restore(Exception):
    """Raised to roll a trial's savepoint back."""


def build_chain(tenant, n: int) -> None:
    rng = random.Random(n)
    actions = ["auth.login", "auth.failed", "role.changed", "settings.changed", "token.created"]
    for i in range(n):
        audit.record(
            tenant,
            rng.choice(actions),
            actor=f"user{i % 7}@alpha.test",
            ip=f"192.0.2.{i % 250 + 1}",
            details={"i": i, "note": f"entry {i}", "nested": {"k": [i, str(i)]}},
        )


def _row(tenant, seq: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT actor_id, actor_label, ip, action, object_type, object_id, details::text,"  # noqa: S608
            f" created_at, prev_hash, hash FROM {TABLE} WHERE tenant_id = %s AND seq = %s",
            [tenant.id, seq],
        )
        names = [c.name for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def _sql(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _forge(tenant, seq: int, prev_hash: str, valid: bool) -> None:
    """Insert a made-up record; with `valid` its hash is correct for its content and link."""
    event = AuditEvent(
        tenant_id=tenant.id,
        seq=seq,
        created_at=dt.datetime.now(dt.UTC),
        actor_label="mallory",
        ip="198.51.100.66",
        action="role.changed",
        details={"member": "mallory", "to": "global_admin"},
        prev_hash=prev_hash,
    )
    event.hash = audit.chain_hash(prev_hash, event) if valid else uuid.uuid4().hex * 2
    _sql(
        f"INSERT INTO {TABLE} (id, tenant_id, seq, created_at, actor_id, actor_label, ip, action,"  # noqa: S608
        " object_type, object_id, details, prev_hash, hash)"
        " VALUES (%s, %s, %s, %s, NULL, %s, %s, %s, '', '', %s::jsonb, %s, %s)",
        [
            uuid.uuid4(),
            tenant.id,
            seq,
            event.created_at,
            event.actor_label,
            event.ip,
            event.action,
            json.dumps(event.details),
            prev_hash,
            event.hash,
        ],
    )


def _recompute_from(tenant, seq: int) -> None:
    """What an attacker without a secret does after an edit: rehash the rest of the chain."""
    prev = _row(tenant, seq - 1)["hash"] if seq > 1 else audit.GENESIS
    events = list(AuditEvent.unscoped_objects.filter(tenant_id=tenant.id, seq__gte=seq))
    for event in sorted(events, key=lambda e: e.seq):
        event.prev_hash = prev
        event.hash = audit.chain_hash(prev, event)
        _sql(
            f"UPDATE {TABLE} SET prev_hash = %s, hash = %s WHERE id = %s",  # noqa: S608
            [event.prev_hash, event.hash, event.id],
        )
        prev = event.hash


def tamper(kind: str, tenant, seq: int, other: int, n: int) -> str:
    t = [tenant.id, seq]
    where = "WHERE tenant_id = %s AND seq = %s"
    if kind == "update_details":
        _sql(f"UPDATE {TABLE} SET details = details || '{{\"x\": 1}}'::jsonb {where}", t)  # noqa: S608
    elif kind == "update_action":
        _sql(f"UPDATE {TABLE} SET action = 'audit.exported' {where}", t)  # noqa: S608
    elif kind == "update_actor":
        _sql(f"UPDATE {TABLE} SET actor_label = 'mallory', actor_id = 666 {where}", t)  # noqa: S608
    elif kind == "update_ip":
        _sql(f"UPDATE {TABLE} SET ip = '198.51.100.66' {where}", t)  # noqa: S608
    elif kind == "update_time":
        _sql(f"UPDATE {TABLE} SET created_at = created_at - interval '1 hour' {where}", t)  # noqa: S608
    elif kind == "update_hash":
        _sql(f"UPDATE {TABLE} SET hash = md5(hash) || md5(hash) {where}", t)  # noqa: S608
    elif kind == "update_prev_hash":
        _sql(f"UPDATE {TABLE} SET prev_hash = md5(prev_hash) || md5(hash) {where}", t)  # noqa: S608
    elif kind == "delete_middle":
        _sql(f"DELETE FROM {TABLE} {where}", t)  # noqa: S608
    elif kind == "delete_first":
        _sql(f"DELETE FROM {TABLE} {where}", [tenant.id, 1])  # noqa: S608
    elif kind == "delete_last":
        _sql(f"DELETE FROM {TABLE} {where}", [tenant.id, n])  # noqa: S608
    elif kind == "delete_tail":
        _sql(f"DELETE FROM {TABLE} WHERE tenant_id = %s AND seq > %s", [tenant.id, n - 3])  # noqa: S608
    elif kind == "swap_order":
        # Renumber two records into each other's place (0 is free: the chain starts at 1).
        low, high = sorted((seq, other))
        _sql(f"UPDATE {TABLE} SET seq = 0 {where}", [tenant.id, low])  # noqa: S608
        _sql(f"UPDATE {TABLE} SET seq = %s {where}", [low, tenant.id, high])  # noqa: S608
        _sql(f"UPDATE {TABLE} SET seq = %s {where}", [high, tenant.id, 0])  # noqa: S608
    elif kind == "swap_content":
        a, b = _row(tenant, seq), _row(tenant, other)
        for target, source in ((seq, b), (other, a)):
            _sql(
                f"UPDATE {TABLE} SET actor_id = %s, actor_label = %s, ip = %s, action = %s,"  # noqa: S608
                f" details = %s::jsonb, created_at = %s {where}",
                [
                    source["actor_id"],
                    source["actor_label"],
                    source["ip"],
                    source["action"],
                    source["details"],
                    source["created_at"],
                    tenant.id,
                    target,
                ],
            )
    elif kind == "insert_forged_end":
        _forge(tenant, n + 1, _row(tenant, n)["hash"], valid=False)
    elif kind == "insert_forged_middle":
        # Make room after `seq`, then slip in a record whose own hash and link are correct.
        _sql(
            f"UPDATE {TABLE} SET seq = seq + 1000000 WHERE tenant_id = %s AND seq > %s",  # noqa: S608
            t,
        )
        _sql(
            f"UPDATE {TABLE} SET seq = seq - 1000000 + 1 WHERE tenant_id = %s AND seq > 1000000",  # noqa: S608
            [tenant.id],
        )
        _forge(tenant, seq + 1, _row(tenant, seq)["hash"], valid=True)
    elif kind == "rewrite_and_recompute":
        _sql(f"UPDATE {TABLE} SET details = '{{\"rewritten\": true}}'::jsonb {where}", t)  # noqa: S608
        _recompute_from(tenant, seq)
    else:
        raise AssertionError(kind)
    return kind


KINDS = [
    "update_details",
    "update_action",
    "update_actor",
    "update_ip",
    "update_time",
    "update_hash",
    "update_prev_hash",
    "delete_middle",
    "delete_first",
    "delete_last",
    "delete_tail",
    "swap_order",
    "swap_content",
    "insert_forged_end",
    "insert_forged_middle",
    "rewrite_and_recompute",
]


def _command_flags(tenant) -> bool:
    out = io.StringIO()
    try:
        call_command("verify_audit", "--tenant", tenant.slug, stdout=out)
    except CommandError:
        return "BROKEN" in out.getvalue()
    return False


def test_t27_every_tampering_trial_is_detected(tenant_a):
    build_chain(tenant_a, N_RECORDS)
    started = time.perf_counter()
    clean = audit.verify_chain(tenant_a)
    verify_seconds = time.perf_counter() - started
    assert clean.ok and clean.records == N_RECORDS
    # The nightly task's anchor: without it, cutting the tail or rehashing is invisible.
    assert audit.anchor_head(tenant_a, clean) is not None

    rng = random.Random(27)
    kinds = KINDS + [rng.choice(KINDS) for _ in range(N_TRIALS - len(KINDS))]
    rng.shuffle(kinds)
    undetected = []
    for kind in kinds:
        seq = rng.randint(2, N_RECORDS - 1)
        other = rng.choice([s for s in range(2, N_RECORDS) if abs(s - seq) > 1])
        try:
            with transaction.atomic():
                _sql("SET LOCAL session_replication_role = replica", [])
                tamper(kind, tenant_a, seq, other, N_RECORDS)
                report = audit.verify_chain(tenant_a)
                by_command = _command_flags(tenant_a)
                if report.ok or not by_command:
                    undetected.append((kind, seq, report))
                raise _Restore
        except _Restore:
            pass
    assert audit.verify_chain(tenant_a).ok, "a trial leaked out of its savepoint"
    print(
        f"\nT27: N={N_RECORDS} entries, T={len(kinds)} tamper trials "
        f"({len(set(kinds))} kinds), {len(undetected)} undetected; "
        f"verify time for N: {verify_seconds * 1000:.1f} ms"
    )
    assert undetected == []


def test_first_broken_record_is_named(tenant_a):
    build_chain(tenant_a, 20)
    with transaction.atomic():
        _sql("SET LOCAL session_replication_role = replica", [])
        tamper("update_details", tenant_a, 7, 0, 20)
        report = audit.verify_chain(tenant_a)
        out = io.StringIO()
        with pytest.raises(CommandError):
            call_command("verify_audit", stdout=out)
        transaction.set_rollback(True)
    assert (report.first_broken_seq, report.reason) == (7, "content does not match hash")
    assert "alpha: BROKEN at record #7: content does not match hash" in out.getvalue()


def test_delete_middle_names_the_missing_record(tenant_a):
    build_chain(tenant_a, 20)
    with transaction.atomic():
        _sql("SET LOCAL session_replication_role = replica", [])
        tamper("delete_middle", tenant_a, 11, 0, 20)
        report = audit.verify_chain(tenant_a)
        transaction.set_rollback(True)
    assert report.first_broken_seq == 11
    assert "missing" in report.reason


def test_blind_spot_records_after_the_last_anchor(tenant_a):
    """The documented limit: a record appended after the last anchor can be cut off (or the
    tail rehashed) unnoticed, until the next anchor covers it."""
    build_chain(tenant_a, 10)
    audit.anchor_head(tenant_a, audit.verify_chain(tenant_a))
    audit.record(tenant_a, "auth.login", actor="late@alpha.test")
    with transaction.atomic():
        _sql("SET LOCAL session_replication_role = replica", [])
        tamper("delete_last", tenant_a, 0, 0, 11)
        assert audit.verify_chain(tenant_a).ok  # not detectable: nothing anchored #11
        transaction.set_rollback(True)
    audit.anchor_head(tenant_a, audit.verify_chain(tenant_a))
    with transaction.atomic():
        _sql("SET LOCAL session_replication_role = replica", [])
        tamper("delete_last", tenant_a, 0, 0, 11)
        report = audit.verify_chain(tenant_a)
        transaction.set_rollback(True)
    assert not report.ok and report.first_broken_seq == 11
