"""Retention of what the first purge left out (found by audit): the anomaly detections' memory
goes with the activities it came from; dead letters and delivery attempts go after the activity
maximum like the outbox; a period saved above a since lowered maximum is neither shown as
shortened nor offered back (page, form and API); the deleted accounts' row shows its oldest."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.accounts.models import AccountStatus
from apps.alerts.models import DetectorState, MatchMode, MatchWindow, Policy
from apps.compliance import location, retention_selectors
from apps.compliance.models import PurgeMethod
from apps.compliance.retention import purge_all
from apps.integrations import services
from apps.integrations.models import DeadLetter, Delivery, OutboxEvent
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.compliance import retention_kit as kit
from tests.integrations import kit as ikit
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"])


# --- Anomaly memory ages out with the activities -----------------------------------------------


def _memories(tenant, **ages: float) -> dict[str, DetectorState | MatchWindow]:
    """One detector memory and one repeated-activity window per name, last changed `age` days
    ago (updated_at is auto_now: set afterwards)."""
    made: dict[str, DetectorState | MatchWindow] = {}
    with tenant_context(tenant):
        policy = Policy.objects.create(name="Repeated downloads", mode=MatchMode.REPEATED)
        for name, days in ages.items():
            state = DetectorState.objects.create(
                detector="impossible_travel",
                subject=f"u:{name}",
                data={"since": 1, "r": [[1, 2, "FR", False, False, "192.0.2.7", "192.0.2.7"]]},
            )
            window = MatchWindow.objects.create(policy=policy, subject=f"u:{name}", times=[1.0])
            DetectorState.objects.filter(pk=state.pk).update(updated_at=kit.ago(days))
            MatchWindow.objects.filter(pk=window.pk).update(updated_at=kit.ago(days))
            made[f"state {name}"], made[f"window {name}"] = state, window
    return made


def _left(tenant) -> set[str]:
    with tenant_context(tenant):
        return set(DetectorState.objects.values_list("subject", flat=True)) | {
            f"w {s}" for s in MatchWindow.objects.values_list("subject", flat=True)
        }


def test_anomaly_memory_ages_out_with_the_activities_in_batches(tenant_a, settings):
    """DetectorState keeps per-person IPs, countries and times derived from activities: a
    memory no activity changed within the activity period goes with those activities."""
    settings.RETENTION_BATCH_SIZE = 2
    _memories(tenant_a, stale1=400, stale2=200, stale3=181, fresh=10)

    summary = purge_all()

    assert _left(tenant_a) == {"u:fresh", "w u:fresh"}
    assert summary["removed"]["activities"] == 6
    [run] = kit.runs(tenant_a, kind="activities")
    assert run.details["by_table"] == {"alerts.DetectorState": 3, "alerts.MatchWindow": 3}


def test_a_tenants_shorter_activity_period_takes_its_memory_sooner(tenant_a, tenant_b):
    _memories(tenant_a, idle=40, active=1)
    _memories(tenant_b, idle=40)
    kit.own_periods(tenant_a, activities_days=30)

    purge_all()

    assert _left(tenant_a) == {"u:active", "w u:active"}
    assert _left(tenant_b) == {"u:idle", "w u:idle"}  # B keeps the 180-day maximum
    [run] = kit.runs(tenant_a, kind="activities")
    assert run.method == PurgeMethod.BATCHED_DELETE and run.removed == 2
    assert run.details["by_table"] == {"alerts.DetectorState": 1, "alerts.MatchWindow": 1}
    assert run.cutoff < kit.ago(29.9) and run.cutoff > kit.ago(30.1)
    assert purge_all()["removed"]["activities"] == 0  # idempotent


def test_the_dry_run_and_the_inventory_name_the_memory(tenant_a):
    _memories(tenant_a, stale=400)
    [line] = [row for row in retention_selectors.due() if row.get("tenant") == tenant_a.slug]
    assert line["due"]["activities"] == 2

    activities = location.inventory.KINDS["activities"]
    assert {"alerts.DetectorState", "alerts.MatchWindow"} <= set(activities.models)
    assert location.unclassified_models() == []
    with tenant_context(tenant_a):
        assert retention_selectors.oldest("activities").date() == kit.ago(400).date()


# --- Integrations: dead letters and delivery attempts ------------------------------------------


def test_undelivered_outbox_events_go_after_the_activity_maximum(tenant_a):
    """An event no receiver took is still bounded by the activity retention."""
    ikit.siem(tenant_a)  # enabled, cursor 0: nothing delivered
    ikit.append(tenant_a, refs=("old",), at=kit.ago(200))
    ikit.append(tenant_a, refs=("new",), at=kit.ago(1))
    with tenant_context(tenant_a):
        assert services.prune_outbox() == 1
        assert list(OutboxEvent.objects.values_list("refs", flat=True)) == [["new"]]


def test_dead_letters_and_delivery_attempts_go_after_the_activity_maximum(tenant_a, tenant_b):
    """A receiver that answers 400 to everything no longer leaves a dead letter per item for
    ever: what integrations.push_due prunes every minute includes them and old attempts."""
    destination, _ = ikit.webhook(tenant_a)
    other, _ = ikit.webhook(tenant_b)
    old_letter = ikit.dead_letter(tenant_a, destination, ref="old")
    new_letter = ikit.dead_letter(tenant_a, destination, ref="new")
    b_letter = ikit.dead_letter(tenant_b, other, ref="b-old")
    old_try = ikit.delivery(tenant_a, destination, ref="old")
    new_try = ikit.delivery(tenant_a, destination, ref="new")
    b_try = ikit.delivery(tenant_b, other, ref="b-old")
    for tenant, letter, attempt in ((tenant_a, old_letter, old_try), (tenant_b, b_letter, b_try)):
        with tenant_context(tenant):
            DeadLetter.objects.filter(pk=letter.pk).update(created_at=kit.ago(181))
            Delivery.objects.filter(pk=attempt.pk).update(attempted_at=kit.ago(181))
    with tenant_context(tenant_a):
        Delivery.objects.filter(pk=new_try.pk).update(attempted_at=kit.ago(179))

    with tenant_context(tenant_a):
        assert services.prune_outbox() == 2

    with tenant_context(tenant_a):
        assert list(DeadLetter.objects.values_list("pk", flat=True)) == [new_letter.pk]
        assert list(Delivery.objects.values_list("pk", flat=True)) == [new_try.pk]
    with tenant_context(tenant_b):  # only the tenant pruned
        assert DeadLetter.objects.count() == Delivery.objects.count() == 1


def test_the_data_location_page_says_how_long_the_outbox_keeps_things(tenant_a, settings):
    settings.ACTIVITY_RETENTION_DAYS = 150
    placements = {p.key: p for p in location.data_location(tenant=tenant_a).tenant_data}
    words = placements["integrations"].retention
    assert "dead letters" in words and "150 days" in words and "newest 500" in words
    assert placements["integrations"].max_days == 150


# --- A deployment maximum lowered after a tenant saved a longer period -------------------------


def test_a_lowered_deployment_maximum_wins_over_a_saved_longer_period(tenant_a, settings):
    """The purge applies min(own, maximum), never the tenant's older value."""
    kit.own_periods(tenant_a, governance_days=110)
    settings.GOVERNANCE_RETENTION_DAYS = 60
    kit.discovery(tenant_a, 10)
    app = logdata.app(tenant_a)
    person = logdata.person(tenant_a, "gov.target@contoso.test")
    account = logdata.account(tenant_a, app, person)
    kit.governance(tenant_a, app, account, 90, "succeeded")
    kit.governance(tenant_a, app, account, 30, "succeeded")

    assert purge_all()["removed"]["governance"] == 1
    [run] = kit.runs(tenant_a, kind="governance")
    assert run.cutoff < kit.ago(59) and run.cutoff > kit.ago(61)


