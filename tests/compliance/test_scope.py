"""Scoped deployment and activity privacy: the decision (spec 9.1's worked example as written)
and its effect through `ingest()` - out-of-scope events are neither stored nor queued for
evaluation, private ones are stored private from then on. Real PostgreSQL, no mocks."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.activities import partitions
from apps.activities.ingestion import ingest
from apps.activities.models import Activity
from apps.alerts.models import EvaluationBatch
from apps.compliance.models import PrivacySettings, ScopeRule
from apps.compliance.scope import (
    BUILTIN_APPLICATION,
    BUILTIN_EXTERNAL,
    Rule,
    ScopeDecision,
    sub_app_of,
    summary,
)
from apps.connectors.models import Vendor
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.activities.ingest_factories import event

pytestmark = pytest.mark.django_db(databases="__all__")

M365, SALESFORCE = "m365-id", "salesforce-id"
GERMANY, GLOBAL_SALES, SALES_MANAGERS = "g-germany", "g-global-sales", "g-sales-managers"
PEOPLE = {
    "Adriana": {GERMANY, GLOBAL_SALES, SALES_MANAGERS},
    "Alain": {GLOBAL_SALES},
    "Cornel": {GLOBAL_SALES, SALES_MANAGERS},
    "Raymond": {SALES_MANAGERS},
}
SUB_APPS = ("", "Exchange", "SharePoint", "MicrosoftTeams", "PowerBI")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def worked_example_rules(m365: str) -> list[Rule]:
    """Spec 9.1: exclude "Germany all users"; include "Global sales" only in Microsoft 365;
    include "Sales managers" only in Power BI; Salesforce is connected with no rule (so the
    exclude rule is one of Microsoft 365: a rule for all apps would be a rule of Salesforce)."""
    return [
        Rule("Germany all users", False, frozenset({GERMANY}), frozenset({m365})),
        Rule("Global sales", True, frozenset({GLOBAL_SALES}), frozenset({m365})),
        Rule("Sales managers", True, frozenset({SALES_MANAGERS}), frozenset({f"{m365}:PowerBI"})),
    ]


def monitored_in(decision: ScopeDecision, groups: set[str]) -> set[str]:
    where = {sub or "Microsoft 365" for sub in SUB_APPS if decision.monitored(M365, groups, sub)}
    if decision.monitored(SALESFORCE, groups):
        where.add("Salesforce")
    return where


def test_the_worked_example_of_spec_9_1():
    decision = ScopeDecision(worked_example_rules(M365))
    m365_all = {"Microsoft 365", "Exchange", "SharePoint", "MicrosoftTeams", "PowerBI"}
    # Adriana: nothing in Microsoft 365 (the exclude rule wins over both includes).
    assert monitored_in(decision, PEOPLE["Adriana"]) - {"Salesforce"} == set()
    # Alain: Microsoft 365 and all its sub-apps except Power BI.
    assert monitored_in(decision, PEOPLE["Alain"]) - {"Salesforce"} == m365_all - {"PowerBI"}
    # Cornel: Microsoft 365 and all its sub-apps.
    assert monitored_in(decision, PEOPLE["Cornel"]) - {"Salesforce"} == m365_all
    # Raymond: Power BI only.
    assert monitored_in(decision, PEOPLE["Raymond"]) - {"Salesforce"} == {"PowerBI"}
    # Salesforce (no rule): everyone, whatever their groups.
    for groups in [*PEOPLE.values(), set(), {BUILTIN_APPLICATION}]:
        assert decision.monitored(SALESFORCE, groups)
    assert decision.for_app(SALESFORCE).unrestricted


def test_exclude_for_all_apps_reaches_every_app_and_no_rules_monitor_everyone():
    rules = [Rule("Germany", False, frozenset({GERMANY}), frozenset())]
    decision = ScopeDecision(rules)
    assert not decision.monitored(SALESFORCE, PEOPLE["Adriana"])
    assert not decision.monitored(M365, PEOPLE["Adriana"], "PowerBI")
    assert decision.monitored(SALESFORCE, PEOPLE["Alain"])
    assert ScopeDecision([]).monitored(M365, set(), "PowerBI")


def test_the_most_specific_include_rules_are_the_ones_considered():
    everywhere = Rule("Staff", True, frozenset({"staff"}), frozenset())
    m365_only = Rule("Sales", True, frozenset({"sales"}), frozenset({M365}))
    decision = ScopeDecision([everywhere, m365_only])
    assert decision.monitored(M365, {"sales"}) and not decision.monitored(M365, {"staff"})
    assert decision.monitored(SALESFORCE, {"staff"}) and not decision.monitored(
        SALESFORCE, {"sales"}
    )
    # An exclude naming one sub-app leaves the app's other sub-apps alone.
    teams = Rule("No Teams", False, frozenset({"sales"}), frozenset({f"{M365}:MicrosoftTeams"}))
    decision = ScopeDecision([teams])
    assert not decision.monitored(M365, {"sales"}, "MicrosoftTeams")
    assert decision.monitored(M365, {"sales"}, "Exchange") and decision.monitored(M365, {"sales"})


def test_privacy_groups_and_sub_app_of_the_raw_record():
    decision = ScopeDecision([], private_groups=[GERMANY])
    assert decision.is_private({GERMANY, "x"}) and not decision.is_private({GLOBAL_SALES})
    assert not ScopeDecision([]).is_private({GERMANY})
    assert sub_app_of({"Workload": "PowerBI"}) == "PowerBI"
    assert sub_app_of({"Workload": 3}) == sub_app_of(None) == sub_app_of({}) == ""


# --- Through ingest() --------------------------------------------------------------------------


@pytest.fixture
def example(tenant_a):
    """Tenant A set up as spec 9.1's example, with real groups, accounts and rules."""
    m365 = logdata.app(tenant_a, "Microsoft 365", Vendor.OFFICE365)
    salesforce = logdata.app(tenant_a, "Salesforce", Vendor.PUSH)
    people = {name: logdata.person(tenant_a, f"{name.lower()}@alpha.test") for name in PEOPLE}
    accounts = {
        name: logdata.account(tenant_a, m365, person, username=person.identity)
        for name, person in people.items()
    }
    for person in people.values():  # a Salesforce account each, in no group
        logdata.account(tenant_a, salesforce, person, username=person.identity)
    groups = {
        key: logdata.group(
            tenant_a,
            key,
            [accounts[name] for name, member_of in PEOPLE.items() if key in member_of],
            app_instance=m365,
        )
        for key in (GERMANY, GLOBAL_SALES, SALES_MANAGERS)
    }
    with tenant_context(tenant_a):
        ids = {key: str(group.pk) for key, group in groups.items()}
        ScopeRule.objects.create(
            name="Germany all users", kind="exclude", groups=[ids[GERMANY]], apps=[str(m365.pk)]
        )
        ScopeRule.objects.create(
            name="Global sales", kind="include", groups=[ids[GLOBAL_SALES]], apps=[str(m365.pk)]
        )
        ScopeRule.objects.create(
            name="Sales managers",
            kind="include",
            groups=[ids[SALES_MANAGERS]],
            apps=[f"{m365.pk}:PowerBI"],
        )
    return {"m365": m365, "salesforce": salesforce, "people": people, "groups": ids}


