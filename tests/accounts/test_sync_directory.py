"""sync_directory: accounts, people, groups and memberships follow what the app lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.directory import AccountIn, GroupIn
from apps.accounts.models import Account, AccountStatus, CloudUser, GroupMembership, UserGroup
from apps.accounts.services import sync_directory
from apps.connectors.models import AppInstance, Vendor
from apps.tenants.scoping import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(tenant_a):
    with tenant_context(tenant_a):
        return AppInstance.objects.create(vendor=Vendor.OKTA, name="Okta")


@pytest.fixture
def other_app(tenant_a):
    with tenant_context(tenant_a):
        return AppInstance.objects.create(vendor=Vendor.OFFICE365, name="M365")


def ann(**changes) -> AccountIn:
    values = {
        "external_id": "u1",
        "username": "Ann@Acme.test",
        "email": "ann@acme.test",
        "display_name": "Ann Lee",
        "department": "Finance",
        "group_ids": ["g1"],
    }
    values.update(changes)
    return AccountIn(**values)


def bob(**changes) -> AccountIn:
    values = {"external_id": "u2", "username": "bob@acme.test", "display_name": "Bob Ray"}
    values.update(changes)
    return AccountIn(**values)


GROUPS = [GroupIn("g1", "Finance", "Money"), GroupIn("g2", "Sales")]


def sync(tenant, app, accounts, groups=GROUPS, complete=True, now=None):
    with tenant_context(tenant):
        return sync_directory(
            app_instance=app, accounts=accounts, groups=groups, complete=complete, now=now
        )


def test_first_sync_creates_people_accounts_groups_and_memberships(tenant_a, app):
    result = sync(tenant_a, app, [ann(), bob(group_ids=["g1", "g2"])])
    assert (result.accounts_created, result.people_created, result.groups_created) == (2, 2, 2)
    assert result.memberships_added == 3
    with tenant_context(tenant_a):
        person = CloudUser.objects.get(identity="ann@acme.test")
        assert (person.display_name, person.email, person.department) == (
            "Ann Lee",
            "ann@acme.test",
            "Finance",
        )
        account = Account.objects.get(app_instance=app, external_id="u1")
        assert account.user == person and account.status == AccountStatus.ACTIVE
        assert account.synced_at is not None
        assert sorted(
            GroupMembership.objects.filter(account__external_id="u2").values_list(
                "group__name", flat=True
            )
        ) == ["Finance", "Sales"]


def test_a_second_identical_sync_changes_nothing(tenant_a, app):
    sync(tenant_a, app, [ann(), bob()])
    result = sync(tenant_a, app, [ann(), bob()])
    assert result.accounts_created == result.accounts_updated == result.people_updated == 0
    assert result.memberships_added == result.memberships_removed == 0
    assert result.groups_updated == 0


def test_profile_and_group_changes_show_after_the_next_sync(tenant_a, app):
    sync(tenant_a, app, [ann(), bob()])
    result = sync(
        tenant_a,
        app,
        [ann(display_name="Ann Lee-Smith", department="Sales", group_ids=["g2"]), bob()],
        groups=[GroupIn("g1", "Finance team", "Money"), GroupIn("g2", "Sales")],
    )
    assert result.accounts_updated == 1 and result.people_updated == 1
    assert result.groups_updated == 1
    with tenant_context(tenant_a):
        person = CloudUser.objects.get(identity="ann@acme.test")
        assert (person.display_name, person.department) == ("Ann Lee-Smith", "Sales")
        account = Account.objects.get(external_id="u1")
        assert account.department == "Sales"
        assert list(account.memberships.values_list("group__name", flat=True)) == ["Sales"]
        assert UserGroup.objects.get(external_id="g1").name == "Finance team"


def test_a_group_the_app_no_longer_lists_goes(tenant_a, app):
    sync(tenant_a, app, [ann()])
    result = sync(tenant_a, app, [ann(group_ids=[])], groups=[GroupIn("g2", "Sales")])
    assert result.groups_removed == 1
    with tenant_context(tenant_a):
        assert list(UserGroup.objects.values_list("name", flat=True)) == ["Sales"]
        assert not GroupMembership.objects.exists()  # went with the group


def test_deleted_in_the_app_keeps_the_first_date_then_reactivates(tenant_a, app):
    t0 = timezone.now() - dt.timedelta(days=3)
    sync(tenant_a, app, [ann(), bob()], now=t0)
    first = sync(tenant_a, app, [ann()], now=t0 + dt.timedelta(days=1))
    again = sync(tenant_a, app, [ann()], now=t0 + dt.timedelta(days=2))
    assert first.accounts_deleted == 1 and again.accounts_deleted == 0
    with tenant_context(tenant_a):
        gone = Account.objects.get(external_id="u2")
        assert gone.status == AccountStatus.DELETED
        assert gone.deleted_seen_at == t0 + dt.timedelta(days=1)  # first time only
    back = sync(tenant_a, app, [ann(), bob()], now=t0 + dt.timedelta(days=3))
    assert back.accounts_reactivated == 1
    with tenant_context(tenant_a):
        bob_account = Account.objects.get(external_id="u2")
        assert bob_account.status == AccountStatus.ACTIVE
        assert bob_account.deleted_seen_at is None


def test_an_incomplete_listing_deletes_nobody(tenant_a, app):
    sync(tenant_a, app, [ann(), bob()])
    result = sync(tenant_a, app, [ann()], complete=False)
    assert result.accounts_deleted == 0
    with tenant_context(tenant_a):
        assert Account.objects.get(external_id="u2").status == AccountStatus.ACTIVE


def test_accounts_met_only_in_activities_are_not_deleted_but_adopted(tenant_a, app):
    with tenant_context(tenant_a):
        # What ingestion creates for actors it meets before any directory sync.
        guest = Account.objects.create(
            app_instance=app,
            external_id="guest@partner.test",
            username="guest@partner.test",
            status=AccountStatus.NA,
        )
        early = Account.objects.create(
            app_instance=app,
            external_id="ann@acme.test",
            username="ann@acme.test",
            status=AccountStatus.NA,
        )
    sync(tenant_a, app, [ann()])
    with tenant_context(tenant_a):
        guest.refresh_from_db()
        assert guest.status == AccountStatus.NA  # external: in no directory, not "deleted"
        early.refresh_from_db()
        assert early.external_id == "u1" and early.status == AccountStatus.ACTIVE
        assert Account.objects.filter(app_instance=app).count() == 2


def test_one_person_across_apps_and_no_erasing_by_an_app_that_does_not_know(
    tenant_a, app, other_app
):
    sync(tenant_a, app, [ann()])
    sync(tenant_a, other_app, [AccountIn("x9", "ANN@acme.test", display_name="Ann Lee")], [])
    with tenant_context(tenant_a):
        person = CloudUser.objects.get(identity="ann@acme.test")
        assert person.accounts.count() == 2
        assert person.department == "Finance"  # the second app has no department: kept


def test_an_address_changed_in_the_app_moves_the_person(tenant_a, app):
    sync(tenant_a, app, [ann()])
    with tenant_context(tenant_a):
        person_id = CloudUser.objects.get(identity="ann@acme.test").pk
    sync(tenant_a, app, [ann(username="ann.lee@acme.test", email="ann.lee@acme.test")])
    with tenant_context(tenant_a):
        person = CloudUser.objects.get(pk=person_id)  # the same person, history kept
        assert person.identity == "ann.lee@acme.test" and person.email == "ann.lee@acme.test"
        assert not CloudUser.objects.filter(identity="ann@acme.test").exists()


def test_statuses_from_the_app(tenant_a, app):
    sync(tenant_a, app, [ann(status="suspended"), bob(status="deleted"), AccountIn("u3", "svc")])
    with tenant_context(tenant_a):
        accounts = {a.external_id: a for a in Account.objects.all()}
        assert accounts["u1"].status == AccountStatus.SUSPENDED
        assert accounts["u2"].status == AccountStatus.DELETED
        assert accounts["u2"].deleted_seen_at is not None
        assert accounts["u3"].user is None  # no address: not a person


def test_sync_cost_does_not_grow_with_the_directory(tenant_a, app, django_assert_max_num_queries):
    people = [
        AccountIn(f"u{i}", f"user{i}@acme.test", display_name=f"User {i}", group_ids=["g1"])
        for i in range(200)
    ]
    with django_assert_max_num_queries(30):
        sync(tenant_a, app, people)
    people[5].department = "Legal"
    with django_assert_max_num_queries(30):
        sync(tenant_a, app, people)


def test_another_tenants_context_is_refused(tenant_a, tenant_b, app):
    with tenant_context(tenant_b), pytest.raises(ValueError):
        sync_directory(app_instance=app, accounts=[ann()], groups=[], complete=True)
