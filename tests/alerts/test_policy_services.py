"""Policy services: every refusal names its field and writes nothing; changes are audited."""

from __future__ import annotations

import pytest

from apps.alerts import policy_services as services
from apps.alerts.models import MatchMode, MatchWindow, Policy, PolicyKind, Severity
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

from .policy_kit import ProbeDetection, make, probe, probe_row  # noqa: F401 (probe: a fixture)

pytestmark = pytest.mark.django_db(databases="__all__")

REPEATED = {"mode": "repeated", "repeat_count": 10}


def refused(tenant, **values) -> dict[str, list[str]]:
    with pytest.raises(services.PolicyRefused) as caught:
        make(tenant, **values)
    with tenant_context(tenant):
        assert not Policy.objects.filter(kind=PolicyKind.ACTIVITY, name="Refused").exists()
    return caught.value.problems


def actions(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def test_create_stores_clean_values_and_audits(tenant_a, alice):
    policy = services.create_policy(
        tenant=tenant_a,
        actor=alice,
        name="  Mass   download ",
        filters={"activity.eventType": {"eq": ["download"]}},
        mode=MatchMode.REPEATED,
        repeat_count=51,
        repeat_window_minutes=1,
        governance=["suspend_user", "suspend_user", "notify_user"],
    )
    assert policy.name == "Mass download" and policy.enabled and policy.kind == "activity"
    assert policy.governance == ["suspend_user", "notify_user"]
    assert policy.created_by_id == alice.pk
    assert actions(tenant_a)[-1] == "policy.created"


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"name": " "}, "name", "name"),
        ({"name": "x" * 201}, "name", "200"),
        ({"severity": 9}, "severity", "severity"),
        ({"category": "nope"}, "category", "category"),
        ({"filters": ["not", "an", "object"]}, "filters", "JSON object"),
        ({"filters": {"colour": {"eq": ["red"]}}}, "filters", "colour: Unknown field"),
        ({"filters": {"location.country": {"eq": ["France"]}}}, "filters", "location.country.eq"),
        ({"filters": {"ip.address": {"like": ["10."]}}}, "filters", "ip.address.like"),
        ({"filters": {"date": {"gte_ndays": 1}}}, "filters", "new activity as it arrives"),
        ({"filters": {"created": {"gte": 0}}}, "filters", "created: a policy looks"),
        ({"mode": "sometimes"}, "mode", "mode"),
        ({"mode": "repeated", "repeat_count": 1}, "repeat_count", "2 to 10,000"),
        ({"mode": "repeated", "repeat_count": 10_001}, "repeat_count", "got 10,001"),
        ({"mode": "repeated", "repeat_count": "ten"}, "repeat_count", "whole number"),
        ({**REPEATED, "repeat_window_minutes": 0}, "repeat_window_minutes", "1 to 10,080"),
        ({**REPEATED, "repeat_window_minutes": 10_081}, "repeat_window_minutes", "10,080"),
        ({**REPEATED, "repeat_per_app": "yes"}, "repeat_per_app", "true or false"),
        ({"daily_alert_limit": 0}, "daily_alert_limit", "1 to 1,000"),
        ({"daily_alert_limit": 1001}, "daily_alert_limit", "1 to 1,000"),
        ({"daily_alert_limit": True}, "daily_alert_limit", "whole number"),
        ({"dedupe_minutes": 0}, "dedupe_minutes", "1 to 10,080"),
        ({"include_groups": "everyone"}, "include_groups", "list"),
        ({"exclude_groups": ["not-a-uuid"]}, "exclude_groups", "not a user group id"),
        ({"governance": ["delete_everything"]}, "governance", "not a governance action"),
        ({"template": "no_such_template"}, "template", "not a template"),
        ({"template": "sharing_public_s3"}, "template", "not a template"),
        ({"enabled": "on"}, "enabled", "true or false"),
    ],
)
def test_each_refusal_names_the_field(tenant_a, values, field, words):
    problems = refused(tenant_a, **{"name": "Refused", **values})
    assert list(problems) == [field], problems
    assert words in " ".join(problems[field])


def test_every_problem_is_reported_at_once(tenant_a):
    problems = refused(
        tenant_a,
        name="Refused",
        filters={"date": {"gte_ndays": 1}, "location.country": {"eq": ["XYZ"]}},
        mode="repeated",
        repeat_count=0,
        daily_alert_limit=0,
    )
    assert set(problems) == {"filters", "repeat_count", "daily_alert_limit"}
    assert len(problems["filters"]) == 2


def test_a_single_activity_policy_stores_count_one(tenant_a):
    policy = make(tenant_a, repeat_count=0, repeat_window_minutes=-5)
    assert (policy.mode, policy.repeat_count, policy.repeat_window_minutes) == ("single", 1, 60)


@pytest.mark.usefixtures("probe")
def test_names_are_unique_per_tenant_case_insensitive(tenant_a, tenant_b):
    make(tenant_a, name="Downloads")
    problems = refused(tenant_a, name="DOWNLOADS")
    assert problems["name"] == ["A policy named “DOWNLOADS” already exists; pick another name."]
    assert make(tenant_b, name="Downloads").tenant_id == tenant_b.id  # another tenant's is fine
    problems = refused(tenant_a, name="probe detection")
    assert "built-in detection" in problems["name"][0]


