"""Data-subject requests and the deleted-account cleanup, as the audit (issue 6 item 3) left
them: what an erase keeps on purpose (the audit log), what it redacts for others (their
activities about the person, shared alerts, file-policy actions), whom it must spare (a
namesake), what an export discloses, how long an archive is served, and how the cleanup strips
what it keeps and carries on after an interruption."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import CloudUser
from apps.activities.models import Activity
from apps.compliance import subject_export, subjects
from apps.compliance.inventory import tenant_models
from apps.compliance.models import PurgeRun, PurgeStatus, SubjectRequest
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.compliance import subjects_kit as kit

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"])

LONG_AGO = timezone.now() - dt.timedelta(days=800)  # past the cleanup's default two years


def _archive(tenant, row) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(subject_export.read(tenant, row))))


def test_erase_keeps_counts_and_exports_the_audit_events_naming_the_person(client, alice, tenant_a):
    """Audit events written by ordinary features name the person (a policy's filter, a
    pseudonym look-up and its justification). The audit log is append-only and hash-chained, so
    the erase keeps them unchanged (`personal.KEPT`), says so in its receipt, and the export
    holds them."""
    from apps.alerts import policy_services
    from apps.compliance import personal
    from apps.discovery import services as discovery_services
    from apps.tenants.audit import verify_chain

    world = kit.seed(tenant_a)
    policy_services.create_policy(
        tenant=tenant_a,
        actor=alice,
        name="Watch Zed",
        filters={"user.username": {"eq": [kit.ZED]}},
    )
    with tenant_context(tenant_a):
        discovery_services.find_pseudonym(
            username=kit.ZED_OKTA, justification=f"HR case about {kit.ZED}", actor=alice
        )
        exported = subjects.export(tenant=tenant_a, actor=alice, query=kit.ZED, reference="r")
        events = json.loads(_archive(tenant_a, exported).read("audit_events.json"))
    client.force_login(alice)
    preview = client.post(
        reverse("compliance:subjects", args=[tenant_a.slug]),
        {"kind": "erase", "subject": kit.ZED, "reference": "DSR-1"},
    ).content.decode()
    assert "Kept: 2 × audit log entries kept unchanged" in preview  # noqa: RUF001
    with tenant_context(tenant_a):
        row = subjects.erase(tenant=tenant_a, actor=alice, query=kit.ZED, reference="DSR-1")

    assert "tenants.AuditEvent" in personal.KEPT and "tenants.AuditEvent" not in (
        personal.NOT_PERSONAL
    )
    assert sorted(e["action"] for e in events) == [
        "discovery.pseudonym_looked_up",
        "policy.created",
    ]
    assert all("actor_label" not in e and "ip" not in e for e in events)  # console users' data
    left = kit.leftovers(tenant_a, world.markers)
    assert len([hit for hit in left if "tenants.AuditEvent" in hit]) == 2  # kept, unchanged
    assert row.counts["audit_events_retained"] == 2
    assert verify_chain(tenant_a).ok
    page = client.get(reverse("compliance:subject-detail", args=[tenant_a.slug, row.pk]))
    assert "audit log entries kept unchanged" in page.content.decode()


def test_erase_redacts_other_peoples_activities_about_the_person(alice, tenant_a):
    """An admin's activity whose object is the person (password reset of zed, in object_name
    and raw) stays for the admin, without the person's names (display name included)."""
    world = kit.seed(tenant_a)
    app = logdata.app(tenant_a, "Admin portal")
    logdata.add(
        tenant_a,
        [
            logdata.activity_row(
                app,
                logdata.base_time(),
                user=world.bob,
                account=world.bob_account,
                actor=kit.BOB,
                action_type="ResetPassword",
                activity_type="admin",
                object_name=kit.ZED,
                object_type="user",
                raw={"TargetUser": kit.ZED, "TargetName": kit.ZED_NAME},
            )
        ],
    )
    with tenant_context(tenant_a):
        row = subjects.erase(tenant=tenant_a, actor=alice, query=kit.ZED, reference="DSR-2")
        reset = Activity.objects.get(action_type="ResetPassword")
    left = kit.leftovers(tenant_a, world.markers)
    assert [hit for hit in left if "activities.Activity" in hit] == []
    assert (reset.user_id, reset.actor, reset.object_name) == (world.bob.pk, kit.BOB, "[erased]")
    assert reset.raw == {"TargetUser": "[erased]", "TargetName": "[erased]"}
    assert row.counts["activity_mentions"] == 1