def m365_events(names, start: int = 0):
    """One Exchange and one Power BI event per person (the audit record's Workload)."""
    events, n = [], start
    for name in names:
        for workload in ("Exchange", "PowerBI"):
            n += 1
            events.append(
                event(
                    n,
                    source_event_id=f"{name}-{workload}-{n}",
                    actor=f"{name.lower()}@alpha.test",
                    object_type=workload,
                    raw={"Id": n, "Workload": workload},
                )
            )
    return events


def stored(tenant) -> set[str]:
    with tenant_context(tenant):
        return set(Activity.objects.values_list("source_event_id", flat=True))


def test_worked_example_through_ingest_stores_and_evaluates_only_in_scope(tenant_a, example):
    result = ingest(
        tenant=tenant_a,
        app_instance=example["m365"],
        events=m365_events(PEOPLE),
        source="connector",
    )
    expected_m365 = {
        "Alain-Exchange-3",
        "Cornel-Exchange-5",
        "Cornel-PowerBI-6",
        "Raymond-PowerBI-8",
    }
    assert (result.accepted, result.out_of_scope, result.duplicates) == (4, 4, 0)
    assert result.rejected == []
    assert stored(tenant_a) == expected_m365

    sf_events = [
        event(100 + i, source_event_id=f"sf-{name}", actor=f"{name.lower()}@alpha.test")
        for i, name in enumerate(PEOPLE)
    ]
    result = ingest(
        tenant=tenant_a, app_instance=example["salesforce"], events=sf_events, source="push"
    )
    assert (result.accepted, result.out_of_scope) == (4, 0)  # Salesforce: everyone
    assert stored(tenant_a) == expected_m365 | {f"sf-{name}" for name in PEOPLE}

    with tenant_context(tenant_a):
        queued = {
            activity_id
            for batch in EvaluationBatch.objects.all()
            for activity_id in batch.activity_ids
        }
        ids = {str(pk) for pk in Activity.objects.values_list("id", flat=True)}
    assert queued == ids  # exactly the stored ones: the dropped were never queued

    # A retry counts the stored as duplicates and the dropped as out of scope again.
    again = ingest(
        tenant=tenant_a,
        app_instance=example["m365"],
        events=m365_events(PEOPLE),
        source="connector",
    )
    assert (again.accepted, again.duplicates, again.out_of_scope) == (0, 4, 4)