def _shown(body: str, name: str) -> str:
    """The value the form offers in field `name` ("" when blank)."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', body).group(0)
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def test_a_saved_period_above_a_lowered_maximum_is_neither_shortened_nor_offered_back(
    client, alice, tenant_a, settings
):
    """The page marks no period "shortened" while the maximum applies, and the form offers
    it blank rather than the stale 110 (refused on save): the form saved as shown works, and
    keeps the saved 110 (it applies again if the maximum rises)."""
    kit.own_periods(tenant_a, governance_days=110, alerts_days=30)
    settings.GOVERNANCE_RETENTION_DAYS = 60
    client.force_login(alice)
    page = reverse("compliance:retention", args=[tenant_a.slug])

    body = client.get(page).content.decode()
    row = body.split("<strong>Governance log</strong>", 1)[1].split("</tr>", 1)[0]
    assert "60 days" in row and "shortened" not in row, row
    alerts_row = body.split("<strong>Alerts</strong>", 1)[1].split("</tr>", 1)[0]
    assert "30 days" in alerts_row and "shortened" in alerts_row
    assert (_shown(body, "governance_days"), _shown(body, "alerts_days")) == ("", "30")

    form = {name: _shown(body, name) for name in re.findall(r'name="(\w+_days)"', body)}
    form["activities_days"] = "30"  # the admin changes one period
    assert client.post(page, form).status_code == 302

    with tenant_context(tenant_a):
        own = retention_selectors.settings_of_current()
    assert (own.activities_days, own.alerts_days, own.governance_days) == (30, 30, 110)
    settings.GOVERNANCE_RETENTION_DAYS = 120
    row = client.get(page).content.decode().split("<strong>Governance log</strong>", 1)[1]
    assert "110 days" in row.split("</tr>", 1)[0]


def test_the_api_answers_like_the_page_and_takes_back_what_it_gave(
    api_client, alice, tenant_a, settings
):
    kit.own_periods(tenant_a, governance_days=110, alerts_days=30)
    settings.GOVERNANCE_RETENTION_DAYS = 60
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(alice, tenant_a, Role.GLOBAL_ADMIN)}"
    )

    data = api_client.get("/api/v1/privacy/retention/").json()

    periods = {p["kind"]: p for p in data["periods"]}
    assert (data["governance_days"], data["alerts_days"]) == (None, 30)
    assert periods["governance"] == {**periods["governance"], "days": 60, "own": None}
    assert periods["alerts"] == {**periods["alerts"], "days": 30, "own": 30}
    sent_back = {name: value for name, value in data.items() if name != "periods"}
    response = api_client.patch("/api/v1/privacy/retention/", sent_back, format="json")
    assert response.status_code == 200


# --- Deleted accounts: the oldest waiting for removal ------------------------------------------


def test_the_deleted_accounts_row_shows_the_oldest_deletion_still_waiting(
    client, rita, tenant_a, tenant_b
):
    app = logdata.app(tenant_a)
    seen = kit.ago(300).replace(microsecond=0)
    for days in (300, 20):
        logdata.account(
            tenant_a,
            app,
            None,
            status=AccountStatus.DELETED,
            deleted_seen_at=kit.ago(days) if days != 300 else seen,
        )
    logdata.account(tenant_a, app, None, deleted_seen_at=kit.ago(900))  # restored: not waiting
    logdata.account(
        tenant_b,
        logdata.app(tenant_b),
        None,
        status=AccountStatus.DELETED,
        deleted_seen_at=kit.ago(600),
    )
    client.force_login(rita)

    body = client.get(reverse("compliance:retention", args=[tenant_a.slug])).content.decode()

    row = body.split("<strong>Deleted accounts</strong>", 1)[1].split("</tr>", 1)[0]
    assert f"{seen:%Y-%m-%d %H:%M} UTC" in row, row
    with tenant_context(tenant_b):
        rows = retention_selectors.periods(None)
    assert rows[-1].key == "accounts" and rows[-1].oldest.date() == kit.ago(600).date()


def test_no_deleted_account_waiting_says_so(client, rita, tenant_a):
    client.force_login(rita)
    body = client.get(reverse("compliance:retention", args=[tenant_a.slug])).content.decode()
    row = body.split("<strong>Deleted accounts</strong>", 1)[1].split("</tr>", 1)[0]
    assert "No deleted accounts waiting" in row


def test_the_deleted_account_cleanup_runs_daily_from_beat_with_a_two_year_default():
    from casb.celery import app as celery_app
    from casb.settings import DELETED_ACCOUNT_RETENTION_DAYS

    entry = celery_app.conf.beat_schedule["compliance.cleanup-deleted-accounts"]
    assert entry["task"] == "compliance.cleanup_deleted_accounts"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {11}
    assert DELETED_ACCOUNT_RETENTION_DAYS == 730
