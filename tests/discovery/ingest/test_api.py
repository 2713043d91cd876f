"""Discovery ingest API: data sources, uploads (multipart and raw), snapshots, upload status."""

from __future__ import annotations

import gzip

import pytest
from django.urls import reverse

from apps.discovery import pipeline
from apps.discovery.models import AppDay, DataSource, DiscoverySettings, Report, Upload
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.discovery.ingest.helpers import log_file, make_parser, make_source, squid_body
from tests.role_matrix import token_key


@pytest.fixture
def as_sam(api_client, tenant_a, sam):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(sam, tenant_a, Role.SECURITY_ADMIN)}"
    )
    return api_client


@pytest.fixture
def as_rita(api_client, tenant_a, rita):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(rita, tenant_a, Role.SECURITY_READER)}"
    )
    return api_client


@pytest.fixture
def as_charlie(api_client, tenant_b, charlie):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(charlie, tenant_b, Role.GLOBAL_ADMIN)}"
    )
    return api_client


def spooled(spool_dir) -> list:
    return list(spool_dir.rglob("*.bin")) if spool_dir.exists() else []


SNAPSHOTS = reverse("api-discovery-snapshots-list")
SOURCES = reverse("api-discovery-sources-list")


def uploads_url(source) -> str:
    return reverse("api-discovery-sources-uploads", kwargs={"id": source.pk})


def status_of(client, upload_id) -> dict:
    response = client.get(reverse("api-discovery-uploads-detail", kwargs={"id": upload_id}))
    assert response.status_code == 200
    return response.json()


