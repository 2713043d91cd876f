"""Content inspection settings: regex limits, thresholds, custom types and "try it", on the
page and the API; readers read (and try) but never write; charlie never sees or touches A's."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from apps.dlp import settings_services
from apps.dlp.detection.types import BUILTIN_TYPES
from apps.dlp.models import CustomSensitiveType, DlpSettings, FileRecord
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")

CARD_TEXT = "Card number: 4111 1111 1111 1111 thanks"
TYPES = "/api/v1/dlp/custom-types/"


def url(name: str, tenant, *args) -> str:
    return reverse(name, args=[tenant.slug, *args])


def api(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


def custom_types(tenant) -> list[CustomSensitiveType]:
    with tenant_context(tenant):
        return list(CustomSensitiveType.objects.order_by("name"))


@pytest.fixture
def project(tenant_a):
    with tenant_context(tenant_a):
        return settings_services.create_custom_type(
            tenant=tenant_a, actor=None, name="Project code", regex=r"PRJ-\d{4}"
        )


# --- Regex limits (spec 3.3) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern", [r"PRJ-\d{4}", r"(?:ab|cd){1,9}-\d{2,3}", r"[A-Z*+]{2}\d", r"\bX\d{9}\b"]
)
def test_patterns_within_the_limits_pass(pattern):
    assert settings_services.regex_problem(pattern) is None


@pytest.mark.parametrize(
    "pattern, words",
    [
        (r"\d+", "“+” is not allowed"),
        (r"a.*b", "“*” is not allowed"),
        (r"\d{10}", "below 10"),
        (r"\d{2,12}", "below 10"),
        (r"\d{3,}", "no {n,}"),
        (r"(\d{3})-x", "non-capturing"),
        (r"(?P<n>a)", "non-capturing"),
        (r"(?=a)b", "non-capturing"),
        (r"(?i)abc", "inline flags"),
        (r"(?:a)\1", "Back-references"),
        (r"(?:a)(?P=x)", "non-capturing"),
        (r"[abc", "not closed"),
        (r"a?", "empty text"),
        ("abc\\", "lone backslash"),
    ],
)
def test_patterns_breaking_the_limits_are_refused_with_a_reason(pattern, words):
    problem = settings_services.regex_problem(pattern)
    assert problem is not None and words in problem


def test_a_custom_type_needs_a_regex_or_keywords(tenant_a):
    with tenant_context(tenant_a), pytest.raises(ValidationError) as refused:
        settings_services.create_custom_type(tenant=tenant_a, actor=None, name="Nothing")
    assert "regex" in refused.value.message_dict


def test_keys_are_unique_and_stay_on_rename(tenant_a, project):
    with tenant_context(tenant_a):
        other = settings_services.create_custom_type(
            tenant=tenant_a, actor=None, name="Project-code!", keywords=["alpha"]
        )
        assert project.key == "custom_project_code" and other.key == "custom_project_code_2"
        renamed = settings_services.update_custom_type(
            tenant=tenant_a, custom=project, actor=None, name="Renamed"
        )
        assert renamed.key == "custom_project_code"
        with pytest.raises(ValidationError) as refused:
            settings_services.create_custom_type(
                tenant=tenant_a, actor=None, name="renamed", regex="abc"
            )
        assert "name" in refused.value.message_dict


# --- Console -------------------------------------------------------------------------------


def test_a_reader_reads_the_page_but_cannot_write(client, rita, tenant_a, project):
    client.force_login(rita)
    page = client.get(url("dlp_settings:index", tenant_a))
    assert page.status_code == 200
    body = page.content.decode()
    assert all(t.label in body for t in BUILTIN_TYPES)
    assert "Project code" in body and "custom_project_code" in body
    assert "Save thresholds" not in body and "Add a sensitive type" not in body
    assert client.post(url("dlp_settings:index", tenant_a), {}).status_code == 403
    assert client.get(url("dlp_settings:custom-new", tenant_a)).status_code == 403
    edit = url("dlp_settings:custom-edit", tenant_a, project.pk)
    assert client.post(edit, {"name": "Hacked", "regex": "x"}).status_code == 403
    delete = url("dlp_settings:custom-delete", tenant_a, project.pk)
    assert client.post(delete).status_code == 403
    assert [c.name for c in custom_types(tenant_a)] == ["Project code"]


def _thresholds_form(**overrides) -> dict:
    data = {}
    for kind in BUILTIN_TYPES:
        data[f"{kind.key}__enabled"] = "on"
        data[f"{kind.key}__min_count"] = str(kind.min_count)
        data[f"{kind.key}__min_confidence"] = str(kind.min_confidence)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_disables_a_type_and_try_it_no_longer_finds_it(client, sam, tenant_a):
    client.force_login(sam)
    tried = client.post(url("dlp_settings:try", tenant_a), {"text": CARD_TEXT})
    assert "#### #### #### ####" in tried.content.decode()
    response = client.post(
        url("dlp_settings:index", tenant_a),
        _thresholds_form(payment_card__enabled=None, email__min_count="3"),
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        stored = DlpSettings.objects.get().thresholds
        assert AuditEvent.objects.filter(action="dlp.thresholds_changed").exists()
    assert stored["payment_card"]["enabled"] is False
    assert stored["email"]["min_count"] == 3
    assert set(stored) == {"payment_card", "email"}  # defaults are not stored
    tried = client.post(url("dlp_settings:try", tenant_a), {"text": CARD_TEXT})
    assert "#### #### #### ####" not in tried.content.decode()


def test_bad_thresholds_are_400_and_change_nothing(client, sam, tenant_a):
    client.force_login(sam)
    response = client.post(
        url("dlp_settings:index", tenant_a), _thresholds_form(payment_card__min_count="0")
    )
    assert response.status_code == 400
    with tenant_context(tenant_a):
        assert not DlpSettings.objects.exists()


def test_an_admin_adds_edits_and_deletes_a_custom_type(client, sam, tenant_a):
    client.force_login(sam)
    new = url("dlp_settings:custom-new", tenant_a)
    assert client.get(new).status_code == 200
    form = {"name": "Badge id", "regex": r"BDG-\d{5}", "keywords": "badge\nemployee",
            "min_count": "1", "min_confidence": "1", "enabled": "on"}  # fmt: skip
    assert client.post(new, form).status_code == 302
    [custom] = custom_types(tenant_a)
    assert custom.key == "custom_badge_id" and custom.keywords == ["badge", "employee"]
    tried = client.post(url("dlp_settings:try", tenant_a), {"text": "badge BDG-12345 ok"})
    body = tried.content.decode()
    assert "custom_badge_id" in body and "XXX-#####" in body and "12345" not in body
    edit = url("dlp_settings:custom-edit", tenant_a, custom.pk)
    assert client.post(edit, form | {"name": "Badge number"}).status_code == 302
    assert custom_types(tenant_a)[0].name == "Badge number"
    delete = url("dlp_settings:custom-delete", tenant_a, custom.pk)
    assert client.post(delete).status_code == 302
    assert custom_types(tenant_a) == []
    with tenant_context(tenant_a):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "dlp.custom_type_created",
        "dlp.custom_type_changed",
        "dlp.custom_type_deleted",
    } <= actions


def test_a_regex_beyond_the_limits_is_refused_on_the_page(client, sam, tenant_a):
    client.force_login(sam)
    response = client.post(
        url("dlp_settings:custom-new", tenant_a),
        {"name": "Greedy", "regex": r"\d+", "min_count": "1", "min_confidence": "2"},
    )
    assert response.status_code == 400
    assert "is not allowed" in response.content.decode()
    assert custom_types(tenant_a) == []


def test_try_it_stores_nothing_and_readers_may_use_it(client, rita, tenant_a):
    client.force_login(rita)
    response = client.post(url("dlp_settings:try", tenant_a), {"text": CARD_TEXT})
    assert response.status_code == 200
    body = response.content.decode()
    assert "#### #### #### ####" in body and "4111 1111" not in body.split("<textarea")[0]
    assert client.post(url("dlp_settings:try", tenant_a), {"text": ""}).status_code == 400
    with tenant_context(tenant_a):
        assert not FileRecord.objects.exists()


def test_charlie_cannot_see_or_touch_a_custom_type(client, charlie, tenant_a, tenant_b, project):
    client.force_login(charlie)
    assert client.get(url("dlp_settings:index", tenant_a)).status_code == 404
    assert client.get(url("dlp_settings:custom-edit", tenant_a, project.pk)).status_code == 404
    assert client.get(url("dlp_settings:custom-edit", tenant_b, project.pk)).status_code == 404
    assert client.post(url("dlp_settings:custom-delete", tenant_b, project.pk)).status_code == 404
    own = client.get(url("dlp_settings:index", tenant_b)).content.decode()
    assert "Project code" not in own
    assert [c.name for c in custom_types(tenant_a)] == ["Project code"]


# --- API -----------------------------------------------------------------------------------


def test_api_sensitive_types_lists_builtin_and_custom(rita, tenant_a, project):
    response = api(rita, tenant_a, Role.SECURITY_READER).get("/api/v1/dlp/sensitive-types/")
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()}
    assert {t.key for t in BUILTIN_TYPES} < set(rows)
    assert rows["custom_project_code"]["builtin"] is False
    assert rows["payment_card"]["builtin"] is True and rows["payment_card"]["enabled"] is True


def test_api_custom_type_crud(sam, tenant_a):
    client = api(sam, tenant_a, Role.SECURITY_ADMIN)
    created = client.post(
        TYPES, {"name": "Ticket", "regex": r"TCK-\d{6}", "keywords": ["ticket"]}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["key"] == "custom_ticket" and body["min_confidence"] == 2
    detail = f"{TYPES}{body['id']}/"
    changed = client.patch(detail, {"min_count": 2, "enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["min_count"] == 2
    assert changed.json()["enabled"] is False and changed.json()["key"] == "custom_ticket"
    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "X", "regex": r"\d+"}, "regex"),
        ({"name": "X", "regex": r"(\d{3})"}, "regex"),
        ({"name": "X", "regex": r"\d{3,}"}, "regex"),
        ({"name": "X"}, "regex"),
        ({"name": "", "regex": "abc"}, "name"),
        ({"name": 5, "regex": "abc"}, "name"),
        ({"name": "X", "regex": "abc", "min_confidence": 4}, "min_confidence"),
        ({"name": "X", "regex": "abc", "min_count": "2"}, "min_count"),
        ({"name": "X", "keywords": "not a list"}, "keywords"),
    ],
)
def test_api_bad_custom_types_are_400_naming_the_field(sam, tenant_a, body, field):
    response = api(sam, tenant_a, Role.SECURITY_ADMIN).post(TYPES, body, format="json")
    assert response.status_code == 400
    assert field in response.content.decode()
    assert custom_types(tenant_a) == []


def test_api_thresholds(sam, rita, tenant_a):
    admin = api(sam, tenant_a, Role.SECURITY_ADMIN)
    put = admin.put(
        "/api/v1/dlp/thresholds/",
        {"thresholds": {"payment_card": {"enabled": False}, "email": {"min_count": 5}}},
        format="json",
    )
    assert put.status_code == 200, put.content
    rows = {r["key"]: r for r in put.json()["thresholds"]}
    assert rows["payment_card"]["enabled"] is False and rows["email"]["min_count"] == 5
    reader = api(rita, tenant_a, Role.SECURITY_READER)
    got = {r["key"]: r for r in reader.get("/api/v1/dlp/thresholds/").json()["thresholds"]}
    assert got == rows
    refused = reader.put("/api/v1/dlp/thresholds/", {"thresholds": {}}, format="json")
    assert refused.status_code == 403
    for bad in (
        {"thresholds": {"nope": {"enabled": True}}},
        {"thresholds": {"email": {"min_confidence": 7}}},
        {"thresholds": {"email": {"enabled": "yes"}}},
        {"thresholds": []},
    ):
        assert admin.put("/api/v1/dlp/thresholds/", bad, format="json").status_code == 400
    with tenant_context(tenant_a):
        assert DlpSettings.objects.get().thresholds["email"]["min_count"] == 5


def test_api_test_masks_and_stores_nothing(rita, tenant_a, project):
    client = api(rita, tenant_a, Role.SECURITY_READER)
    response = client.post(
        "/api/v1/dlp/test/", {"text": f"{CARD_TEXT} and PRJ-1234"}, format="json"
    )
    assert response.status_code == 200
    results = {r["key"]: r for r in response.json()["results"]}
    assert results["payment_card"]["samples"][0]["evidence"] == "#### #### #### ####"
    assert results["custom_project_code"]["samples"][0]["evidence"] == "XXX-####"
    assert "4111" not in response.content.decode() and "1234" not in response.content.decode()
    assert client.post("/api/v1/dlp/test/", {"text": ""}, format="json").status_code == 400
    assert client.post("/api/v1/dlp/test/", {"text": 5}, format="json").status_code == 400
    with tenant_context(tenant_a):
        assert not FileRecord.objects.exists()


def test_api_reader_cannot_write(rita, tenant_a, project):
    client = api(rita, tenant_a, Role.SECURITY_READER)
    assert client.post(TYPES, {"name": "X", "regex": "abc"}, format="json").status_code == 403
    detail = f"{TYPES}{project.pk}/"
    assert client.patch(detail, {"name": "Y"}, format="json").status_code == 403
    assert client.delete(detail).status_code == 403
    assert [c.name for c in custom_types(tenant_a)] == ["Project code"]


def test_api_charlie_never_sees_or_touches_a_type_of_a(charlie, tenant_b, tenant_a, project):
    client = api(charlie, tenant_b, Role.GLOBAL_ADMIN)
    detail = f"{TYPES}{project.pk}/"
    assert client.get(detail).status_code == 404
    assert client.patch(detail, {"name": "Mine"}, format="json").status_code == 404
    assert client.delete(detail).status_code == 404
    assert client.get(TYPES).json()["results"] == []
    keys = {r["key"] for r in client.get("/api/v1/dlp/sensitive-types/").json()}
    assert "custom_project_code" not in keys
    assert [c.name for c in custom_types(tenant_a)] == ["Project code"]


def test_api_custom_type_list_queries_do_not_grow(rita, tenant_a, django_assert_max_num_queries):
    with tenant_context(tenant_a):
        for n in range(15):
            settings_services.create_custom_type(
                tenant=tenant_a, actor=None, name=f"Type {n}", keywords=[f"word{n}"]
            )
    client = api(rita, tenant_a, Role.SECURITY_READER)
    client.get(TYPES)
    with django_assert_max_num_queries(10):
        response = client.get(TYPES)
    assert response.json()["count"] == 15
