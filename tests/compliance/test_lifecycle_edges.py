"""Edges of the lifecycle found in review: alert dead letters kept as long as alerts, other
users' sign-in records kept at a deletion, the key cache, the activity-privacy list
(re-adding, promotion, superusers, odd form values, other tenants), the tenant-wide travel
memory kept by the purge, the list in the tenant export."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import get_perms

from apps.compliance import crypto, offboarding
from apps.integrations import services as integration_services
from apps.integrations.models import DeadLetter
from apps.tenants import services
from apps.tenants.models import Membership, Role
from apps.tenants.permissions import Action
from apps.tenants.scoping import tenant_context
from tests.compliance import retention_kit as kit
from tests.factories import UserFactory, member
from tests.integrations import kit as ikit

ALL = ["default", "geo_us"]
VIEW_PRIVATE = Action.VIEW_PRIVATE.value
pytestmark = pytest.mark.django_db(databases=ALL)


# --- prune_outbox: an alert's dead letter outlives the activity maximum while its alert does ---


def test_an_alert_dead_letter_stays_while_alerts_are_kept(tenant_a, settings):
    """Alerts may be kept longer than activities (ALERT_RETENTION_DAYS > ACTIVITY_...): the
    dead letter of an alert still held can still be resent, so it must not go at the activity
    maximum."""
    settings.ACTIVITY_RETENTION_DAYS = 30
    settings.ALERT_RETENTION_DAYS = 180
    destination, _ = ikit.webhook(tenant_a)
    letter = ikit.dead_letter(tenant_a, destination, ref="alert-still-held")
    with tenant_context(tenant_a):
        DeadLetter.objects.filter(pk=letter.pk).update(created_at=kit.ago(60))
        integration_services.prune_outbox()
        assert DeadLetter.objects.filter(pk=letter.pk).exists()


# --- Offboarding: sign-in records of people who are not deleted --------------------------------


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_deleting_a_tenant_keeps_other_users_sign_in_records(tenant_a, tenant_b, charlie):
    """A deleted member's email that is another (kept) user's sign-in name must not take that
    user's sign-in log and lockout counter with it."""
    UserFactory(username="gone@alpha.test", email=charlie.username)
    services.set_role(
        tenant=tenant_a,
        user=get_user_model().objects.get(username="gone@alpha.test"),
        role=Role.SECURITY_ADMIN,
        actor=None,
    )
    now = timezone.now()
    AccessAttempt.objects.create(
        username=charlie.username,
        ip_address="192.0.2.9",
        user_agent="ua",
        path_info="/login/",
        get_data="",
        post_data="",
        http_accept="*/*",
        failures_since_start=4,
        attempt_time=now,
    )
    AccessLog.objects.create(
        username=charlie.username,
        ip_address="192.0.2.9",
        user_agent="ua",
        path_info="/login/",
        http_accept="*/*",
        attempt_time=now,
    )

    offboarding.delete_tenant(tenant_id=tenant_a.id)

    assert AccessAttempt.objects.filter(username=charlie.username).count() == 1
    assert AccessLog.objects.filter(username=charlie.username).count() == 1


# --- Key cache: no query per decrypt ---------------------------------------------------------


def test_decrypts_of_a_cached_key_do_not_query(tenant_a, django_assert_num_queries):
    blob = crypto.seal(tenant_a.id, b"evidence", "rvb.probe")
    crypto.open_sealed(blob, "rvb.probe", tenant_a.id)
    with django_assert_num_queries(0):
        for _ in range(50):
            assert crypto.open_sealed(blob, "rvb.probe", tenant_a.id) == b"evidence"
            crypto.seal(tenant_a.id, b"more", "rvb.probe")


# --- The activity-privacy list -----------------------------------------------------------------


def test_removal_and_re_adding_does_not_bring_the_permission_back(tenant_a, alice):
    other = member(tenant_a, Role.GLOBAL_ADMIN, username="ga2@alpha.test")
    assert VIEW_PRIVATE in get_perms(other, tenant_a)
    services.remove_member(tenant=tenant_a, user=other, actor=alice)
    services.set_role(tenant=tenant_a, user=other, role=Role.SECURITY_ADMIN, actor=alice)
    assert not Membership.objects.get(tenant=tenant_a, user=other).may_view_private
    assert VIEW_PRIVATE not in get_perms(other, tenant_a)


