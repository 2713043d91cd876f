"""The deleted-account cleanup (beat): accounts seen deleted in their app longer ago than the
tenant's window lose their copy here (the directory goes, what remains is stripped); a person
left with no account loses their profile too."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import Account, CloudUser
from apps.activities.models import Activity
from apps.compliance import subjects
from apps.compliance.models import PurgeMethod, PurgeRun, RetentionSettings
from apps.compliance.tasks import cleanup_deleted_accounts
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.compliance import subjects_kit as kit
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"])

LONG_AGO = timezone.now() - dt.timedelta(days=800)  # past the default two years


@pytest.mark.parametrize("geo", ["eu", "us"])
def test_cleanup_walks_every_model(geo):
    tenant = make_tenant(f"Cleanup {geo}", geo=geo)
    world = kit.seed(tenant, zed_deleted_at=LONG_AGO)
    zed_main, zed_okta = world.zed_accounts
    carol, _ = kit.lone_person(tenant, "carolyn", LONG_AGO)
    dave, dave_acc = kit.lone_person(tenant, "davidson", timezone.now() - dt.timedelta(days=10))

    assert cleanup_deleted_accounts() == 2  # the beat task: Zed's Okta account and Carolyn's

    okta_markers = [kit.ZED_OKTA, "zq-ext-0002", str(zed_okta.pk), f"Agent of {kit.ZED_OKTA}"]
    assert kit.leftovers(tenant, okta_markers) == []
    assert kit.leftovers(tenant, ["carolyn", str(carol.pk)]) == []
    assert kit.surviving(tenant, world.bob_rows) == {}
    with tenant_context(tenant):
        # Zed stays, with his other account and his activities there.
        assert CloudUser.objects.filter(pk=world.zed.pk).exists()
        assert list(Account.objects.filter(user=world.zed)) == [zed_main]
        assert Activity.objects.filter(account_id=zed_main.pk).count() == 3
        # The Okta activities are kept for the log, without what identified the account.
        stripped = Activity.objects.filter(user_id=world.zed.pk, account_id=None)
        assert stripped.count() == 1
        assert [(a.actor, a.ip, a.user_agent, a.raw) for a in stripped] == [("", None, "", {})]
        assert Account.objects.filter(pk=dave_acc.pk).exists()  # inside the window
        # Zed's files stay (they may still be in the app); those of the Okta account lose
        # their owner, the one of his main account is untouched.
        from apps.dlp.models import FileRecord

        files = {
            f.name: f for f in FileRecord.objects.filter(pk__in=[f.pk for f in world.zed_files])
        }
        assert len(files) == 3
        assert (files["zq-file users.csv"].owner, files["zq-file users.csv"].owner_account_id) == (
            "",
            None,
        )
        assert files["zq-file upload.txt"].owner == ""
        assert files["zq-file budget.xlsx"].owner == kit.ZED
        assert files["zq-file budget.xlsx"].owner_account_id == zed_main.pk
        run = PurgeRun.objects.get()
        assert (run.kind, run.method, run.removed, run.status) == (
            "accounts",
            PurgeMethod.ACCOUNT_CLEANUP,
            2,
            "done",
        )
        assert run.details["by_kind"]["profile"] == 1  # Carolyn had no account left

    assert cleanup_deleted_accounts() == 0  # idempotent: nothing more is due
    with tenant_context(tenant):
        assert PurgeRun.objects.count() == 1
        RetentionSettings.objects.create(deleted_accounts_days=5)
    assert subjects.cleanup_deleted_accounts() == 1  # a shorter window takes Davidson
    assert kit.leftovers(tenant, ["davidson", str(dave.pk)]) == []


def test_cleanup_leaves_other_tenants_alone(tenant_a, tenant_b):
    kit.lone_person(tenant_b, "brenda", timezone.now() - dt.timedelta(days=100))
    with tenant_context(tenant_a):
        RetentionSettings.objects.create(deleted_accounts_days=30)
    person, _ = kit.lone_person(tenant_a, "arnold", timezone.now() - dt.timedelta(days=100))
    assert subjects.cleanup_deleted_accounts() == 1  # B keeps its default two years
    with tenant_context(tenant_b):
        assert Account.objects.filter(username="brenda-login").exists()
        assert not PurgeRun.objects.exists()
    with tenant_context(tenant_a):
        assert not CloudUser.objects.filter(pk=person.pk).exists()


def test_the_sweep_drops_export_archives_after_their_days(alice, tenant_a):
    from apps.compliance import subject_export

    logdata.person(tenant_a, "erin@contoso.test", "Erin")
    with tenant_context(tenant_a):
        row = subjects.export(tenant=tenant_a, actor=alice, query="erin@contoso.test")
    archive = subject_export.path_for(tenant_a.id, row.pk)
    assert archive.exists()
    subjects.cleanup_deleted_accounts()
    assert archive.exists()  # still within its days
    later = timezone.now() + dt.timedelta(days=subject_export.KEEP_DAYS + 1)
    subjects.cleanup_deleted_accounts(now=later)
    assert not archive.exists()
