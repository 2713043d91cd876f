"""The activity-privacy permission list (spec 1.6): viewing private activities is held apart from
the roles. Global admins are on the list when they join; a global admin may add a security admin
or take anyone off (audited); readers never are; a demotion to reader takes it away; API tokens
never hold it. The members page and the scope page show who holds it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from guardian.shortcuts import get_perms

from apps.tenants import services
from apps.tenants.models import AuditEvent, Membership, Role
from apps.tenants.permissions import Action, allowed_actions
from apps.tenants.scoping import tenant_context

pytestmark = pytest.mark.django_db(databases="__all__")

VIEW_PRIVATE = Action.VIEW_PRIVATE.value


def _reveal_page(client, tenant) -> int:
    return client.get(reverse("activities:reveal-private", args=[tenant.slug])).status_code


def _member_post(client, tenant, user, **data):
    membership = Membership.objects.get(tenant=tenant, user=user)
    return client.post(reverse("tenants:member", args=[tenant.slug, membership.pk]), data)


def _flag(tenant, user) -> bool:
    return Membership.objects.get(tenant=tenant, user=user).may_view_private


def test_global_admins_join_the_list_others_do_not(tenant_a, alice, sam, rita):
    assert (_flag(tenant_a, alice), _flag(tenant_a, sam), _flag(tenant_a, rita)) == (
        True,
        False,
        False,
    )
    assert VIEW_PRIVATE in get_perms(alice, tenant_a)
    assert VIEW_PRIVATE not in get_perms(sam, tenant_a)
    assert VIEW_PRIVATE not in get_perms(rita, tenant_a)


def test_a_global_admin_allows_a_security_admin_and_withdraws_it(client, tenant_a, alice, sam):
    client.force_login(sam)
    assert _reveal_page(client, tenant_a) == 403
    client.force_login(alice)
    assert _member_post(client, tenant_a, sam, private="grant").status_code == 302
    assert _flag(tenant_a, sam) and VIEW_PRIVATE in get_perms(sam, tenant_a)
    client.force_login(sam)
    assert _reveal_page(client, tenant_a) == 200
    client.force_login(alice)
    _member_post(client, tenant_a, sam, private="revoke")
    assert not _flag(tenant_a, sam) and VIEW_PRIVATE not in get_perms(sam, tenant_a)
    client.force_login(sam)
    assert _reveal_page(client, tenant_a) == 403
    with tenant_context(tenant_a):
        actions = list(
            AuditEvent.objects.filter(action__startswith="member.private_viewer")
            .order_by("seq")
            .values_list("action", flat=True)
        )
    assert actions == ["member.private_viewer_added", "member.private_viewer_removed"]


def test_a_global_admin_can_be_taken_off_the_list(client, tenant_a, alice):
    services.set_private_viewer(tenant=tenant_a, user=alice, allowed=False, actor=alice)
    assert VIEW_PRIVATE not in get_perms(alice, tenant_a)
    client.force_login(alice)
    assert _reveal_page(client, tenant_a) == 403
    # Other rights of the role stay.
    assert Action.MANAGE_MEMBERS.value in get_perms(alice, tenant_a)


def test_a_reader_cannot_be_put_on_the_list(client, tenant_a, alice, rita):
    with pytest.raises(services.NotAnAdminError):
        services.set_private_viewer(tenant=tenant_a, user=rita, allowed=True, actor=alice)
    client.force_login(alice)
    response = _member_post(client, tenant_a, rita, private="grant")
    assert response.status_code == 302
    assert not _flag(tenant_a, rita) and VIEW_PRIVATE not in get_perms(rita, tenant_a)


def test_a_demotion_to_reader_takes_it_away(tenant_a, alice, sam):
    services.set_private_viewer(tenant=tenant_a, user=sam, allowed=True, actor=alice)
    services.set_role(tenant=tenant_a, user=sam, role=Role.SECURITY_READER, actor=alice)
    assert not _flag(tenant_a, sam) and VIEW_PRIVATE not in get_perms(sam, tenant_a)
    # Promoted again, they are not put back on the list by it.
    services.set_role(tenant=tenant_a, user=sam, role=Role.SECURITY_ADMIN, actor=alice)
    assert not _flag(tenant_a, sam)


def test_a_token_never_holds_it(tenant_a, alice):
    from apps.tenants.models import ApiToken

    token = ApiToken(tenant=tenant_a, created_by=alice, role=Role.GLOBAL_ADMIN)
    assert Action.VIEW_PRIVATE in allowed_actions(alice, tenant_a)
    assert Action.VIEW_PRIVATE not in allowed_actions(alice, tenant_a, token)


def test_only_global_admins_change_the_list(client, tenant_a, alice, sam, charlie, tenant_b):
    client.force_login(sam)
    assert _member_post(client, tenant_a, alice, private="revoke").status_code == 403
    assert _flag(tenant_a, alice)
    client.force_login(charlie)
    assert _member_post(client, tenant_a, alice, private="revoke").status_code == 404
    assert _flag(tenant_a, alice)


def test_the_members_and_scope_pages_say_who_may_reveal(client, tenant_a, alice, sam, rita):
    client.force_login(alice)
    body = client.get(reverse("tenants:members", args=[tenant_a.slug])).content.decode()
    assert body.count("May reveal") == 1 and 'value="grant"' in body
    scope = client.get(reverse("compliance:scope", args=[tenant_a.slug])).content.decode()
    assert "Who may reveal them:" in scope and alice.get_username() in scope
    # A reader sees the list but no buttons.
    client.force_login(rita)
    body = client.get(reverse("tenants:members", args=[tenant_a.slug])).content.decode()
    assert "May reveal" in body and 'value="grant"' not in body
