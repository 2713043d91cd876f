"""Push API: POST /api/v1/activities/ingest/ — JSON array and JSON lines, per-event rejections,
idempotent retries, size limits (413), content types, roles, tenants and geo pinning."""

from __future__ import annotations

import json

import pytest
from django.db import connections
from django.test import override_settings
from rest_framework.test import APIClient

from apps.activities import partitions
from apps.activities.models import Activity
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.activities.ingest_factories import activities, make_app, recent
from tests.factories import make_tenant, member
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")

URL = "/api/v1/activities/ingest/"


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def app(tenant_a):
    return make_app(tenant_a, "Contoso HR")


@pytest.fixture
def sam_client(sam, tenant_a):
    return client_for(token_key(sam, tenant_a, Role.SECURITY_ADMIN))


def client_for(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def when(minutes: int = 0) -> str:
    return recent(minutes).isoformat().replace("+00:00", "Z")


def pushed(n: int, app="Contoso HR", **fields) -> dict:
    event = {
        "app": app,
        "source_event_id": f"push-{n}",
        "occurred_at": when(n),
        "action_type": "ExportEmployees",
        "activity_type": "download",
        "actor": "alice@alpha.test",
        "ip": "8.8.8.8",
    }
    event.update(fields)
    return event


def post_json(client, body, content_type="application/json", **extra):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.generic("POST", URL, data=data, content_type=content_type, **extra)


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_mixed_batch_valid_events_land(sam_client, tenant_a, app):
    body = [
        pushed(1),
        pushed(2, ip="1.2.3"),
        pushed(3, app=str(app.pk), object_name="employees.csv"),
        pushed(4, app="Nope"),
        pushed(5, occurred_at="yesterday"),
        pushed(6, colour="blue"),
        "not an object",
        pushed(8, activity_type="teleport"),
        pushed(9, occurred_at="2026-01-01T00:00:00"),
    ]
    response = post_json(sam_client, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["accepted"], answer["duplicates"]) == (2, 0)
    reasons = {r["index"]: r["reason"] for r in answer["rejected"]}
    assert reasons == {
        1: "ip '1.2.3' is not an IPv4 or IPv6 address",
        3: "app 'Nope' is not a connected app of this tenant",
        4: "occurred_at 'yesterday' is not an ISO 8601 date and time",
        5: "unknown field(s): colour",
        6: "an event must be a JSON object",
        7: reasons[7],
        8: "occurred_at has no time zone (give an offset, e.g. Z)",
    }
    assert reasons[7].startswith("activity_type 'teleport' is unknown; use one of: login,")
    rows = activities(tenant_a)
    assert [r.source_event_id for r in rows] == ["push-1", "push-3"]
    assert all(r.source == "push" and r.app_instance_id == app.pk for r in rows)
    assert rows[0].country == "US"
    assert rows[0].raw["action_type"] == "ExportEmployees"  # no raw given: the event itself


def test_a_retry_is_counted_as_duplicates(sam_client, tenant_a, app):
    body = [pushed(1), pushed(2), pushed(3)]
    assert post_json(sam_client, body).json() == {
        "accepted": 3,
        "duplicates": 0,
        "out_of_scope": 0,
        "rejected": [],
    }
    again = post_json(sam_client, [*body, pushed(4)]).json()
    assert again == {
        "accepted": 1,
        "duplicates": 3,
        "out_of_scope": 0,
        "rejected": [],
    }
    assert len(activities(tenant_a)) == 4


def test_events_of_several_apps_in_one_batch(sam_client, tenant_a, app):
    other = make_app(tenant_a, "Payroll")
    body = [pushed(1), pushed(2, app="payroll"), pushed(3, app=str(other.pk)), pushed(4, app="")]
    answer = post_json(sam_client, body).json()
    assert answer["accepted"] == 3
    assert answer["rejected"] == [
        {"index": 3, "reason": "app is missing (the connected app's UUID or name)"}
    ]
    with tenant_context(tenant_a):
        assert Activity.objects.filter(app_instance=other).count() == 2


def test_json_lines(sam_client, tenant_a, app):
    lines = [json.dumps(pushed(1)), "", json.dumps(pushed(2)), "{not json", json.dumps(pushed(3))]
    response = post_json(sam_client, "\n".join(lines) + "\n", "application/x-ndjson")
    assert response.status_code == 200
    # Indexes count events (blank lines skipped); the reason names the line of the body.
    assert response.json() == {
        "accepted": 3,
        "duplicates": 0,
        "out_of_scope": 0,
        "rejected": [{"index": 2, "reason": "line 4 is not valid JSON"}],
    }
    assert len(activities(tenant_a)) == 3


def test_json_lines_with_no_readable_line_is_400(sam_client, tenant_a, app):
    response = post_json(sam_client, "nope\n{bad", "application/x-ndjson")
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[{", "not valid JSON"),
        ('{"app": "Contoso HR"}', "must be a JSON array"),
        ("", "empty"),
        ("   ", "empty"),
        (b"\xff\xfe[", "not valid JSON"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_unreadable_bodies_are_400(sam_client, tenant_a, app, body, message):
    error = assert_error(post_json(sam_client, body), 400)
    assert message in error["message"]
    assert activities(tenant_a) == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
def test_other_content_types_are_415(sam_client, app, content_type):
    response = post_json(sam_client, json.dumps([pushed(1)]), content_type)
    error = assert_error(response, 415, "unsupported_media_type")
    assert "application/x-ndjson" in error["message"]


def test_content_type_parameters_are_fine(sam_client, app):
    response = post_json(sam_client, [pushed(1)], "application/json; charset=utf-8")
    assert response.json()["accepted"] == 1


@override_settings(INGEST_MAX_BODY_BYTES=2000)
def test_oversized_body_is_413_and_nothing_lands(sam_client, tenant_a, app):
    body = [pushed(n, object_name="x" * 300) for n in range(10)]
    error = assert_error(post_json(sam_client, body), 413, "too_large")
    assert "larger than 2000 bytes" in error["message"]
    assert activities(tenant_a) == []


@override_settings(INGEST_MAX_BODY_BYTES=2000)
def test_oversized_body_is_refused_before_it_is_read(sam_client, app):
    # The declared length alone decides: the test payload would fail loudly if read past it.
    response = post_json(sam_client, "[]", CONTENT_LENGTH="5000000")
    assert_error(response, 413, "too_large")


@override_settings(INGEST_MAX_EVENTS=3)
@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_too_many_events_is_413(sam_client, tenant_a, app, content_type):
    events = [pushed(n) for n in range(4)]
    body = (
        json.dumps(events)
        if content_type == "application/json"
        else "\n".join(json.dumps(e) for e in events)
    )
    error = assert_error(post_json(sam_client, body, content_type), 413, "too_large")
    assert "At most 3 events" in error["message"]
    assert activities(tenant_a) == []


def test_accounts_first_seen_are_created_once(sam_client, tenant_a, app):
    from apps.accounts.models import Account

    post_json(
        sam_client,
        [pushed(1, actor="New.Person@alpha.test"), pushed(2, actor="new.person@alpha.test")],
    )
    post_json(sam_client, [pushed(3, actor="NEW.PERSON@alpha.test")])
    with tenant_context(tenant_a):
        accounts = list(Account.objects.filter(app_instance=app))
    assert len(accounts) == 1
    assert {r.account_id for r in activities(tenant_a)} == {accounts[0].pk}


def test_reader_token_is_403_and_nothing_lands(rita, tenant_a, app):
    client = client_for(token_key(rita, tenant_a, Role.SECURITY_READER))
    assert_error(post_json(client, [pushed(1)]), 403)
    assert activities(tenant_a) == []


def test_admin_token_with_reader_role_is_403(alice, tenant_a, app):
    client = client_for(token_key(alice, tenant_a, Role.SECURITY_READER))
    assert_error(post_json(client, [pushed(1)]), 403)


def test_no_token_is_401(db):
    assert_error(post_json(client_for(None), [pushed(1)]), 401)


def test_get_is_405(sam_client):
    assert_error(sam_client.get(URL), 405)


def test_charlie_cannot_push_into_a(charlie, tenant_a, tenant_b, app):
    client = client_for(token_key(charlie, tenant_b, Role.GLOBAL_ADMIN))
    answer = post_json(client, [pushed(1), pushed(2, app=str(app.pk))]).json()
    # His token's tenant has no such app, by name or id: both rejected, nothing in A or B.
    assert answer["accepted"] == 0
    assert [r["reason"] for r in answer["rejected"]] == [
        "app 'Contoso HR' is not a connected app of this tenant",
        f"app '{app.pk}' is not a connected app of this tenant",
    ]
    assert activities(tenant_a) == [] and activities(tenant_b) == []


def test_us_tenant_pushes_land_in_the_us_database(db):
    us = make_tenant("Yankee", geo="us")
    admin = member(us, Role.SECURITY_ADMIN, username="sam@yankee.test")
    make_app(us, "Contoso HR")
    client = client_for(token_key(admin, us, Role.SECURITY_ADMIN))
    assert post_json(client, [pushed(1), pushed(2)]).json()["accepted"] == 2

    def count(alias):
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {partitions.TABLE} WHERE tenant_id = %s",  # noqa: S608
                [us.id],
            )
            return cursor.fetchone()[0]

    assert (count("geo_us"), count("default")) == (2, 0)


def test_schema_documents_the_endpoint(rita, tenant_a):
    client = client_for(token_key(rita, tenant_a, Role.SECURITY_READER))
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"][URL]["post"]
    assert set(schema["paths"][URL]) >= {"post"} and "get" not in schema["paths"][URL]
    assert {"200", "400", "401", "403", "413", "415", "429"} <= set(operation["responses"])
    assert operation["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "application/x-ndjson" in operation["description"]
    assert "source_event_id" in operation["description"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert answer.endswith("/IngestAnswer")


def test_a_cancelled_tenant_takes_no_new_activities(sam_client, tenant_a, app):
    tenant_a.status = "cancelled"
    tenant_a.save(update_fields=["status"])
    error = assert_error(post_json(sam_client, [pushed(1)]), 409, "conflict")
    assert "no new data is collected" in error["message"]
    with tenant_context(tenant_a):
        assert not Activity.objects.exists()
