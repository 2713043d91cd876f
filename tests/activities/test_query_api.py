"""The activities API: GET with the console's filters, POST with the spec's JSON filters, one
activity, errors in the one format, query counts, and tenant isolation."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.activities import partitions
from apps.tenants.models import Role
from tests.activities import logdata
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")
LIST = "/api/v1/activities/"


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.default_format = "json"
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return body["error"]


@pytest.fixture
def rita_api(rita, tenant_a):
    return client_for(token_key(rita, tenant_a, Role.SECURITY_READER))


@pytest.fixture
def charlie_api(charlie, tenant_b):
    return client_for(token_key(charlie, tenant_b, Role.GLOBAL_ADMIN))


@pytest.fixture
def data(tenant_a, tenant_b):
    crm = logdata.app(tenant_a, "CRM")
    bob = logdata.person(tenant_a, "bob@alpha.test", "Bob")
    account = logdata.account(tenant_a, crm, bob, username="bob")
    now = logdata.base_time()
    rows = [
        logdata.activity_row(
            crm,
            now - dt.timedelta(minutes=i),
            user=bob if i % 2 == 0 else None,
            account=account if i % 2 == 0 else None,
            country=["FR", "DE", "US"][i % 3],
            activity_type=["download", "share"][i % 2],
            object_name=f"a-file-{i}.docx",
            raw={"Id": i, "nested": {"list": [1, 2]}},
        )
        for i in range(30)
    ]
    logdata.add(tenant_a, rows)
    b_app = logdata.app(tenant_b, "Bravo CRM")
    b_rows = logdata.add(tenant_b, [logdata.activity_row(b_app, now, object_name="b-secret.docx")])
    return {"rows": rows, "bob": bob, "account": account, "b_rows": b_rows}


# --- GET --------------------------------------------------------------------------------------


def test_get_lists_with_filters_and_cursor_links(rita_api, data):
    body = rita_api.get(LIST, {"country": "FR", "page_size": 4}).json()
    assert set(body) == {"next", "previous", "results"}
    assert len(body["results"]) == 4 and body["previous"] is None
    assert {row["country"] for row in body["results"]} == {"FR"}
    first = body["results"][0]
    assert first["object_name"] == "a-file-0.docx"
    assert first["app"]["name"] == "CRM"
    assert first["user"]["identity"] == "bob@alpha.test"
    assert first["account"]["username"] == "bob"
    assert first["description"] == "Download: FileDownloaded a-file-0.docx"
    assert "raw" not in first, "the list stays light; the detail has the raw record"
    second = rita_api.get(body["next"]).json()
    assert len(second["results"]) == 4 and second["previous"]
    repeated = rita_api.get(LIST, [("activity_type", "download"), ("activity_type", "share")])
    assert len(repeated.json()["results"]) == 30


def test_get_refuses_bad_filters_in_the_error_format(rita_api, data):
    for params, field in (
        ({"ip": "1.2.3"}, "ip"),
        ({"activity_type": "coffee"}, "activity_type"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"page_size": "0"}, "page_size"),
        ({"q": "x" * 201}, "q"),
        ({"actor": "a\x00b"}, "actor"),
    ):
        error = error_of(rita_api.get(LIST, params), 400)
        assert field in error["details"], params


def test_far_dates_are_no_500(rita_api, data):
    answer = rita_api.get(LIST, {"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == 30


def test_detail_has_the_raw_record(rita_api, data):
    row = data["rows"][3]
    body = rita_api.get(f"{LIST}{row.id}/").json()
    assert body["id"] == str(row.id)
    assert body["raw"] == {"Id": 3, "nested": {"list": [1, 2]}}
    assert body["user"] is None and body["account"] is None


def test_charlie_never_sees_a_rows(charlie_api, data):
    row = data["rows"][0]
    error_of(charlie_api.get(f"{LIST}{row.id}/"), 404)
    listed = charlie_api.get(LIST, {"page_size": 500}).json()["results"]
    assert [r["object_name"] for r in listed] == ["b-secret.docx"]
    queried = charlie_api.post(LIST, {"filters": {}}).json()["data"]
    assert [r["object_name"] for r in queried] == ["b-secret.docx"]
    # Filtering on A's person or app id from B's token finds nothing (and says nothing).
    by_person = charlie_api.get(LIST, {"user": str(data["bob"].id)}).json()["results"]
    assert by_person == []


def test_query_counts_do_not_grow_with_rows(rita_api, data, django_assert_max_num_queries):
    rita_api.get(LIST)  # warm the token's permission cache
    with django_assert_max_num_queries(8):
        assert len(rita_api.get(LIST, {"page_size": 30}).json()["results"]) == 30
    with django_assert_max_num_queries(8):
        assert len(rita_api.post(LIST, {"limit": 30}).json()["data"]) == 30


# --- POST (the spec's JSON filters) -----------------------------------------------------------


def test_post_envelope_and_filters(rita_api, data):
    answer = rita_api.post(
        LIST,
        {
            "filters": {"location.country": {"eq": ["FR", "DE"]}, "entity": {"isset": True}},
            "limit": 5,
            "skip": 0,
        },
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert set(body) == {"data", "hasNext", "nextCursor"}
    assert len(body["data"]) == 5 and body["hasNext"] is True
    assert all(r["country"] in ("FR", "DE") and r["user"] for r in body["data"])
    rest = rita_api.post(
        LIST,
        {
            "filters": {"location.country": {"eq": ["FR", "DE"]}, "entity": {"isset": True}},
            "limit": 5,
            "cursor": body["nextCursor"],
        },
    ).json()
    assert not {r["id"] for r in rest["data"]} & {r["id"] for r in body["data"]}
    assert rest["hasNext"] is False and rest["nextCursor"] is None
    # 30 rows, even minutes have a person: 15; FR or DE among those: 10.
    assert len(body["data"]) + len(rest["data"]) == 10


def test_post_oldest_first(rita_api, data):
    body = rita_api.post(LIST, {"sortDirection": "asc", "limit": 3}).json()
    assert [r["object_name"] for r in body["data"]] == [
        "a-file-29.docx",
        "a-file-28.docx",
        "a-file-27.docx",
    ]


def test_post_names_unknown_fields_and_operators(rita_api, data):
    error = error_of(
        rita_api.post(
            LIST,
            {
                "filters": {
                    "colour": {"eq": ["red"]},
                    "ip.address": {"like": ["10.%"]},
                    "date": {"gte": "soon"},
                }
            },
        ),
        400,
    )
    problems = error["details"]["filters"]
    assert set(problems) == {"colour", "ip.address.like", "date.gte"}
    assert "Unknown field" in problems["colour"][0]
    assert "Unknown operator" in problems["ip.address.like"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"skip": 5}, "skip"),
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"sortDirection": "sideways"}, "sortDirection"),
        ({"sortField": "severity"}, "sortField"),
        ({"filters": "ip.address=1"}, "filters"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_post_refuses_bad_bodies(rita_api, data, body, field):
    error = error_of(rita_api.post(LIST, body), 400)
    assert field in error["details"]


def test_post_skip_explains_the_cursor(rita_api, data):
    error = error_of(rita_api.post(LIST, {"skip": 100}), 400)
    assert "nextCursor" in error["details"]["skip"][0]


def test_post_malformed_json_and_wrong_type(rita_api, data):
    raw = rita_api.generic("POST", LIST, data="{not json", content_type="application/json")
    error_of(raw, 400)
    form = rita_api.generic("POST", LIST, data="filters=x", content_type="text/plain")
    error_of(form, 415)


def test_detail_and_list_are_read_only(rita_api, alice, tenant_a, data):
    alice_api = client_for(token_key(alice, tenant_a, Role.GLOBAL_ADMIN))
    row = data["rows"][0]
    for api in (rita_api, alice_api):
        for method in ("PUT", "PATCH", "DELETE"):
            error_of(
                api.generic(method, f"{LIST}{row.id}/", data="{}", content_type="application/json"),
                405,
            )
        error_of(api.generic("DELETE", LIST), 405)