def test_export_of_a_shared_alert_masks_the_other_person(alice, tenant_a):
    """Zed's archive holds the shared alert with Zed's own part only: Bob's names and address
    read "[someone else]", Bob's links and the analysts' comment are left out."""
    world = kit.seed(tenant_a)
    with tenant_context(tenant_a):
        row = subjects.export(tenant=tenant_a, actor=alice, query=kit.ZED, reference="DSR-3")
    text = _archive(tenant_a, row).read("alerts.json").decode()
    assert kit.BOB not in text and "bob builder" not in text.lower() and kit.BOB_IP not in text
    shared = next(a for a in json.loads(text) if a["title"].startswith("Mass download"))
    assert shared["title"] == f"Mass download by {kit.ZED_NAME} and [someone else]"
    assert shared["evidence"] == [
        f"{kit.ZED_OKTA} from {kit.ZED_IP}",
        "[someone else] from [someone else]",
    ]
    assert shared["ips"] == [kit.ZED_IP] and "comment" not in shared
    assert shared["user_id"] == str(world.zed.pk)
    assert shared["account_ids"] == [str(world.zed_accounts[1].pk)]
    assert len(shared["activity_ids"]) == 1


def test_export_holds_private_activities_but_no_match_samples(alice, tenant_a):
    """Decision kept: the person is entitled to their private activities; the sealed samples
    (masked context that may name others) are never exported."""
    world = kit.seed(tenant_a)
    with tenant_context(tenant_a):
        row = subjects.export(tenant=tenant_a, actor=alice, query=kit.ZED_OKTA, reference="r")
    archive = _archive(tenant_a, row)
    activities = json.loads(archive.read("activities.json"))
    assert len(activities) == 5 and sum(a["is_private"] for a in activities) == 1
    # ... and the receipt and the manifest say so.
    assert row.counts["private_activities"] == 1
    assert json.loads(archive.read("manifest.json"))["private_activities"] == 1
    with tenant_context(tenant_a):
        erased = subjects.erase(tenant=tenant_a, actor=alice, query=kit.ZED, reference="r")
    assert erased.counts["private_activities"] == 1 and erased.counts["activities"] == 5
    accounts = json.loads(archive.read("accounts.json"))
    assert {a["id"] for a in accounts} == {str(a.pk) for a in world.zed_accounts}  # two apps
    files = archive.read("files.json").decode()
    assert "samples" not in files and "card of" not in files and "####" not in files


def test_expire_deletes_archives_past_keep_days_only(alice, tenant_a):
    kit.seed(tenant_a)
    with tenant_context(tenant_a):
        old = subjects.export(tenant=tenant_a, actor=alice, query=kit.ZED, reference="old")
        new = subjects.export(tenant=tenant_a, actor=alice, query=kit.BOB, reference="new")
        past = timezone.now() - dt.timedelta(days=subject_export.KEEP_DAYS, hours=1)
        SubjectRequest.objects.filter(pk=old.pk).update(created_at=past)
    assert subject_export.expire(tenant_a) == 1
    assert not subject_export.available(tenant_a, old)
    assert subject_export.available(tenant_a, new)


