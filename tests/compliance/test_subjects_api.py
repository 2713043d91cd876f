"""Data-subject requests through the API (/api/v1/privacy/subject-requests/): export and its
download, erase with its receipt, bad input, roles and another tenant."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import CloudUser
from apps.compliance.models import SubjectRequest
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.compliance import subjects_kit as kit
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"])

LIST = "/api/v1/privacy/subject-requests/"


def api(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


@pytest.fixture
def world(tenant_a):
    return kit.seed(tenant_a)


def test_export_then_download(alice, tenant_a, world):
    client = api(alice, tenant_a, Role.GLOBAL_ADMIN)
    body = {"kind": "export", "subject": "zq-ext-0001", "reference": "DSR-9"}
    created = client.post(LIST, body, format="json")
    assert created.status_code == 202, created.content
    assert created.json()["status"] == "pending" and created.json()["archive_available"] is False
    assert created["Location"].endswith(f"{LIST}{created.json()['id']}/")
    assert kit.work(tenant_a) == ["done"]
    data = client.get(created["Location"]).json()
    assert data["subject_label"] == "z***@contoso.test" and data["archive_available"] is True
    assert data["counts"]["activities"] == 5
    assert "zed" not in json.dumps(data).lower()  # the person is never echoed back

    listed = client.get(LIST).json()
    assert [r["id"] for r in listed["results"]] == [data["id"]]
    detail = client.get(f"{LIST}{data['id']}/").json()
    assert detail["counts"] == data["counts"]

    download = client.get(f"{LIST}{data['id']}/download/")
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    accounts = json.loads(archive.read("accounts.json"))
    assert {a["external_id"] for a in accounts} == {"zq-ext-0001", "zq-ext-0002"}
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(
            action="subjects.export_downloaded", details__request=data["id"]
        ).exists()


def test_erase_answers_the_receipt(alice, tenant_a, world):
    client = api(alice, tenant_a, Role.GLOBAL_ADMIN)
    body = {"kind": "erase", "subject": kit.ZED, "reference": "DSR-10"}
    created = client.post(LIST, body, format="json")
    assert created.status_code == 202
    assert kit.work(tenant_a) == ["done"]
    counts = client.get(f"{LIST}{created.json()['id']}/").json()["counts"]
    assert counts["profile"] == 1 and counts["alerts_deleted"] == 1
    with tenant_context(tenant_a):
        assert not CloudUser.objects.filter(pk=world.zed.pk).exists()
        assert AuditEvent.objects.get(action="subjects.erased").details["counts"] == counts
    # An erase has no archive: 409, saying so.
    refused = client.get(f"{LIST}{created.json()['id']}/download/")
    assert refused.status_code == 409 and "no archive" in refused.json()["error"]["message"]
    # The person is gone: asking again is a 400 naming the field.
    again = client.post(LIST, body, format="json")
    assert again.status_code == 400
    assert "No person" in again.json()["error"]["details"]["subject"][0]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"kind": "export", "subject": "", "reference": "r"},
        {"kind": "export", "subject": 5, "reference": "r"},
        {"kind": "forget", "subject": kit.ZED, "reference": "r"},
        {"kind": "erase", "subject": kit.ZED},
        {"kind": "erase", "subject": "nobody@nowhere.test", "reference": "r"},
    ],
)
def test_bad_input_is_400(alice, tenant_a, world, body):
    client = api(alice, tenant_a, Role.GLOBAL_ADMIN)
    response = client.post(LIST, body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    with tenant_context(tenant_a):
        assert not SubjectRequest.objects.exists()
        assert CloudUser.objects.filter(pk=world.zed.pk).exists()


def test_roles_and_other_tenants(alice, rita, sam, charlie, tenant_a, tenant_b, world):
    made = api(alice, tenant_a, Role.GLOBAL_ADMIN).post(
        LIST, {"kind": "export", "subject": kit.ZED, "reference": "r"}, format="json"
    )
    pk = made.json()["id"]
    kit.work(tenant_a)
    for user, role in ((rita, Role.SECURITY_READER), (sam, Role.SECURITY_ADMIN)):
        client = api(user, tenant_a, role)
        assert client.get(LIST).status_code == 403
        assert client.get(f"{LIST}{pk}/download/").status_code == 403
        body = {"kind": "erase", "subject": kit.ZED, "reference": "r"}
        assert client.post(LIST, body, format="json").status_code == 403
    outsider = api(charlie, tenant_b, Role.GLOBAL_ADMIN)
    assert outsider.get(LIST).json()["results"] == []
    assert outsider.get(f"{LIST}{pk}/").status_code == 404
    assert outsider.get(f"{LIST}{pk}/download/").status_code == 404
    body = {"kind": "erase", "subject": kit.ZED, "reference": "r"}
    assert outsider.post(LIST, body, format="json").status_code == 400  # no such person in B
    with tenant_context(tenant_a):
        assert CloudUser.objects.filter(pk=world.zed.pk).exists()


def test_the_list_is_bounded_in_queries(alice, tenant_a, world, django_assert_max_num_queries):
    client = api(alice, tenant_a, Role.GLOBAL_ADMIN)
    for n in range(3):
        body = {"kind": "export", "subject": kit.BOB, "reference": f"r{n}"}
        assert client.post(LIST, body, format="json").status_code == 202
        kit.work(tenant_a)
    with django_assert_max_num_queries(20):
        listed = client.get(LIST)
    assert listed.json()["count"] == 3


def test_an_archive_survives_a_tenant_key_rotation(alice, tenant_a, world, settings):
    from apps.compliance import crypto, keys, subject_export

    settings.CASB_KEY_CACHE_SECONDS = 0  # no wait for other processes' key caches

    client = api(alice, tenant_a, Role.GLOBAL_ADMIN)
    body = {"kind": "export", "subject": kit.ZED, "reference": "r"}
    pk = client.post(LIST, body, format="json").json()["id"]
    kit.work(tenant_a)
    stored = subject_export.path_for(tenant_a.id, pk).read_bytes()
    version = keys.sealed_version(stored[4:])  # after the 4-byte length of the first chunk
    rotation = keys.rotate_tenant_key(tenant=tenant_a)
    assert version not in rotation.deleted_versions  # the archive still needs it
    crypto.forget()
    download = client.get(f"{LIST}{pk}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert json.loads(archive.read("manifest.json"))["request"] == pk