def test_a_rule_applies_to_what_is_ingested_after_it(tenant_a, example):
    with tenant_context(tenant_a):
        ScopeRule.objects.all().delete()
    first = ingest(
        tenant=tenant_a,
        app_instance=example["m365"],
        events=m365_events(["Adriana"]),
        source="connector",
    )
    assert (first.accepted, first.out_of_scope) == (2, 0)
    with tenant_context(tenant_a):
        ScopeRule.objects.create(
            name="Germany", kind="exclude", groups=[example["groups"][GERMANY]]
        )
    later = ingest(
        tenant=tenant_a,
        app_instance=example["salesforce"],
        events=[event(50, source_event_id="sf-adriana", actor="adriana@alpha.test")],
        source="push",
    )
    assert (later.accepted, later.out_of_scope) == (0, 1)
    assert stored(tenant_a) == {"Adriana-Exchange-1", "Adriana-PowerBI-2"}  # the past stays


def test_builtin_groups_external_people_and_applications(tenant_a):
    app = logdata.app(tenant_a, "Box", Vendor.PUSH)
    logdata.person(tenant_a, "guest@elsewhere.test", is_external=True)
    with tenant_context(tenant_a):
        ScopeRule.objects.create(name="No guests", kind="exclude", groups=[BUILTIN_EXTERNAL])
        ScopeRule.objects.create(name="No bots", kind="exclude", groups=[BUILTIN_APPLICATION])
    events = [
        event(1, source_event_id="guest", actor="guest@elsewhere.test"),
        event(2, source_event_id="bot", actor="svc-backup"),  # no address: no person
        event(3, source_event_id="nobody", actor=""),
        event(4, source_event_id="staff", actor="bob@alpha.test"),
    ]
    result = ingest(tenant=tenant_a, app_instance=app, events=events, source="push")
    assert (result.accepted, result.out_of_scope) == (1, 3)
    assert stored(tenant_a) == {"staff"}


def test_privacy_groups_mark_activities_private_from_then_on(tenant_a, tenant_b):
    app = logdata.app(tenant_a, "Microsoft 365")
    hr = logdata.person(tenant_a, "hr@alpha.test")
    hr_account = logdata.account(tenant_a, app, hr, username=hr.identity)
    group = logdata.group(tenant_a, "HR", [hr_account], app_instance=app)
    before = ingest(
        tenant=tenant_a,
        app_instance=app,
        events=[event(1, source_event_id="before", actor="hr@alpha.test")],
        source="push",
    )
    assert before.accepted == 1
    with tenant_context(tenant_a):
        PrivacySettings.objects.create(private_groups=[str(group.pk)])
    result = ingest(
        tenant=tenant_a,
        app_instance=app,
        events=[
            event(2, source_event_id="hr-after", actor="hr@alpha.test"),
            event(3, source_event_id="other-after", actor="other@alpha.test"),
        ],
        source="push",
    )
    assert (result.accepted, result.out_of_scope) == (2, 0)  # private is stored, not dropped
    with tenant_context(tenant_a):
        private = dict(Activity.objects.values_list("source_event_id", "is_private"))
    assert private == {"before": False, "hr-after": True, "other-after": False}

    # Tenant B's ingestion knows nothing of A's privacy groups.
    b_app = logdata.app(tenant_b, "Microsoft 365")
    ingest(
        tenant=tenant_b,
        app_instance=b_app,
        events=[event(4, source_event_id="b-hr", actor="hr@alpha.test")],
        source="push",
    )
    with tenant_context(tenant_b):
        assert list(Activity.objects.values_list("is_private", flat=True)) == [False]


def test_groups_are_read_once_per_new_person_not_per_event(tenant_a, example):
    events = [
        event(n, source_event_id=f"e-{n}", actor=f"{name.lower()}@alpha.test", raw={"n": n})
        for n, name in enumerate(list(PEOPLE) * 40)
    ]
    with CaptureQueriesContext(connections[tenant_a.db_alias]) as queries:
        result = ingest(
            tenant=tenant_a,
            app_instance=example["m365"],
            events=events,
            source="connector",
            chunk_size=20,
        )
    assert result.accepted + result.out_of_scope == 160
    reads = [q["sql"] for q in queries.captured_queries if "groupmembership" in q["sql"]]
    assert len(reads) == 1  # 8 chunks, 4 people: read in the first chunk, then remembered


def test_the_summary_says_who_is_monitored_where():
    decision = ScopeDecision(worked_example_rules(M365))
    apps = [
        (M365, "Microsoft 365"),
        (f"{M365}:PowerBI", "Microsoft 365 / Power BI"),
        (SALESFORCE, "Salesforce"),
    ]
    labels = {GERMANY: "Germany all users", GLOBAL_SALES: "Global sales", SALES_MANAGERS: "Sales"}
    lines = {line["app"]: line["text"] for line in summary(decision, apps, labels)}
    assert lines == {
        "Microsoft 365": "Only members of Global sales, except members of Germany all users.",
        "Microsoft 365 / Power BI": "Only members of Sales, except members of Germany all users.",
        "Salesforce": "Everyone. No rule applies to this app.",
    }
