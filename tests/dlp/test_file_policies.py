"""File policies applied by the scan: conditions, owner groups, alerts, governance, block."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.alerts.models import Alert, AlertAccount, AlertApp, AlertType, AlertUser, PolicyDay
from apps.dlp.models import AccessLevel, FileSource, FileType, Verdict
from apps.governance.models import GovernanceAction, GovernanceKind, GovernanceStatus
from apps.tenants.scoping import tenant_context
from tests.dlp.file_policy_kit import AWS, app, group, make, owner, scan

pytestmark = pytest.mark.django_db


def alerts(tenant):
    with tenant_context(tenant):
        return list(Alert.objects.order_by("number"))


def test_a_matching_file_raises_one_alert_with_masked_evidence(tenant_a):
    policy = make(tenant_a)
    result = scan(tenant_a)
    assert result.decision.policy_ids == [policy.pk]
    assert result.record.matched_policies == [str(policy.pk)]
    [alert] = alerts(tenant_a)
    assert alert.alert_type == AlertType.FILE_POLICY and alert.policy_id == policy.pk
    assert alert.title == "Cards anywhere: invoice.txt"
    assert alert.evidence == ["invoice.txt: Payment card number × 3"]  # noqa: RUF001
    assert alert.category == "dlp"
    text = " ".join([alert.title, alert.description, *alert.evidence])
    assert "4111" not in text and "5555" not in text


def test_a_file_without_the_types_matches_nothing(tenant_a):
    make(tenant_a)
    result = scan(tenant_a, text="Just a memo about lunch.")
    assert result.decision.policy_ids == [] and alerts(tenant_a) == []


def test_minimum_number_of_matches(tenant_a):
    make(tenant_a, name="Three", filters={"sensitive_types": ["payment_card"], "min_matches": 3})
    make(tenant_a, name="Four", filters={"sensitive_types": ["payment_card"], "min_matches": 4})
    result = scan(tenant_a)
    with tenant_context(tenant_a):
        names = {a.policy_name for a in Alert.objects.all()}
    assert names == {"Three"} and len(result.decision.policy_ids) == 1


@pytest.mark.parametrize(
    ("condition", "meta", "matches"),
    [
        ({"file_types": [FileType.TEXT]}, {}, True),
        ({"file_types": [FileType.SPREADSHEET]}, {}, False),
        ({"extensions": ["txt"]}, {}, True),
        ({"extensions": ["csv"]}, {}, False),
        ({"access_levels": [AccessLevel.EXTERNAL]}, {"access_level": AccessLevel.EXTERNAL}, True),
        ({"access_levels": [AccessLevel.EXTERNAL]}, {}, False),
        ({"sources": ["api"]}, {}, True),
        ({"sources": ["icap"]}, {}, False),
        ({"name_contains": "VOICE"}, {}, True),
        ({"name_contains": "payroll"}, {}, False),
    ],
)
def test_each_metadata_condition(tenant_a, condition, meta, matches):
    make(tenant_a, name="Only", filters=condition)
    result = scan(tenant_a, **meta)
    assert bool(result.decision.policy_ids) is matches
    assert len(alerts(tenant_a)) == (1 if matches else 0)


def test_app_condition(tenant_a):
    drive, box = app(tenant_a, "Drive"), app(tenant_a, "Box", vendor="box")
    make(tenant_a, filters={"apps": [str(drive.pk)]})
    assert scan(tenant_a, app_instance=drive, external_id="1").decision.policy_ids
    assert not scan(tenant_a, app_instance=box, external_id="2").decision.policy_ids
    assert not scan(tenant_a).decision.policy_ids  # an API upload has no app


def test_conditions_are_anded(tenant_a):
    make(tenant_a, filters={"sensitive_types": ["payment_card"], "extensions": ["csv"]})
    assert not scan(tenant_a, name="cards.txt").decision.policy_ids
    assert not scan(tenant_a, name="memo.csv", text="nothing").decision.policy_ids
    assert scan(tenant_a, name="cards.csv").decision.policy_ids


def test_owner_groups_include_and_exclude_wins(tenant_a):
    drive = app(tenant_a)
    ann, bob = owner(tenant_a, drive, "ann@acme.test"), owner(tenant_a, drive, "bob@acme.test")
    finance = group(tenant_a, drive, "Finance", ann, bob)
    board = group(tenant_a, drive, "Board", bob)
    make(
        tenant_a,
        include_groups=[str(finance.pk)],
        exclude_groups=[str(board.pk)],
    )
    n = iter(range(100))

    def scanned(account):
        return scan(
            tenant_a,
            app_instance=drive,
            external_id=f"f{next(n)}",
            owner_account=account,
            owner_user=account.user if account else None,
        ).decision.policy_ids

    assert scanned(ann)  # in Finance
    assert not scanned(bob)  # in Finance but also in Board: exclude wins
    assert not scanned(None)  # nobody known: not in the included group


def test_an_owner_known_only_as_a_person_is_in_their_accounts_groups(tenant_a):
    drive = app(tenant_a)
    ann = owner(tenant_a, drive, "ann@acme.test")
    finance = group(tenant_a, drive, "Finance", ann)
    make(tenant_a, include_groups=[str(finance.pk)])
    assert scan(tenant_a, source=FileSource.ICAP, owner_user=ann.user).decision.policy_ids


def test_the_alert_links_the_owner_and_the_app(tenant_a):
    drive = app(tenant_a)
    ann = owner(tenant_a, drive, "ann@acme.test")
    make(tenant_a)
    scan(tenant_a, app_instance=drive, external_id="x", owner_account=ann, owner_user=ann.user)
    with tenant_context(tenant_a):
        alert = Alert.objects.get()
        assert list(AlertUser.objects.values_list("alert_id", "user_id")) == [
            (alert.pk, ann.user_id)
        ]
        assert list(AlertAccount.objects.values_list("account_id", flat=True)) == [ann.pk]
        assert list(AlertApp.objects.values_list("app_instance_id", flat=True)) == [drive.pk]


def test_the_same_file_again_folds_into_its_open_alert_another_file_does_not(tenant_a):
    drive = app(tenant_a)
    make(tenant_a)
    now = timezone.now()
    scan(tenant_a, app_instance=drive, external_id="a", now=now)
    scan(tenant_a, app_instance=drive, external_id="a", now=now + dt.timedelta(hours=2))
    [alert] = alerts(tenant_a)
    assert alert.trigger_count == 2
    assert alert.last_triggered_at == now + dt.timedelta(hours=2)
    scan(tenant_a, app_instance=drive, external_id="b", now=now + dt.timedelta(hours=3))
    assert len(alerts(tenant_a)) == 2


def test_the_daily_limit_holds_new_alerts_back_and_counts_them(tenant_a):
    policy = make(tenant_a, daily_alert_limit=2)
    for n in range(4):
        assert scan(tenant_a, name=f"f{n}.txt").decision.policy_ids == [policy.pk]
    assert len(alerts(tenant_a)) == 2
    with tenant_context(tenant_a):
        day = PolicyDay.objects.get(policy=policy)
    assert (day.alerts, day.suppressed, day.matches) == (2, 2, 4)


def test_a_disabled_policy_does_nothing(tenant_a):
    from apps.dlp import policy_services

    policy = make(tenant_a)
    policy_services.set_enabled(tenant=tenant_a, actor=None, policy=policy, enabled=False)
    assert scan(tenant_a).decision.policy_ids == [] and alerts(tenant_a) == []


def test_block_says_block_and_the_record_is_blocked(tenant_a):
    make(tenant_a, name="Alert only")
    assert not scan(tenant_a, name="a.txt").decision.block
    make(tenant_a, name="Block", tuning={"alert": False, "block": True})
    result = scan(tenant_a, name="b.txt", source=FileSource.ICAP)
    assert result.decision.block and result.record.verdict == Verdict.BLOCKED
    assert len(result.decision.policy_ids) == 2
    # "Block" raises no alert (alert off); "Alert only" raised one per file.
    assert {a.policy_name for a in alerts(tenant_a)} == {"Alert only"}


def test_custom_types_are_conditions_too(tenant_a):
    from apps.dlp.models import CustomSensitiveType

    with tenant_context(tenant_a):
        CustomSensitiveType.objects.create(
            name="Project code", key="custom_project", regex=r"PRJ-\d{4}", min_count=1
        )
    make(tenant_a, filters={"sensitive_types": ["custom_project"]})
    result = scan(tenant_a, text="Budget for PRJ-1234 and PRJ-5678, confidential.")
    assert result.decision.policy_ids
    [alert] = alerts(tenant_a)
    assert alert.evidence == ["invoice.txt: Project code × 2"]  # noqa: RUF001


def test_credentials_policy_from_the_template_values(tenant_a):
    from apps.dlp import policy_templates

    values = policy_templates.template("file_credentials").values()
    make(tenant_a, **values)
    assert scan(tenant_a, name="deploy.sh", text=AWS).decision.policy_ids
    [alert] = alerts(tenant_a)
    assert alert.evidence == ["deploy.sh: AWS access key id × 1"]  # noqa: RUF001


# --- Governance ---------------------------------------------------------------------------------


def test_file_actions_are_requested_for_a_file_of_an_app(tenant_a):
    drive = app(tenant_a)
    ann = owner(tenant_a, drive, "ann@acme.test")
    policy = make(tenant_a, governance=["remove_external_sharing", "quarantine_file"])
    result = scan(
        tenant_a,
        app_instance=drive,
        external_id="doc1",
        owner="ann@acme.test",
        owner_account=ann,
        access_level=AccessLevel.EXTERNAL,
    )
    with tenant_context(tenant_a):
        alert = Alert.objects.get()
        rows = list(GovernanceAction.objects.order_by("kind"))
    assert [(a.kind, a.status, a.target_type, a.target_ref) for a in rows] == [
        ("quarantine_file", GovernanceStatus.PENDING, "file", "doc1"),
        ("remove_external_sharing", GovernanceStatus.PENDING, "file", "doc1"),
    ]
    for action in rows:
        assert action.policy_id == policy.pk and action.alert_id == alert.pk
        assert action.app_instance_id == drive.pk and action.target_label == "invoice.txt"
        assert action.params == {"owner": "ann@acme.test"}
        assert action.idempotency_key == f"{policy.pk}:{action.kind}:{result.record.pk}:{alert.pk}"
        assert action.initiated_by_label == f"Policy: {policy.name}"


def test_a_folded_match_does_not_repeat_the_actions(tenant_a):
    drive = app(tenant_a)
    make(tenant_a, governance=["make_private"])
    scan(tenant_a, app_instance=drive, external_id="doc1")
    scan(tenant_a, app_instance=drive, external_id="doc1")
    with tenant_context(tenant_a):
        assert GovernanceAction.objects.count() == 1
        assert Alert.objects.get().trigger_count == 2


def test_icap_and_api_files_get_no_file_actions_but_the_owner_is_notified(tenant_a):
    drive = app(tenant_a)
    ann = owner(tenant_a, drive, "ann@acme.test")
    make(tenant_a, governance=["make_private", "notify_user"])
    scan(tenant_a, source=FileSource.ICAP, owner_account=ann, owner_user=ann.user)
    with tenant_context(tenant_a):
        [action] = GovernanceAction.objects.all()
    assert action.kind == GovernanceKind.NOTIFY_USER and action.account_id == ann.pk
    assert "invoice.txt" in action.params["message"]
    assert "4111" not in action.params["message"]


def test_notify_needs_a_known_owner(tenant_a):
    make(tenant_a, governance=["notify_user"])
    scan(tenant_a, owner="someone@acme.test")
    with tenant_context(tenant_a):
        assert not GovernanceAction.objects.exists()
        assert Alert.objects.count() == 1


def test_without_an_alert_actions_still_run_once_per_content(tenant_a):
    drive = app(tenant_a)
    make(tenant_a, governance=["make_private"], tuning={"alert": False, "block": False})
    scan(tenant_a, app_instance=drive, external_id="doc1")
    scan(tenant_a, app_instance=drive, external_id="doc1")
    with tenant_context(tenant_a):
        assert GovernanceAction.objects.filter(alert=None).count() == 1
        assert not Alert.objects.exists()


def test_query_count_does_not_grow_with_policies(tenant_a):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    drive = app(tenant_a)
    ann = owner(tenant_a, drive, "ann@acme.test")
    finance = group(tenant_a, drive, "Finance", ann)

    def queries(n_files: int) -> int:
        with CaptureQueriesContext(connections[tenant_a.db_alias]) as context:
            scan(tenant_a, app_instance=drive, external_id=f"x{n_files}", owner_account=ann)
        return len(context)

    def policies(count: int, start: int = 0) -> None:
        for n in range(start, start + count):
            make(
                tenant_a,
                name=f"Files {n}",
                filters={"sensitive_types": ["payment_card"], "extensions": ["csv"]},
                include_groups=[str(finance.pk)],
            )

    policies(1)
    queries(0)  # the tenant's engine is built on the first scan
    one = queries(1)
    policies(20, start=1)
    # None of them match (extension): one query for the policies, one for the owners' groups,
    # whatever their number.
    assert queries(2) == one


def test_a_match_the_daily_limit_holds_back_still_gets_its_actions(tenant_a):
    drive = app(tenant_a)
    make(tenant_a, governance=["make_private"], daily_alert_limit=1)
    scan(tenant_a, app_instance=drive, external_id="doc1")
    scan(tenant_a, app_instance=drive, external_id="doc2")
    with tenant_context(tenant_a):
        assert Alert.objects.count() == 1
        rows = GovernanceAction.objects.values_list("target_ref", "alert_id")
        assert sorted((ref, alert is None) for ref, alert in rows) == [
            ("doc1", False),
            ("doc2", True),
        ]
