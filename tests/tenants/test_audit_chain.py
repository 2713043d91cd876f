"""The audit log is append-only in PostgreSQL, verifiable by command and by the nightly task."""

from __future__ import annotations

import datetime as dt
import io
import logging
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from apps.tenants import audit
from apps.tenants.models import ApiToken, AuditAnchor, AuditEvent
from apps.tenants.scoping import tenant_context
from apps.tenants.tasks import purge_expired_api_tokens, verify_audit_chains
from tests.factories import make_tenant


def _refused(callable_, using: str = "default") -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(using=using):
        callable_()
    return str(caught.value)


def test_orm_update_and_delete_are_refused(tenant_a):
    event = audit.record(tenant_a, "auth.login", actor="alice")
    with tenant_context(tenant_a):
        assert "append-only: UPDATE refused" in _refused(
            lambda: AuditEvent.objects.filter(pk=event.pk).update(action="x")
        )
        assert "append-only: DELETE refused" in _refused(lambda: event.delete())
        assert "append-only" in _refused(lambda: AuditEvent.objects.all().delete())
        assert AuditEvent.objects.get(pk=event.pk).action == "auth.login"


def test_raw_sql_update_is_refused(tenant_a):
    audit.record(tenant_a, "auth.login", actor="alice")

    def update():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tenants_auditevent SET details = '{}'::jsonb")

    assert "append-only" in _refused(update)


def test_purge_allowed_permits_delete_only_inside_the_block(tenant_a):
    first = audit.record(tenant_a, "auth.login", actor="alice")
    second = audit.record(tenant_a, "auth.login", actor="alice")
    with tenant_context(tenant_a):
        with audit.purge_allowed("default"):
            AuditEvent.objects.filter(pk=first.pk).delete()
            # Purging never allows rewriting.
            assert "UPDATE refused" in _refused(
                lambda: AuditEvent.objects.filter(pk=second.pk).update(action="x")
            )
        assert not AuditEvent.objects.filter(pk=first.pk).exists()
        # Same transaction, after the block: refused again.
        assert "DELETE refused" in _refused(lambda: second.delete())


def test_a_non_superuser_role_cannot_bypass_the_trigger(tenant_a):
    """Even with UPDATE/DELETE granted, an ordinary role hits the trigger and cannot turn it
    off (only a superuser or the table owner can). Production should grant SELECT, INSERT."""
    audit.record(tenant_a, "auth.login", actor="alice")
    role = f"casb_t27_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON tenants_auditevent TO {role}")
        cursor.execute(f"SET ROLE {role}")
    try:

        def run(sql):
            return lambda: connection.cursor().execute(sql)

        assert "append-only" in _refused(run("UPDATE tenants_auditevent SET action = 'x'"))
        assert "append-only" in _refused(run("DELETE FROM tenants_auditevent"))
        assert "permission denied" in _refused(run("SET session_replication_role = replica"))
        assert "owner" in _refused(run("ALTER TABLE tenants_auditevent DISABLE TRIGGER ALL"))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.mark.django_db(databases=["default", "geo_us"])
def test_trigger_exists_in_every_geo_database():
    us = make_tenant("Yankee", geo="us")
    event = audit.record(us, "auth.login", actor="yank")
    assert event._state.db == "geo_us"

    def update():
        with connections["geo_us"].cursor() as cursor:
            cursor.execute("UPDATE tenants_auditevent SET action = 'x'")

    assert "append-only" in _refused(update, using="geo_us")
    assert audit.verify_chain(us).ok


def test_anchors_are_append_only(tenant_a):
    audit.record(tenant_a, "auth.login")
    anchor = audit.anchor_head(tenant_a, audit.verify_chain(tenant_a))
    assert "UPDATE refused" in _refused(
        lambda: AuditAnchor.objects.filter(pk=anchor.pk).update(hash="0" * 64)
    )


