"""Private activities in the REST API and on every outbound path (spec 1.6): left out of the
list, the query and one activity; asking for them is refused to every token (an API token is an
integration, and integrations never receive them); the CSV export never carries them;
`shareable()` is the filter of every outbound path."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.activities import partitions, privacy, selectors
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.activities.test_query_api import client_for, error_of
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")

LIST = "/api/v1/activities/"
EXPORT = "/api/v1/activities/export/"
SECRET = "secret-merger-plan.docx"
WHY = "Incident INC-4711: suspected data theft"
ASK = {"include_private": "true", "justification": WHY}


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def rows(tenant_a):
    crm = logdata.app(tenant_a, "CRM")
    pat = logdata.person(tenant_a, "pat@alpha.test", "Pat Private")
    now = logdata.base_time()
    public, private = logdata.add(
        tenant_a,
        [
            logdata.activity_row(crm, now, object_name="public.xlsx"),
            logdata.activity_row(
                crm,
                now - dt.timedelta(minutes=1),
                user=pat,
                object_name=SECRET,
                is_private=True,
            ),
        ],
    )
    return public, private


@pytest.fixture
def apis(rita, sam, alice, tenant_a):
    return {
        "rita": client_for(token_key(rita, tenant_a, Role.SECURITY_READER)),
        "sam": client_for(token_key(sam, tenant_a, Role.SECURITY_ADMIN)),
        "alice": client_for(token_key(alice, tenant_a, Role.GLOBAL_ADMIN)),
    }


def _api_reveals(tenant) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(
            AuditEvent.objects.filter(action=privacy.AUDIT_REVEAL, details__via="api").order_by(
                "seq"
            )
        )


def _ids(items) -> set[str]:
    return {item["id"] for item in items}


@pytest.mark.parametrize("who", ["rita", "sam", "alice"])
def test_private_activities_are_left_out_by_default(apis, rows, tenant_a, who):
    public, private = rows
    api = apis[who]
    listed = api.get(LIST)
    assert listed.status_code == 200 and _ids(listed.json()["results"]) == {str(public.id)}
    queried = api.post(LIST, {"filters": {}})
    assert queried.status_code == 200 and _ids(queried.json()["data"]) == {str(public.id)}
    assert api.get(f"{LIST}{private.id}/").status_code == 404
    assert api.get(f"{LIST}{public.id}/").status_code == 200
    assert _api_reveals(tenant_a) == []


@pytest.mark.parametrize("who", ["rita", "sam", "alice"])
def test_asking_for_private_activities_is_refused_to_every_token(apis, rows, tenant_a, who):
    """A token is an integration: private activities never leave through it, not even for a
    global admin's token with a justification (the console's reveal is the only way)."""
    public, private = rows
    api = apis[who]
    for answer in (
        api.get(LIST, ASK),
        api.get(f"{LIST}{private.id}/", ASK),
        api.post(f"{LIST}?include_private=true&justification={WHY}", {}),
        api.get(LIST, {"include_private": "true"}),
    ):
        error = error_of(answer, 403)
        assert "never sent to integrations" in error["message"]
    assert _api_reveals(tenant_a) == []
    # include_private=false is the default answer.
    listed = api.get(LIST, {"include_private": "false"})
    assert _ids(listed.json()["results"]) == {str(public.id)}


def test_a_bad_include_private_value_is_400(apis, rows, tenant_a):
    error = error_of(apis["alice"].get(LIST, {"include_private": "yes"}), 400)
    assert "include_private" in error["details"]
    assert _api_reveals(tenant_a) == []


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_api_export_never_carries_private_rows(apis, rows):
    public, private = rows
    for params in ({}, ASK):
        answer = apis["alice"].get(EXPORT, params)
        assert answer.status_code == 200 and answer["X-Private-Activities"] == "excluded"
        lines = _csv(answer)
        assert [line[0] for line in lines[1:]] == [str(public.id)]
        assert SECRET not in str(lines) and str(private.id) not in str(lines)


def test_charlie_never_sees_a_private_activity_of_a(charlie, tenant_b, rows, tenant_a):
    _, private = rows
    api = client_for(token_key(charlie, tenant_b, Role.GLOBAL_ADMIN))
    assert api.get(f"{LIST}{private.id}/").status_code == 404
    assert api.get(LIST).json()["results"] == []


def test_shareable_drops_private_rows_whatever_the_queryset(rows, tenant_a):
    public, _ = rows
    with tenant_context(tenant_a):
        for queryset in (
            selectors.activities(include_private=True),
            selectors.activity_list(include_private=True),
        ):
            assert list(selectors.shareable(queryset).values_list("id", flat=True)) == [public.id]
        assert selectors.activities().count() == 1
        assert selectors.activities(include_private=True).count() == 2


def test_the_schema_documents_the_private_parameter():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for method in ("get", "post"):
        operation = schema["paths"]["/api/v1/activities/"][method]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters["include_private"]["schema"]["type"] == "boolean"
        assert "never sent to an integration" in parameters["include_private"]["description"]
        assert "403" in operation["responses"] and "400" in operation["responses"]
