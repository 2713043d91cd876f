"""IP ranges: service rules (CIDRs, unique names, no overlaps), audit, the console page and the
API, with readers and another tenant's admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from apps.activities import iprange_services
from apps.activities.models import IpCategory, IpRange
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")


def create(tenant, actor=None, **fields):
    values = {"name": "Office", "cidrs": ["192.0.2.0/24"], "category": IpCategory.CORPORATE}
    values.update(fields)
    with tenant_context(tenant):
        return iprange_services.create_range(tenant=tenant, actor=actor, **values)


def refusal(tenant, **fields) -> dict:
    with pytest.raises(ValidationError) as caught:
        create(tenant, **fields)
    return caught.value.message_dict


def ranges(tenant) -> list[IpRange]:
    with tenant_context(tenant):
        return list(IpRange.objects.order_by("name"))


def audit_actions(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(
            AuditEvent.objects.filter(action__startswith="ip_range.")
            .order_by("seq")
            .values_list("action", flat=True)
        )


# --- Services ----------------------------------------------------------------------------------


def test_create_normalises_and_audits(tenant_a, alice):
    ip_range = create(
        tenant_a,
        alice,
        name="  HQ   London ",
        cidrs=["192.0.2.77/24", "198.51.100.7", "::ffff:203.0.113.0/120", "2001:DB8::/32"],
        tags=["London", "london", " Guest  Wi-Fi "],
        isp_override="Contoso Net",
    )
    assert ip_range.name == "HQ London"
    assert ip_range.cidrs == ["192.0.2.0/24", "198.51.100.7/32", "203.0.113.0/24", "2001:db8::/32"]
    assert ip_range.tags == ["London", "Guest Wi-Fi"]
    assert audit_actions(tenant_a) == ["ip_range.created"]
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="ip_range.created")
    assert event.actor_label == "alice@alpha.test"
    assert event.details["cidrs"][0] == "192.0.2.0/24"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"cidrs": ["192.0.2.0/33"]}, "cidrs", "“192.0.2.0/33” is not an IPv4 or IPv6 CIDR"),
        ({"cidrs": ["banana"]}, "cidrs", "is not an IPv4 or IPv6 CIDR"),
        ({"cidrs": []}, "cidrs", "Give at least one CIDR."),
        (
            {"cidrs": ["10.0.0.0/8", "10.1.0.0/16"]},
            "cidrs",
            "10.1.0.0/16 overlaps 10.0.0.0/8 in this list.",
        ),
        ({"name": "  "}, "name", "Give the range a name."),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
        ({"category": 9}, "category", "Pick a category."),
        ({"category": "vpn"}, "category", "Pick a category."),
        ({"tags": ["t" * 61]}, "tags", "at most 60 characters"),
    ],
)
def test_bad_fields_are_refused_with_a_message(tenant_a, fields, field, message):
    errors = refusal(tenant_a, **fields)
    assert any(message in text for text in errors[field]), errors
    assert ranges(tenant_a) == []


def test_names_are_unique_case_insensitively(tenant_a):
    create(tenant_a, name="Office")
    errors = refusal(tenant_a, name="OFFICE", cidrs=["198.51.100.0/24"])
    assert errors["name"] == ["A range named “OFFICE” already exists."]


@pytest.mark.parametrize(
    ("existing", "new", "message"),
    [
        ("10.0.0.0/16", "10.0.5.0/24", "10.0.5.0/24 overlaps 10.0.0.0/16 of the range “HQ”."),
        ("10.0.5.0/24", "10.0.0.0/16", "10.0.0.0/16 overlaps 10.0.5.0/24 of the range “HQ”."),
        ("10.0.5.7/32", "10.0.5.7", "10.0.5.7/32 overlaps 10.0.5.7/32 of the range “HQ”."),
        ("2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::/48 overlaps 2001:db8::/32"),
        ("192.0.2.0/24", "::ffff:192.0.2.0/121", "192.0.2.0/25 overlaps 192.0.2.0/24"),
    ],
)
def test_overlapping_ranges_are_refused_naming_the_other(tenant_a, existing, new, message):
    create(tenant_a, name="HQ", cidrs=[existing])
    errors = refusal(tenant_a, name="VPN", cidrs=[new])
    assert any(message in text for text in errors["cidrs"]), errors
    assert [r.name for r in ranges(tenant_a)] == ["HQ"]


def test_v4_and_v6_never_overlap_each_other(tenant_a):
    create(tenant_a, name="v4", cidrs=["0.0.0.0/1"])
    create(tenant_a, name="v6", cidrs=["::/1"])
    assert len(ranges(tenant_a)) == 2


def test_another_tenants_ranges_do_not_count(tenant_a, tenant_b):
    create(tenant_b, name="Office", cidrs=["192.0.2.0/24"])
    create(tenant_a, name="Office", cidrs=["192.0.2.0/24"])  # same name and CIDR: other tenant
    assert len(ranges(tenant_a)) == len(ranges(tenant_b)) == 1


def test_update_checks_others_but_not_itself_and_audits_changes(tenant_a, sam):
    office = create(tenant_a, name="Office", cidrs=["10.0.0.0/16"])
    create(tenant_a, name="Lab", cidrs=["10.1.0.0/16"])
    with tenant_context(tenant_a):
        iprange_services.update_range(
            tenant=tenant_a, ip_range=office, actor=sam, cidrs=["10.0.0.0/17"], category=4
        )
        with pytest.raises(ValidationError) as caught:
            iprange_services.update_range(
                tenant=tenant_a, ip_range=office, actor=sam, cidrs=["10.0.0.0/15"]
            )
        with pytest.raises(ValidationError):
            iprange_services.update_range(tenant=tenant_a, ip_range=office, actor=sam, name="lab")
        # Nothing changed: nothing audited.
        iprange_services.update_range(tenant=tenant_a, ip_range=office, actor=sam, category=4)
        event = AuditEvent.objects.get(action="ip_range.updated")
    assert "overlaps 10.1.0.0/16 of the range “Lab”" in caught.value.message_dict["cidrs"][0]
    office.refresh_from_db()
    assert (office.cidrs, office.category, office.name) == (["10.0.0.0/17"], 4, "Office")
    assert event.details["changes"] == {
        "cidrs": {"from": ["10.0.0.0/16"], "to": ["10.0.0.0/17"]},
        "category": {"from": 1, "to": 4},
    }
    assert audit_actions(tenant_a) == ["ip_range.created", "ip_range.created", "ip_range.updated"]


def test_delete_audits(tenant_a, sam):
    office = create(tenant_a)
    with tenant_context(tenant_a):
        iprange_services.delete_range(tenant=tenant_a, ip_range=office, actor=sam)
    assert ranges(tenant_a) == []
    assert audit_actions(tenant_a) == ["ip_range.created", "ip_range.deleted"]


# --- Console -----------------------------------------------------------------------------------


def page(tenant, name="ipranges:list", **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


FORM = {"name": "HQ", "cidrs": "192.0.2.0/24\n2001:db8::/32", "category": "1", "tags": "a, b"}


def test_reader_sees_ranges_but_no_controls(client, rita, tenant_a):
    create(tenant_a, name="Office", tags=["London"])
    client.force_login(rita)
    response = client.get(page(tenant_a))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Office" in body and "192.0.2.0/24" in body and "London" in body
    assert "Add a range" not in body and "Delete" not in body and "Edit" not in body
    assert client.post(page(tenant_a), FORM).status_code == 403
    assert len(ranges(tenant_a)) == 1


def test_admin_adds_edits_and_deletes_a_range(client, sam, tenant_a):
    client.force_login(sam)
    response = client.post(page(tenant_a), FORM)
    assert response.status_code == 302
    (hq,) = ranges(tenant_a)
    assert (hq.cidrs, hq.tags) == (["192.0.2.0/24", "2001:db8::/32"], ["a", "b"])
    listing = client.get(page(tenant_a)).content.decode()
    assert "IP range “HQ” added." in listing and "Add a range" in listing

    edit = page(tenant_a, "ipranges:edit", range_id=hq.pk)
    form = client.get(edit)
    assert form.status_code == 200 and "2001:db8::/32" in form.content.decode()
    changed = {**FORM, "category": "4", "cidrs": "192.0.2.0/25"}
    assert client.post(edit, changed).status_code == 302
    hq.refresh_from_db()
    assert (hq.category, hq.cidrs) == (IpCategory.VPN, ["192.0.2.0/25"])

    assert client.post(page(tenant_a, "ipranges:delete", range_id=hq.pk)).status_code == 302
    assert ranges(tenant_a) == []


def test_overlap_on_the_page_names_the_other_range(client, sam, tenant_a):
    create(tenant_a, name="Office", cidrs=["192.0.2.0/16"])
    client.force_login(sam)
    response = client.post(page(tenant_a), FORM)
    assert response.status_code == 400
    assert "overlaps 192.0.0.0/16 of the range “Office”" in response.content.decode()
    assert [r.name for r in ranges(tenant_a)] == ["Office"]


def test_reader_cannot_open_edit_or_delete(client, rita, tenant_a):
    office = create(tenant_a)
    client.force_login(rita)
    assert client.get(page(tenant_a, "ipranges:edit", range_id=office.pk)).status_code == 403
    assert client.post(page(tenant_a, "ipranges:edit", range_id=office.pk), FORM).status_code == 403
    assert client.post(page(tenant_a, "ipranges:delete", range_id=office.pk)).status_code == 403
    assert ranges(tenant_a) == [office]


def test_charlie_gets_404_everywhere(client, charlie, tenant_a, tenant_b):
    office = create(tenant_a)
    client.force_login(charlie)
    assert client.get(page(tenant_a)).status_code == 404
    assert client.post(page(tenant_a), FORM).status_code == 404
    assert client.get(page(tenant_a, "ipranges:edit", range_id=office.pk)).status_code == 404
    assert client.post(page(tenant_a, "ipranges:delete", range_id=office.pk)).status_code == 404
    # Through his own tenant's URL, A's range id is just as unknown.
    assert client.get(page(tenant_b, "ipranges:edit", range_id=office.pk)).status_code == 404
    assert client.post(page(tenant_b, "ipranges:delete", range_id=office.pk)).status_code == 404
    assert ranges(tenant_a) == [office]


def test_list_page_queries_do_not_grow(client, rita, tenant_a, django_assert_max_num_queries):
    for n in range(30):
        create(tenant_a, name=f"Range {n:02d}", cidrs=[f"10.{n}.0.0/16"], tags=["t"])
    client.force_login(rita)
    with django_assert_max_num_queries(12):
        response = client.get(page(tenant_a))
    assert response.content.decode().count("<tr>") == 31  # head + 30 ranges


def test_settings_tab_links_the_page(client, rita, tenant_a):
    client.force_login(rita)
    body = client.get(reverse("tenants:settings", kwargs={"tenant_slug": tenant_a.slug}))
    assert page(tenant_a) in body.content.decode()


# --- API ---------------------------------------------------------------------------------------


def api(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


LIST = "/api/v1/ip-ranges/"


def test_api_crud_by_a_security_admin(sam, tenant_a):
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    body = {"name": "HQ", "cidrs": ["192.0.2.0/24"], "category": 1, "tags": ["London"]}
    created = client.post(LIST, body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["category_name"], data["cidrs"]) == ("Corporate", ["192.0.2.0/24"])
    detail = f"{LIST}{data['id']}/"
    assert client.get(detail).json()["name"] == "HQ"
    changed = client.patch(detail, {"category": 4}, format="json")
    assert changed.status_code == 200 and changed.json()["category"] == 4
    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404
    assert audit_actions(tenant_a) == ["ip_range.created", "ip_range.updated", "ip_range.deleted"]


def test_api_overlap_is_a_400_naming_the_range(sam, tenant_a):
    create(tenant_a, name="Office", cidrs=["192.0.2.0/24"])
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    response = client.post(
        LIST, {"name": "VPN", "cidrs": ["192.0.2.128/25"], "category": 4}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["details"]["cidrs"] == [
        "192.0.2.128/25 overlaps 192.0.2.0/24 of the range “Office”."
    ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x", "cidrs": "192.0.2.0/24", "category": 1},
        {"name": "x", "cidrs": ["nope"], "category": 1},
        {"name": "x", "cidrs": ["192.0.2.0/24"], "category": 99},
        {"name": "x", "cidrs": [None], "category": 1},
    ],
)
def test_api_bad_bodies_are_400(sam, tenant_a, body):
    response = api(sam, tenant_a, Role.SECURITY_ADMIN).post(LIST, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert ranges(tenant_a) == []


def test_api_reader_reads_but_cannot_write(rita, tenant_a):
    office = create(tenant_a)
    client = api(rita, tenant_a, Role.SECURITY_READER)
    assert [r["name"] for r in client.get(LIST).json()["results"]] == ["Office"]
    detail = f"{LIST}{office.pk}/"
    assert client.post(LIST, {"name": "x"}, format="json").status_code == 403
    assert client.patch(detail, {"category": 3}, format="json").status_code == 403
    assert client.delete(detail).status_code == 403
    assert ranges(tenant_a) == [office]


def test_api_charlie_never_sees_or_touches_a(charlie, tenant_a, tenant_b):
    office = create(tenant_a)
    client = api(charlie, tenant_b, Role.GLOBAL_ADMIN)
    assert client.get(LIST).json()["results"] == []
    detail = f"{LIST}{office.pk}/"
    assert client.get(detail).status_code == 404
    assert client.patch(detail, {"category": 3}, format="json").status_code == 404
    assert client.delete(detail).status_code == 404
    office.refresh_from_db()
    assert office.category == IpCategory.CORPORATE


def test_api_list_queries_do_not_grow(rita, tenant_a, django_assert_max_num_queries):
    for n in range(40):
        create(tenant_a, name=f"Range {n:02d}", cidrs=[f"10.{n}.0.0/16"])
    client = api(rita, tenant_a, Role.SECURITY_READER)
    with django_assert_max_num_queries(8):
        response = client.get(LIST)
    assert response.json()["count"] == 40