def test_an_archive_past_keep_days_is_not_served(alice, tenant_a):
    """Even before the daily sweep deletes it (or if the sweep fails for the tenant), an
    archive older than KEEP_DAYS is refused, and the pages no longer offer it."""
    kit.seed(tenant_a)
    with tenant_context(tenant_a):
        row = subjects.export(tenant=tenant_a, actor=alice, query=kit.ZED, reference="old")
        past = timezone.now() - dt.timedelta(days=subject_export.KEEP_DAYS + 3)
        SubjectRequest.objects.filter(pk=row.pk).update(created_at=past)
        row.refresh_from_db()
    assert subject_export.path_for(tenant_a.id, row.pk).exists()  # the sweep has not run
    with pytest.raises(subject_export.ExportGone, match="expired"):
        subject_export.read(tenant_a, row)
    assert not subject_export.available(tenant_a, row)


# Models outside the tenant registry: console users, sessions, platform control plane.
CONTROL_PLANE = {
    "auth.Permission",
    "auth.Group",
    "auth.User",
    "contenttypes.ContentType",
    "sessions.Session",
    "guardian.UserObjectPermission",
    "guardian.GroupObjectPermission",
    "otp_totp.TOTPDevice",
    "otp_static.StaticDevice",
    "otp_static.StaticToken",
    "axes.AccessFailureLog",
    "axes.AccessAttempt",
    "axes.AccessAttemptExpiration",
    "axes.AccessLog",
    "tenants.Tenant",
    "tenants.Membership",
    "tenants.ApiToken",
    "tenants.AuditAnchor",
    "compliance.TenantKey",
    "compliance.TenantDeletion",
}


def test_every_django_model_is_either_a_tenant_model_or_known_control_plane():
    """The registry walks only TenantOwnedModel subclasses; a new model holding monitored
    people's data on another base class would pass `unregistered()` unseen. This enumerates
    apps.get_models() so such a model fails here."""
    tenant = {m._meta.label for m in tenant_models()}
    others = {m._meta.label for m in apps.get_models()} - tenant
    assert others == CONTROL_PLANE


def test_file_policy_actions_and_alerts_about_the_persons_files_are_exported_and_erased(
    alice, tenant_a
):
    """A file policy's alert and governance action on the person's files: the quarantine action
    has no account or person link (label = file name, params = {"owner": email}) and an ICAP
    upload's alert links no one (owner string only); both are found through the file record,
    exported, and erased (the alert) or redacted (the action)."""
    from apps.accounts.models import Account
    from apps.dlp.models import FileSource
    from apps.governance.models import GovernanceAction
    from tests.dlp import file_policy_kit as files

    world = kit.seed(tenant_a)
    drive = files.app(tenant_a)
    with tenant_context(tenant_a):
        zed_drive = Account.objects.create(
            app_instance=drive, user=world.zed, external_id="zq-ext-0003", username=kit.ZED
        )
    files.make(tenant_a, governance=["quarantine_file"])
    files.scan(
        tenant_a,
        name="zq-file payroll.txt",
        source=FileSource.APP,
        app_instance=drive,
        external_id="doc-zq",
        owner=kit.ZED,
        owner_account=zed_drive,
    )
    files.scan(tenant_a, name="notes.txt", source=FileSource.ICAP, owner=kit.ZED_OKTA)
    with tenant_context(tenant_a):
        row = subjects.export(tenant=tenant_a, actor=alice, query=kit.ZED, reference="x")
        archive = _archive(tenant_a, row)
        governance = archive.read("governance.json").decode()
        alerts = json.loads(archive.read("alerts.json"))
        subjects.erase(tenant=tenant_a, actor=alice, query=kit.ZED, reference="DSR-4")
        action = GovernanceAction.objects.get(kind="quarantine_file")
    left = kit.leftovers(tenant_a, world.markers)
    kept = [h for h in left if "GovernanceAction" in h or "alerts.Alert" in h]
    # The export lists the action on the person's file; the erase leaves nothing of it.
    assert ("doc-zq" in governance, kept) == (True, [])
    titles = sorted(a["title"] for a in alerts if a["alert_type"] == "file_policy")
    assert titles == ["Cards anywhere: notes.txt", "Cards anywhere: zq-file payroll.txt"]
    assert (action.target_label, action.params) == ("[erased]", {"owner": "[erased]"})


