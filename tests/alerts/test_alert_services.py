"""Alert triage services: transitions, validation (field + reason, nothing written), audit, and
bulk operations that never reach another tenant's alerts."""

from __future__ import annotations

import pytest

from apps.activities import partitions
from apps.alerts import services
from apps.alerts.models import Alert, AlertStatus, Resolution
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context

from .alertdata import directory, make_alert

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def world(tenant_a):
    app, bob, _ = directory(tenant_a)
    return {"app": app, "bob": bob, "alert": make_alert(tenant_a, app=app, person=bob)}


def _fresh(tenant, alert) -> Alert:
    with tenant_context(tenant):
        return Alert.objects.get(pk=alert.pk)


def _audit(tenant, alert) -> list[tuple[str, dict]]:
    with tenant_context(tenant):
        return list(
            AuditEvent.objects.filter(object_id=str(alert.pk))
            .order_by("seq")
            .values_list("action", "details")
        )


def test_open_in_progress_resolve_and_reopen(tenant_a, sam, world):
    alert = world["alert"]
    assert alert.status == AlertStatus.OPEN and not alert.read
    services.change_status(tenant=tenant_a, actor=sam, alert=alert, status="in_progress")
    assert _fresh(tenant_a, alert).status == AlertStatus.IN_PROGRESS
    services.resolve(
        tenant=tenant_a,
        actor=sam,
        alert=alert,
        resolution=Resolution.BENIGN_TRUE_POSITIVE,
        reason="test",
        comment="  Pen test week.  ",
    )
    closed = _fresh(tenant_a, alert)
    assert closed.status == AlertStatus.RESOLVED
    assert (closed.resolution, closed.resolution_reason, closed.comment) == (
        "benign_true_positive",
        "test",
        "Pen test week.",
    )
    assert closed.resolved_by_id == sam.pk and closed.resolved_by_label
    assert closed.resolved_at is not None
    # Reopening clears the verdict; the audit log keeps it.
    services.change_status(tenant=tenant_a, actor=sam, alert=alert, status="open")
    reopened = _fresh(tenant_a, alert)
    assert reopened.status == AlertStatus.OPEN
    assert (reopened.resolution, reopened.resolution_reason, reopened.comment) == ("", "", "")
    assert reopened.resolved_at is None and reopened.resolved_by_id is None
    actions = [action for action, _ in _audit(tenant_a, alert)]
    assert actions == ["alert.status_changed", "alert.resolved", "alert.reopened"]
    resolved = dict(_audit(tenant_a, alert))["alert.resolved"]
    assert resolved["resolution"] == "benign_true_positive" and resolved["reason"] == "test"
    assert resolved["number"] == alert.number


def test_dismiss_and_the_closed_alert_refuses_a_second_close(tenant_a, sam, world):
    alert = world["alert"]
    services.dismiss(tenant=tenant_a, actor=sam, alert=alert, comment="noise")
    closed = _fresh(tenant_a, alert)
    assert closed.status == AlertStatus.DISMISSED and closed.comment == "noise"
    assert closed.resolution == ""
    for call in (
        lambda: services.dismiss(tenant=tenant_a, actor=sam, alert=alert),
        lambda: services.resolve(
            tenant=tenant_a,
            actor=sam,
            alert=alert,
            resolution="true_positive",
            reason="confirmed_malicious",
        ),
    ):
        with pytest.raises(services.AlertRefused) as refused:
            call()
        assert "status" in refused.value.problems
    assert _fresh(tenant_a, alert).status == AlertStatus.DISMISSED


@pytest.mark.parametrize(
    ("resolution", "reason", "comment", "field"),
    [
        ("", "test", "", "resolution"),
        ("maybe", "test", "", "resolution"),
        ("false_positive", "", "", "reason"),
        # "Triggered by test" is a benign reason, not a false-positive one (spec 2.2).
        ("false_positive", "test", "", "reason"),
        ("true_positive", "not_of_interest", "", "reason"),
        ("true_positive", "confirmed_malicious", "x" * 2001, "comment"),
    ],
)
def test_bad_resolutions_are_refused_with_the_field(
    tenant_a, sam, world, resolution, reason, comment, field
):
    alert = world["alert"]
    with pytest.raises(services.AlertRefused) as refused:
        services.resolve(
            tenant=tenant_a,
            actor=sam,
            alert=alert,
            resolution=resolution,
            reason=reason,
            comment=comment,
        )
    assert field in refused.value.problems
    assert _fresh(tenant_a, alert).status == AlertStatus.OPEN
    assert _audit(tenant_a, alert) == []


@pytest.mark.parametrize("status", ["resolved", "dismissed", "closed", "", None])
def test_status_change_only_moves_between_open_and_in_progress(tenant_a, sam, world, status):
    with pytest.raises(services.AlertRefused) as refused:
        services.change_status(tenant=tenant_a, actor=sam, alert=world["alert"], status=status)
    assert "status" in refused.value.problems


def test_no_change_writes_no_audit(tenant_a, sam, world):
    alert = world["alert"]
    services.change_status(tenant=tenant_a, actor=sam, alert=alert, status="open")
    services.assign(tenant=tenant_a, actor=sam, alert=alert, assignee_id=None)
    services.mark_read(tenant=tenant_a, actor=sam, alert=alert, read=False)
    assert _audit(tenant_a, alert) == []