def test_a_reader_promoted_is_not_put_on_the_list_silently(tenant_a, alice, rita):
    services.set_role(tenant=tenant_a, user=rita, role=Role.SECURITY_ADMIN, actor=alice)
    assert VIEW_PRIVATE not in get_perms(rita, tenant_a)


def test_a_superuser_reader_does_not_hold_view_private(client, tenant_a, alice):
    """guardian grants a superuser every permission: being on the list (or not) must still
    decide who reveals private activities."""
    boss = member(tenant_a, Role.SECURITY_READER, username="staff@alpha.test")
    boss.is_superuser = boss.is_staff = True
    boss.save()
    client.force_login(boss)
    status = client.get(reverse("activities:reveal-private", args=[tenant_a.slug])).status_code
    assert status == 403


# --- Members page: odd values answer with a message, never a 500 --------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"private": "grant"},
        {"private": "GRANT"},
        {"private": ["grant", "revoke"]},
        {"role": "owner"},
        {"role": ""},
        {},
        {"remove": "1", "private": "revoke"},
    ],
)
def test_member_post_with_odd_values_never_fails(client, tenant_a, alice, rita, data):
    client.force_login(alice)
    membership = Membership.objects.get(tenant=tenant_a, user=rita)
    url = reverse("tenants:member", args=[tenant_a.slug, membership.pk])
    assert client.post(url, data).status_code == 302
    assert VIEW_PRIVATE not in get_perms(rita, tenant_a)


def test_member_post_for_another_tenants_membership_is_404(client, tenant_a, alice, charlie):
    client.force_login(alice)
    membership = Membership.objects.get(user=charlie)
    url = reverse("tenants:member", args=[tenant_a.slug, membership.pk])
    assert client.post(url, {"private": "revoke"}).status_code == 404
    assert membership.__class__.objects.get(pk=membership.pk).may_view_private


# --- Retention: the tenant-wide travel memory is still in use ----------------------------------


def test_the_tenant_wide_travel_memory_stays_while_its_people_are_remembered(tenant_a):
    """impossible_travel's TENANT memory counts, per country, the people for whom it is usual;
    each person is counted once, when their day count reaches usual_days, so a person whose own
    memory stays never adds to it again. Purging it alone (it changes rarely) while the people's
    memories stay loses the tenant's common countries for good (sensitivity Low)."""
    from apps.alerts.detectors.impossible_travel import TENANT
    from apps.alerts.models import DetectorState
    from apps.compliance.retention import purge_all

    with tenant_context(tenant_a):
        common = DetectorState.objects.create(
            detector="impossible_travel", subject=TENANT, data={"c": {"FR": 40, "US": 35}}
        )
        person = DetectorState.objects.create(
            detector="impossible_travel",
            subject="u:daily",
            data={"since": 1, "r": [], "c": {"FR": [1, 20000, 300]}},
        )
        DetectorState.objects.filter(pk=common.pk).update(updated_at=kit.ago(200))
        DetectorState.objects.filter(pk=person.pk).update(updated_at=kit.ago(1))

    purge_all()

    with tenant_context(tenant_a):
        assert DetectorState.objects.filter(pk=person.pk).exists()
        assert DetectorState.objects.filter(pk=common.pk).exists()


# --- Offboarding export: the activity-privacy list ----------------------------------------------


def test_the_export_says_who_is_on_the_activity_privacy_list(tenant_a, alice, sam):
    import io
    import json
    import zipfile

    from apps.compliance import tenant_export

    services.set_private_viewer(tenant=tenant_a, user=sam, allowed=True, actor=alice)
    data = b"".join(tenant_export.stream_tenant_archive(tenant_a))
    archive = zipfile.ZipFile(io.BytesIO(data))
    rows = [json.loads(x) for x in archive.read("tenants/members.jsonl").splitlines()]
    assert {row["username"]: row.get("may_view_private") for row in rows} == {
        alice.username: True,
        sam.username: True,
    }