def test_a_us_tenant_exports_and_erases_in_its_own_database(alice):
    """Geo: the archive is read from, and the erase removes from, the tenant's geo database;
    the other database never held (and does not gain) a row of the tenant."""
    from tests.factories import make_tenant

    tenant = make_tenant("Walk us export", geo="us")
    world = kit.seed(tenant)
    with tenant_context(tenant):
        row = subjects.export(tenant=tenant, actor=alice, query=kit.ZED_OKTA, reference="r")
        activities = json.loads(_archive(tenant, row).read("activities.json"))
        subjects.erase(tenant=tenant, actor=alice, query=kit.ZED, reference="r")
    assert len(activities) == 5
    assert {a["app_instance_id"] for a in activities} >= {
        str(a.app_instance_id) for a in world.zed_accounts
    }  # both apps
    assert [h for h in kit.leftovers(tenant, world.markers) if "AuditEvent" not in h] == []
    for model in tenant_models():
        assert not model.unscoped_objects.using("default").filter(tenant_id=tenant.id).exists()


def test_erase_spares_a_namesake(alice, tenant_a):
    """Display names are not unique, yet `names` (display names included) select rows to
    delete or redact: a second "Zedediah Quux" loses his file (owner shown by display name) and
    his governance action is cut from his account."""
    from apps.dlp.models import FileRecord
    from apps.governance.models import GovernanceAction

    kit.seed(tenant_a)
    app = logdata.app(tenant_a, "Sharepoint")
    other = logdata.person(tenant_a, "zed.other@fabrikam.test", kit.ZED_NAME)
    other_account = logdata.account(tenant_a, app, other, display_name=kit.ZED_NAME)
    with tenant_context(tenant_a):
        his_file = FileRecord.objects.create(
            source="app", app_instance=app, external_id="other-1", name="a.docx",
            owner=kit.ZED_NAME, owner_account=None, location="/sites/x/",
        )  # fmt: skip
        his_action = GovernanceAction.objects.create(
            kind="suspend_user", source="manual", target_type="account", app_instance=app,
            account=other_account, user=other, target_label=kit.ZED_NAME, target_ref="o-1",
            initiated_by_label="alice",
        )  # fmt: skip
        subjects.erase(tenant=tenant_a, actor=alice, query=kit.ZED, reference="r")
        kept = FileRecord.objects.filter(pk=his_file.pk).exists()
        action = GovernanceAction.objects.get(pk=his_action.pk)
    assert (kept, action.account_id, action.user_id) == (True, other_account.pk, other.pk)


def test_the_check_finds_an_erase_asked_by_username(alice, tenant_a):
    """The request is filed under the digests of every unique name of the person, so checking
    by the account username the erase was asked with finds it too (a stranger's name does
    not)."""
    kit.seed(tenant_a)
    with tenant_context(tenant_a):
        row = subjects.erase(tenant=tenant_a, actor=alice, query=kit.ZED_OKTA, reference="r")
        assert subjects.check(tenant=tenant_a, query=kit.ZED) == [row]
        assert subjects.check(tenant=tenant_a, query=kit.ZED_OKTA) == [row]
        assert subjects.check(tenant=tenant_a, query="nobody@contoso.test") == []
        assert kit.ZED_OKTA.lower() not in row.name_digests  # digests only


# --- Deleted-account cleanup -------------------------------------------------------------------


def _lone(tenant, who: str):
    """A person whose only account was seen deleted long ago, with one activity and one file."""
    return kit.lone_person(tenant, who, LONG_AGO, with_file=True)[0]