def test_odd_addresses_and_nul_bytes_still_verify(tenant_a):
    audit.record(tenant_a, "auth.failed", ip="::ffff:192.0.2.7", details={"user": "a\x00b"})
    audit.record(tenant_a, "auth.failed", ip="2001:0DB8:0000::0005", actor="x\x00y")
    audit.record(tenant_a, "auth.failed", details={"n": 1.5, "big": 2**62, "list": [None, True]})
    with tenant_context(tenant_a):
        ips = list(AuditEvent.objects.order_by("seq").values_list("ip", flat=True))
    assert ips[:2] == ["192.0.2.7", "2001:db8::5"]
    assert audit.verify_chain(tenant_a).ok


def test_verify_audit_command_reports_each_tenant(tenant_a, tenant_b):
    for _ in range(3):
        audit.record(tenant_a, "auth.login")
    audit.record(tenant_b, "auth.login")
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    text = out.getvalue()
    assert "alpha: 3 records OK" in text
    assert "bravo: 1 records OK" in text
    out = io.StringIO()
    call_command("verify_audit", "--tenant", "bravo", stdout=out)
    assert "alpha" not in out.getvalue()


def test_verify_audit_command_unknown_tenant(tenant_a):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("verify_audit", "--tenant", "nope", stdout=io.StringIO())


def _break_chain(tenant, seq: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE tenants_auditevent SET action = 'forged' WHERE tenant_id = %s AND seq = %s",
            [tenant.id, seq],
        )


def test_nightly_task_anchors_intact_chains_idempotently(tenant_a, tenant_b):
    for _ in range(4):
        audit.record(tenant_a, "auth.login")
    assert verify_audit_chains() == {"tenants": 2, "broken": 0}
    assert verify_audit_chains() == {"tenants": 2, "broken": 0}
    anchors = list(AuditAnchor.objects.filter(tenant_id=tenant_a.id).values_list("seq", "hash"))
    with tenant_context(tenant_a):
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    assert anchors == [head]


def test_nightly_task_logs_a_broken_chain_and_does_not_write_into_it(tenant_a, caplog):
    for _ in range(5):
        audit.record(tenant_a, "auth.login")
    with transaction.atomic():
        _break_chain(tenant_a, 3)
        with caplog.at_level(logging.INFO):
            result = verify_audit_chains()
        with tenant_context(tenant_a):
            count = AuditEvent.objects.count()
        transaction.set_rollback(True)
    assert result["broken"] == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("first_broken_seq=3" in e and "slug=alpha" in e for e in errors)
    assert count == 5  # nothing appended to the suspect chain
    assert not AuditAnchor.objects.filter(tenant_id=tenant_a.id).exists()


def _token(tenant, user, name, **kwargs) -> ApiToken:
    return ApiToken.objects.create(
        tenant=tenant,
        created_by=user,
        name=name,
        role="security_reader",
        prefix=name[:8],
        key_hash=uuid.uuid4().hex * 2,
        **kwargs,
    )


def test_purge_expired_api_tokens(tenant_a, alice):
    now = timezone.now()
    old = now - dt.timedelta(days=31)
    recent = now - dt.timedelta(days=29)
    _token(tenant_a, alice, "expired-old", expires_at=old)
    _token(tenant_a, alice, "revoked-old", revoked_at=old)
    _token(tenant_a, alice, "expired-recent", expires_at=recent)
    _token(tenant_a, alice, "revoked-recent", revoked_at=recent)
    _token(tenant_a, alice, "live", expires_at=now + dt.timedelta(days=30))
    _token(tenant_a, alice, "forever")
    assert purge_expired_api_tokens() == 2
    assert purge_expired_api_tokens() == 0  # idempotent
    assert set(ApiToken.objects.values_list("name", flat=True)) == {
        "expired-recent",
        "revoked-recent",
        "live",
        "forever",
    }


def test_beat_tasks_of_this_app_are_registered():
    from casb.celery import BEAT_SCHEDULE, app

    app.loader.import_default_modules()
    names = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {"tenants.verify_audit_chains", "tenants.purge_expired_api_tokens"} <= names
    assert {"tenants.verify_audit_chains", "tenants.purge_expired_api_tokens"} <= set(app.tasks)
