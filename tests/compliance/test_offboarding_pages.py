"""The subscription page and API: status, cancel (slug typed), reactivate, the whole-tenant
export; who may do what (global admins only; charlie never sees A's); everything audited."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.compliance import offboarding
from apps.tenants.models import AuditEvent, Role, Tenant, TenantStatus
from apps.tenants.scoping import tenant_context
from tests import role_matrix as rm
from tests.test_role_matrix import _build, _call, _matches, endpoints, keys, world  # noqa: F401

ALL = ["default", "geo_us"]


def _page(tenant):
    return reverse("compliance:offboarding", args=[tenant.slug])


def _url(name, tenant):
    return reverse(f"compliance:offboarding-{name}", args=[tenant.slug])


def _actions(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(
            AuditEvent.objects.filter(action__startswith="offboarding.")
            .order_by("seq")
            .values_list("action", flat=True)
        )


@pytest.mark.django_db(databases=ALL)
def test_the_role_matrix_rows_of_offboarding_hold(world, keys):  # noqa: F811
    """The matrix cells of this area (the full matrix runs in tests/test_role_matrix.py)."""
    problems = []
    mine = [e for e in endpoints() if "offboarding" in e.name]
    assert len(mine) == 8
    for endpoint in mine:
        for method, cells in rm.EXPECTED[endpoint.name].items():
            for principal, expected in zip(rm.PRINCIPALS, cells, strict=True):
                url, _ = _build(world, endpoint)
                response = _call(world, keys, endpoint, url, method, principal)
                if not _matches(expected, response):
                    problems.append(f"{method} {url} {principal}: {response.status_code}")
    assert not problems
    world.tenant_a.refresh_from_db()
    world.tenant_b.refresh_from_db()
    assert world.tenant_a.status == world.tenant_b.status == TenantStatus.ACTIVE


def test_every_member_sees_the_status_and_what_the_deletion_removes(
    client, rita, tenant_a, django_assert_max_num_queries
):
    client.force_login(rita)
    with django_assert_max_num_queries(12):
        page = client.get(_page(tenant_a)).content.decode()
    assert "Active" in page and "What the deletion removes" in page
    assert "data keys are destroyed" in page and "can no longer be read" in page
    assert "Activity log" in page and "the audit log" in page
    assert _url("cancel", tenant_a) not in page  # a reader gets no buttons
    assert _url("export", tenant_a) not in page
    assert "Only global admins" in page


def test_cancel_needs_the_slug_typed(client, alice, tenant_a, settings):
    settings.TENANT_DELETION_GRACE_DAYS = 30
    client.force_login(alice)
    page = client.get(_page(tenant_a)).content.decode()
    assert _url("cancel", tenant_a) in page and _url("export", tenant_a) in page
    wrong = client.post(_url("cancel", tenant_a), {"confirm": "bravo"})
    assert wrong.status_code == 400
    assert "not the tenant&#x27;s slug" in wrong.content.decode()
    tenant_a.refresh_from_db()
    assert tenant_a.status == TenantStatus.ACTIVE

    done = client.post(_url("cancel", tenant_a), {"confirm": "alpha"})
    assert done.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.status == TenantStatus.CANCELLED
    assert (tenant_a.delete_after - tenant_a.cancelled_at).days == 30
    page = client.get(_page(tenant_a)).content.decode()
    assert "Cancelled" in page and tenant_a.delete_after.strftime("%-d %b %Y") in page
    assert _url("reactivate", tenant_a) in page
    # The date is said once, by the banner every page shows; the message only confirms.
    assert "Subscription cancelled." in page and page.count("will be deleted on") == 1
    # A second cancel is refused with a message, nothing changes.
    again = client.post(_url("cancel", tenant_a), {"confirm": "alpha"})
    assert again.status_code == 400 and "cancelled" in again.content.decode()

    assert client.post(_url("reactivate", tenant_a)).status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.status == TenantStatus.ACTIVE and tenant_a.delete_after is None
    assert _actions(tenant_a) == ["offboarding.cancel", "offboarding.reactivate"]


def test_readers_and_security_admins_cannot_cancel(client, rita, sam, tenant_a):
    for user in (rita, sam):
        client.force_login(user)
        assert client.post(_url("cancel", tenant_a), {"confirm": "alpha"}).status_code == 403
        assert client.get(_url("export", tenant_a)).status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.status == TenantStatus.ACTIVE


def test_charlie_cannot_see_or_touch_a(client, charlie, tenant_a):
    client.force_login(charlie)
    assert client.get(_page(tenant_a)).status_code == 404
    assert client.post(_url("cancel", tenant_a), {"confirm": "alpha"}).status_code == 404
    assert client.post(_url("reactivate", tenant_a)).status_code == 404
    assert client.get(_url("export", tenant_a)).status_code == 404
    tenant_a.refresh_from_db()
    assert tenant_a.status == TenantStatus.ACTIVE


@pytest.mark.django_db(databases=ALL)
def test_a_cancelled_tenant_can_still_export_from_the_console(client, alice, tenant_a):
    offboarding.cancel(tenant=tenant_a, actor=alice, confirm_slug="alpha")
    client.force_login(alice)
    response = client.get(_url("export", tenant_a))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="alpha-export-')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["tenant"]["slug"] == "alpha" and manifest["status"] == "cancelled"
    assert _actions(tenant_a) == ["offboarding.cancel", "offboarding.export"]


# --- API -----------------------------------------------------------------------------------


def _api(user, tenant, role=Role.GLOBAL_ADMIN) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {rm.token_key(user, tenant, role)}")
    return client


@pytest.mark.django_db(databases=ALL)
def test_api_cancel_reactivate_and_export(alice, tenant_a):
    client = _api(alice, tenant_a)
    status = client.get(reverse("api-offboarding")).json()
    assert status["status"] == "active" and status["delete_after"] is None
    bad = client.post(reverse("api-offboarding-cancel"), {"confirm": 7}, format="json")
    assert bad.status_code == 400 and "confirm" in bad.json()["error"]["details"]
    wrong = client.post(reverse("api-offboarding-cancel"), {"confirm": "bravo"}, format="json")
    assert wrong.status_code == 400
    ok = client.post(reverse("api-offboarding-cancel"), {"confirm": "alpha"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "cancelled"
    assert ok.json()["delete_after"]
    again = client.post(reverse("api-offboarding-cancel"), {"confirm": "alpha"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    export = client.get(reverse("api-offboarding-export"))
    assert export.status_code == 200 and export["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content))).namelist()
    assert "manifest.json" in names and "tenants/auditevent.jsonl" in names

    back = client.post(reverse("api-offboarding-reactivate"), {}, format="json")
    assert back.status_code == 200 and back.json()["status"] == "active"
    assert client.post(reverse("api-offboarding-reactivate")).status_code == 409
    assert _actions(tenant_a) == [
        "offboarding.cancel",
        "offboarding.export",
        "offboarding.reactivate",
    ]


@pytest.mark.django_db(databases=ALL)
def test_api_security_admin_tokens_are_refused(sam, tenant_a):
    client = _api(sam, tenant_a, Role.SECURITY_ADMIN)
    assert client.get(reverse("api-offboarding")).status_code == 200
    cancel = client.post(reverse("api-offboarding-cancel"), {"confirm": "alpha"}, format="json")
    assert cancel.status_code == 403
    assert client.get(reverse("api-offboarding-export")).status_code == 403
    assert Tenant.objects.get(pk=tenant_a.pk).status == TenantStatus.ACTIVE