def test_groups_must_be_this_tenants(tenant_a, tenant_b):
    mine = logdata.group(tenant_a, "Engineering", app_instance=logdata.app(tenant_a))
    theirs = logdata.group(tenant_b, "Engineering", app_instance=logdata.app(tenant_b))
    policy = make(tenant_a, include_groups=[str(mine.pk)], exclude_groups=[])
    assert policy.include_groups == [str(mine.pk)]
    problems = refused(tenant_a, name="Refused", exclude_groups=[str(theirs.pk)])
    assert problems == {"exclude_groups": [f"No user group of this tenant has the id {theirs.pk}."]}


def test_update_checks_merged_values_and_records_changes(tenant_a, alice):
    policy = make(tenant_a)
    make(tenant_a, name="Other")
    with pytest.raises(services.PolicyRefused) as caught:
        services.update_policy(tenant=tenant_a, actor=alice, policy=policy, name="other")
    assert list(caught.value.problems) == ["name"]
    with pytest.raises(services.PolicyRefused) as caught:
        services.update_policy(tenant=tenant_a, actor=alice, policy=policy, kind="anomaly")
    assert caught.value.problems == {"kind": ["Not a field of an activity policy."]}
    before = actions(tenant_a)
    same = services.update_policy(tenant=tenant_a, actor=alice, policy=policy, name=policy.name)
    assert actions(tenant_a) == before and same.updated_at == policy.updated_at  # no-op
    changed = services.update_policy(
        tenant=tenant_a, actor=alice, policy=policy, severity=Severity.HIGH, dedupe_minutes=30
    )
    assert (changed.severity, changed.dedupe_minutes) == (Severity.HIGH, 30)
    with tenant_context(tenant_a):
        event = AuditEvent.objects.filter(action="policy.updated").get()
    assert event.details["changes"] == {
        "severity": {"from": 2, "to": 3},
        "dedupe_minutes": {"from": 60, "to": 30},
    }


def test_changing_what_a_repeated_policy_counts_restarts_counting(tenant_a):
    policy = make(tenant_a, mode="repeated", repeat_count=5, repeat_window_minutes=10)
    with tenant_context(tenant_a):
        MatchWindow.objects.create(policy=policy, subject="u:1", times=[1.0, 2.0])
    services.update_policy(tenant=tenant_a, actor=None, policy=policy, severity=3)
    with tenant_context(tenant_a):
        assert MatchWindow.objects.filter(policy=policy).exists()  # severity: keep counting
    services.update_policy(tenant=tenant_a, actor=None, policy=policy, repeat_count=6)
    with tenant_context(tenant_a):
        assert not MatchWindow.objects.filter(policy=policy).exists()


def test_enable_disable_delete_are_audited(tenant_a, sam):
    policy = make(tenant_a)
    services.set_enabled(tenant=tenant_a, actor=sam, policy=policy, enabled=False)
    services.set_enabled(tenant=tenant_a, actor=sam, policy=policy, enabled=False)  # no-op
    services.set_enabled(tenant=tenant_a, actor=sam, policy=policy, enabled=True)
    services.delete_policy(tenant=tenant_a, actor=sam, policy=policy)
    assert actions(tenant_a)[-4:] == [
        "policy.created",
        "policy.disabled",
        "policy.enabled",
        "policy.deleted",
    ]
    with tenant_context(tenant_a):
        assert not Policy.objects.filter(pk=policy.pk).exists()


@pytest.mark.usefixtures("probe")
def test_detection_settings_are_checked_by_the_detection(tenant_a, alice):
    detection = probe_row(tenant_a)
    assert detection.tuning == ProbeDetection.defaults() and detection.enabled
    with pytest.raises(services.PolicyRefused) as caught:
        services.update_detection(
            tenant=tenant_a,
            actor=alice,
            policy=detection,
            tuning={"threshold": 1, "sensitivity": "extreme", "colour": "red"},
        )
    assert caught.value.problems == {
        "tuning.threshold": ["threshold must be at least 2."],
        "tuning.sensitivity": ["sensitivity must be one of low, medium, high."],
        "tuning.colour": ["colour is not an option of this detection."],
    }
    changed = services.update_detection(
        tenant=tenant_a,
        actor=alice,
        policy=detection,
        enabled=False,
        severity=Severity.HIGH,
        tuning={"threshold": "25", "countries": "GB, de"},
        governance=["require_sign_in"],
    )
    assert not changed.enabled and changed.severity == Severity.HIGH
    assert changed.tuning == {
        "threshold": 25,
        "sensitivity": "medium",
        "ignore_vpn": True,
        "countries": ["gb", "de"],
    }
    assert actions(tenant_a)[-1] == "detection.updated"


@pytest.mark.usefixtures("probe")
def test_a_detection_keeps_its_name_logic_and_existence(tenant_a, alice):
    detection = probe_row(tenant_a)
    with pytest.raises(services.PolicyRefused) as caught:
        services.update_detection(
            tenant=tenant_a, actor=alice, policy=detection, name="Mine", filters={}
        )
    assert set(caught.value.problems) == {"name", "filters"}
    assert "keeps its name and logic" in caught.value.problems["name"][0]
    with pytest.raises(services.PolicyRefused) as caught:
        services.delete_policy(tenant=tenant_a, actor=alice, policy=detection)
    assert "switch them off" in caught.value.problems["kind"][0]
    with pytest.raises(services.PolicyRefused):
        services.update_policy(tenant=tenant_a, actor=alice, policy=detection, name="Mine")
    services.set_enabled(tenant=tenant_a, actor=alice, policy=detection, enabled=False)
    assert actions(tenant_a)[-1] == "detection.disabled"


@pytest.mark.usefixtures("probe")
def test_ensure_detections_is_idempotent(tenant_a):
    first = probe_row(tenant_a)
    assert probe_row(tenant_a).pk == first.pk