def test_assign_to_members_who_may_triage_only(tenant_a, alice, sam, rita, charlie, world):
    alert = world["alert"]
    services.assign(tenant=tenant_a, actor=alice, alert=alert, assignee_id=sam.pk)
    fresh = _fresh(tenant_a, alert)
    assert fresh.assignee_id == sam.pk
    assert fresh.assignee_label == (sam.get_full_name() or sam.username)
    for user_id, reason in (
        (charlie.pk, "Not a member"),  # a member of B only
        (rita.pk, "cannot triage"),  # a reader may not triage, so cannot own an alert
        (999_999, "Not a member"),
        ("12", "whole number"),
    ):
        with pytest.raises(services.AlertRefused) as refused:
            services.assign(tenant=tenant_a, actor=alice, alert=alert, assignee_id=user_id)
        assert reason in refused.value.problems["assignee"]
    assert _fresh(tenant_a, alert).assignee_id == sam.pk
    services.assign(tenant=tenant_a, actor=alice, alert=alert, assignee_id=None)
    assert _fresh(tenant_a, alert).assignee_label == ""
    actions = [action for action, _ in _audit(tenant_a, alert)]
    assert actions == ["alert.assigned", "alert.unassigned"]


def test_read_and_unread(tenant_a, sam, world):
    alert = world["alert"]
    services.mark_read(tenant=tenant_a, actor=sam, alert=alert)
    assert _fresh(tenant_a, alert).read
    services.mark_read(tenant=tenant_a, actor=sam, alert=alert, read=False)
    assert not _fresh(tenant_a, alert).read
    assert [a for a, _ in _audit(tenant_a, alert)] == ["alert.read", "alert.unread"]


def test_bulk_applies_in_this_tenant_only_and_reports_counts(tenant_a, tenant_b, sam, world):
    a_app, a_bob = world["app"], world["bob"]
    second = make_alert(tenant_a, app=a_app, person=a_bob)
    closed = make_alert(tenant_a, app=a_app, person=a_bob)
    services.dismiss(tenant=tenant_a, actor=sam, alert=closed)
    b_app, b_person, _ = directory(tenant_b, "Bravo app", "zed")
    theirs = make_alert(tenant_b, app=b_app, person=b_person)
    ids = [world["alert"].pk, second.pk, closed.pk, theirs.pk]
    result = services.bulk_apply(
        tenant=tenant_a,
        actor=sam,
        ids=ids,
        operation="resolve",
        resolution="false_positive",
        reason="too_many",
        comment="bulk",
    )
    assert (result.changed, result.unchanged) == (2, 1)
    assert result.not_found == [str(theirs.pk)]
    assert _fresh(tenant_a, second).resolution == "false_positive"
    assert _fresh(tenant_b, theirs).status == AlertStatus.OPEN  # B's alert is untouched
    assert _audit(tenant_b, theirs) == []
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="alert.resolved").count() == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"operation": "explode"}, "operation"),
        ({"operation": "resolve", "resolution": "true_positive", "reason": "too_many"}, "reason"),
        ({"operation": "assign"}, "assignee"),
        ({"operation": "dismiss", "comment": "y" * 2001}, "comment"),
    ],
)
def test_bulk_refuses_bad_input_before_writing(tenant_a, sam, world, params, field):
    with pytest.raises(services.AlertRefused) as refused:
        services.bulk_apply(tenant=tenant_a, actor=sam, ids=[world["alert"].pk], **params)
    assert field in refused.value.problems
    assert _fresh(tenant_a, world["alert"]).status == AlertStatus.OPEN
    assert _audit(tenant_a, world["alert"]) == []


def test_bulk_limits_and_ids(tenant_a, sam, world):
    for ids, reason in (([], "at least one"), (["nope"], "UUID")):
        with pytest.raises(services.AlertRefused) as refused:
            services.bulk_apply(tenant=tenant_a, actor=sam, ids=ids, operation="read")
        assert reason in refused.value.problems["ids"]
    too_many = [world["alert"].pk] + [f"00000000-0000-0000-0000-{i:012d}" for i in range(500)]
    with pytest.raises(services.AlertRefused):
        services.bulk_apply(tenant=tenant_a, actor=sam, ids=too_many, operation="read")


def test_bulk_assign_unassign_and_reopen(tenant_a, sam, world):
    alert = world["alert"]
    made = services.bulk_apply(
        tenant=tenant_a, actor=sam, ids=[alert.pk], operation="assign", assignee_id=sam.pk
    )
    assert made.changed == 1 and _fresh(tenant_a, alert).assignee_id == sam.pk
    services.bulk_apply(tenant=tenant_a, actor=sam, ids=[alert.pk], operation="unassign")
    assert _fresh(tenant_a, alert).assignee_id is None
    services.bulk_apply(tenant=tenant_a, actor=sam, ids=[alert.pk], operation="dismiss")
    again = services.bulk_apply(tenant=tenant_a, actor=sam, ids=[alert.pk], operation="open")
    assert again.changed == 1 and _fresh(tenant_a, alert).status == AlertStatus.OPEN