def test_snapshot_by_api_with_several_files_and_gzip(as_sam, tenant_a):
    response = as_sam.post(
        SNAPSHOTS,
        {
            "name": "API snapshot",
            "log_format": "squid_native",
            "anonymize": "true",
            "files": [log_file("a.log"), log_file("b.log", gz=True)],
        },
        format="multipart",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["status_url"].endswith(f"/uploads/{body['id']}/")
    with tenant_context(tenant_a):
        upload = Upload.objects.get(pk=body["id"])
        assert (upload.source, upload.anonymize) == ("api", True)
        assert upload.created_by_label.startswith("sam@alpha.test (token")
        pipeline.process(upload.pk)
    status = status_of(as_sam, body["id"])
    assert status["status"] == "done"
    assert (status["lines_done"], status["lines_parsed"], status["lines_skipped"]) == (6, 6, 0)
    assert status["files"] == [
        {"name": "a.log", "size": len(squid_body())},
        {"name": "b.log.gz", "size": len(gzip.compress(squid_body()))},
    ]  # never the spool name
    listed = as_sam.get(SNAPSHOTS).json()["results"]
    assert listed[0]["name"] == "API snapshot" and listed[0]["last_upload"]["status"] == "done"


def test_snapshot_anonymise_defaults_to_the_tenant(as_sam, tenant_a):
    with tenant_context(tenant_a):
        DiscoverySettings.objects.create(anonymize_by_default=True)
    response = as_sam.post(
        SNAPSHOTS,
        {"name": "S", "log_format": "squid_native", "files": [log_file()]},
        format="multipart",
    )
    assert response.status_code == 202
    with tenant_context(tenant_a):
        assert Upload.objects.get().anonymize is True


BAD = {
    "no files": ({}, 0, "files"),
    "21 files": ({}, 21, "files"),
    "unknown format": ({"log_format": "nope"}, 1, "log_format"),
    "custom without parser": ({"log_format": "custom"}, 1, "custom_parser"),
    "unknown parser": (
        {"log_format": "custom", "custom_parser": "6f1c0a53-4a9e-4a0e-9a3c-1a2b3c4d5e6f"},
        1,
        "custom_parser",
    ),
    "no name": ({"name": ""}, 1, "name"),
    "empty files": ({}, -1, "files"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_snapshot_requests_write_nothing(as_sam, tenant_a, discovery_spool, case):
    overrides, count, field = BAD[case]
    files = [log_file(f"f{n}.log") for n in range(count)]
    if count == -1:
        files = [log_file("e.log", b"")]
    data = {"name": "S", "log_format": "squid_native", **overrides}
    if files:
        data["files"] = files
    response = as_sam.post(SNAPSHOTS, data, format="multipart")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    with tenant_context(tenant_a):
        assert not Report.objects.exists() and not Upload.objects.exists()
    assert spooled(discovery_spool) == []


def test_oversize_and_json_snapshot_requests(as_sam, tenant_a, settings, discovery_spool):
    settings.DISCOVERY_MAX_UPLOAD_BYTES = 50
    response = as_sam.post(
        SNAPSHOTS,
        {"name": "S", "log_format": "squid_native", "files": [log_file()]},
        format="multipart",
    )
    assert response.status_code == 400
    assert "larger than 50 bytes" in response.json()["error"]["details"]["files"][0]
    response = as_sam.post(SNAPSHOTS, {"name": "S"}, format="json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    with tenant_context(tenant_a):
        assert not Report.objects.exists()
    assert spooled(discovery_spool) == []


def test_data_source_create_list_retrieve_delete(as_sam, tenant_a):
    response = as_sam.post(
        SOURCES,
        {"name": "Edge", "log_format": "squid_native", "receiver": "syslog_tcp", "port": 6514},
        format="json",
    )
    assert response.status_code == 201, response.content
    source = response.json()
    assert (source["receiver"], source["port"], source["anonymize"]) == ("syslog_tcp", 6514, False)
    assert source["report"]
    assert [s["name"] for s in as_sam.get(SOURCES).json()["results"]] == ["Edge"]
    detail = reverse("api-discovery-sources-detail", kwargs={"id": source["id"]})
    assert as_sam.get(detail).json()["name"] == "Edge"
    assert as_sam.delete(detail).status_code == 204
    with tenant_context(tenant_a):
        assert not DataSource.objects.exists() and not Report.objects.exists()
        assert AuditEvent.objects.filter(action="discovery.source_deleted").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"receiver": "syslog_udp"}, "port"),
        ({"log_format": "nope"}, "log_format"),
        ({"name": ""}, "name"),
        ({"receiver": "carrier_pigeon"}, "receiver"),
    ],
)
def test_bad_data_sources(as_sam, tenant_a, data, field):
    response = as_sam.post(
        SOURCES, {"name": "E", "log_format": "squid_native", **data}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    with tenant_context(tenant_a):
        assert not DataSource.objects.exists()


def test_upload_to_a_source_multipart_and_raw(as_sam, tenant_a):
    source = make_source(tenant_a, "Proxy", anonymize=True)
    response = as_sam.post(
        uploads_url(source),
        {"file": [log_file("one.log"), log_file("two.log", gz=True)]},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    first = response.json()["id"]
    raw = gzip.compress(squid_body(4, url="https://www.dropbox.com/"))
    response = as_sam.generic(
        "POST",
        uploads_url(source) + "?filename=edge.log.gz",
        raw,
        content_type="application/gzip",
    )
    assert response.status_code == 202, response.content
    second = response.json()["id"]
    with tenant_context(tenant_a):
        for upload_id in (first, second):
            assert pipeline.process(upload_id) == "done"
        assert AppDay.objects.get(app="dropbox").transactions == 4
        assert AppDay.objects.get(app="slack").transactions == 6
    status = status_of(as_sam, second)
    assert status["files"] == [{"name": "edge.log.gz", "size": len(raw)}]
    assert status["anonymize"] is True and status["source"] == "api"
    response = as_sam.generic(
        "POST", uploads_url(source), b"", content_type="application/octet-stream"
    )
    assert response.status_code == 400
    assert "files" in response.json()["error"]["details"]
    response = as_sam.post(uploads_url(source), {}, format="json")
    assert response.status_code == 415


def test_readers_may_read_but_not_write(as_rita, tenant_a, discovery_spool):
    source = make_source(tenant_a)
    assert as_rita.get(SOURCES).status_code == 200
    data = {"name": "S", "log_format": "squid_native", "files": [log_file()]}
    assert as_rita.post(SNAPSHOTS, data, format="multipart").status_code == 403
    upload = as_rita.post(uploads_url(source), {"file": [log_file()]}, format="multipart")
    assert upload.status_code == 403
    create = as_rita.post(SOURCES, {"name": "X", "log_format": "squid_native"}, format="json")
    assert create.status_code == 403
    detail = reverse("api-discovery-sources-detail", kwargs={"id": source.pk})
    assert as_rita.delete(detail).status_code == 403
    with tenant_context(tenant_a):
        assert DataSource.objects.count() == 1 and not Upload.objects.exists()
    assert spooled(discovery_spool) == []


def test_charlie_gets_404_for_a_objects(as_charlie, tenant_a):
    source = make_source(tenant_a)
    make_parser(tenant_a)
    with tenant_context(tenant_a):
        from apps.discovery import services

        upload = services.upload_to_source(
            data_source=source,
            files=[services.IncomingFile("x.log", [squid_body()])],
            actor="test",
            source="api",
        )
    detail = reverse("api-discovery-sources-detail", kwargs={"id": source.pk})
    assert as_charlie.get(detail).status_code == 404
    assert as_charlie.delete(detail).status_code == 404
    response = as_charlie.post(uploads_url(source), {"file": [log_file()]}, format="multipart")
    assert response.status_code == 404
    upload_url = reverse("api-discovery-uploads-detail", kwargs={"id": upload.pk})
    assert as_charlie.get(upload_url).status_code == 404
    for listing in (SOURCES, SNAPSHOTS, reverse("api-discovery-uploads-list")):
        assert as_charlie.get(listing).json()["results"] == []
    with tenant_context(tenant_a):
        assert Upload.objects.count() == 1


def test_lists_guard_queries(as_sam, tenant_a, django_assert_max_num_queries):
    for n in range(5):
        source = make_source(tenant_a, f"S{n}")
        as_sam.post(uploads_url(source), {"file": [log_file()]}, format="multipart")
        as_sam.post(
            SNAPSHOTS,
            {"name": f"Snap {n}", "log_format": "squid_native", "files": [log_file()]},
            format="multipart",
        )
    for listing, size in (
        (SOURCES, 5),
        (SNAPSHOTS, 5),
        (reverse("api-discovery-uploads-list"), 10),
    ):
        with django_assert_max_num_queries(6):
            response = as_sam.get(listing)
        assert response.json()["count"] == size


def test_bodies_past_the_memory_limit_stream(as_sam, tenant_a, settings):
    """DATA_UPLOAD_MAX_MEMORY_SIZE bounds form fields, not log files: both ways stream."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000  # multipart files go to temporary files
    source = make_source(tenant_a)
    body = squid_body(100)
    assert len(body) > 5000
    raw = as_sam.generic("POST", uploads_url(source), body, content_type="application/octet-stream")
    parts = as_sam.post(uploads_url(source), {"file": [log_file("big.log", body)]})
    assert (raw.status_code, parts.status_code) == (202, 202)
    with tenant_context(tenant_a):
        assert [u.bytes_total for u in Upload.objects.all()] == [len(body), len(body)]


def test_a_cancelled_tenant_uploads_nothing(as_sam, tenant_a, discovery_spool):
    source = make_source(tenant_a)
    tenant_a.status = "cancelled"
    tenant_a.save(update_fields=["status"])
    data = {"name": "S", "log_format": "squid_native", "files": [log_file("a.log")]}
    refused = as_sam.post(SNAPSHOTS, data, format="multipart")
    assert refused.status_code == 400
    assert "no new data is collected" in str(refused.json()["error"]["details"])
    again = as_sam.post(uploads_url(source), {"files": [log_file("b.log")]}, format="multipart")
    assert again.status_code == 400
    with tenant_context(tenant_a):
        assert not Upload.objects.exists()
    assert spooled(discovery_spool) == []