def test_an_interrupted_cleanup_is_carried_on_by_the_next_sweep(tenant_a, monkeypatch):
    """A cleanup stopped half-way (time limit, crash) leaves its PurgeRun running with what it
    removed so far; the next sweep continues that record (as the retention purge does) and
    closes it, so no record stays "running" for ever."""
    _lone(tenant_a, "first")
    _lone(tenant_a, "second")
    real = subjects._cleanup_account
    calls = []

    def stop_on_the_second(tenant, account, receipt):
        calls.append(account.pk)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        real(tenant, account, receipt)

    monkeypatch.setattr(subjects, "_cleanup_account", stop_on_the_second)
    assert subjects.cleanup_deleted_accounts() == 0  # the tenant's failure is logged
    monkeypatch.setattr(subjects, "_cleanup_account", real)
    assert subjects.cleanup_deleted_accounts() == 1

    with tenant_context(tenant_a):
        [run] = PurgeRun.objects.filter(kind="accounts")
    assert (run.status, run.removed, run.details["by_kind"]["profile"]) == (
        PurgeStatus.DONE,
        2,
        2,
    )


def test_the_cleanup_strips_the_deleted_accounts_name_from_the_activities_it_keeps(tenant_a):
    """The cleanup keeps the account's activities (the person has another account) and clears
    actor, IP, user agent and raw, and the account's names in object_name / object_id, where
    apps put the user's own name (OneDrive paths, mailbox names)."""
    world = kit.seed(tenant_a, zed_deleted_at=LONG_AGO)
    _, zed_okta = world.zed_accounts
    okta = zed_okta.app_instance
    logdata.add(
        tenant_a,
        [
            logdata.activity_row(
                okta,
                logdata.base_time(),
                user=world.zed,
                account=zed_okta,
                actor=kit.ZED_OKTA,
                object_name=f"/personal/{kit.ZED_OKTA}/Documents/cv.docx",
                object_id=f"mailbox:{kit.ZED_OKTA}",
            )
        ],
    )

    assert subjects.cleanup_deleted_accounts() == 1

    with tenant_context(tenant_a):
        kept = Activity.objects.filter(user_id=world.zed.pk, account_id=None)
        assert kept.count() == 2
        assert kept.filter(object_id="mailbox:[erased]").exists()
    assert kit.leftovers(tenant_a, [kit.ZED_OKTA]) == []


def test_the_cleanup_of_a_persons_last_account_strips_rather_than_erases(tenant_a):
    """A person whose last account is cleaned up loses our copy of them (profile, account,
    memberships, and the personal fields of what remains), but the activities, file records and
    alerts still inside their retention stay, stripped and unlinked: the cleanup is not an
    erase request."""
    from apps.alerts.models import Alert
    from apps.dlp.models import FileRecord
    from tests.alerts.alertdata import make_alert

    person = _lone(tenant_a, "carolyn")
    with tenant_context(tenant_a):
        account = person.accounts.get()
        alert = make_alert(
            tenant_a, app=account.app_instance, person=person, account=account, title="Carolyn"
        )

    assert subjects.cleanup_deleted_accounts() == 1

    with tenant_context(tenant_a):
        assert not CloudUser.objects.filter(pk=person.pk).exists()
        kept_rows = Activity.objects.filter(app_instance=account.app_instance)
        assert kept_rows.count() == 2  # the seeded one and the alert's
        assert {(a.user_id, a.account_id, a.actor) for a in kept_rows} == {(None, None, "")}
        assert kept_rows.filter(object_name="/personal/[erased]/notes.txt").exists()
        record = FileRecord.objects.get(external_id="doc-7")
        assert (record.owner, record.owner_user_id, record.owner_account_id) == ("", None, None)
        kept = Alert.objects.get(pk=alert.pk)
        assert not kept.users.exists() and not kept.accounts.exists()
        [run] = PurgeRun.objects.filter(kind="accounts")
    assert "activities" not in run.details["by_kind"] and "files" not in run.details["by_kind"]
    assert kit.leftovers(tenant_a, ["carolyn", str(person.pk)]) == []
