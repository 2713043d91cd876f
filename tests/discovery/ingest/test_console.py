"""Console pages of getting logs in: snapshot reports, upload progress, data sources, parsers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.discovery import pipeline, services
from apps.discovery.models import (
    AppDay,
    CustomParser,
    DataSource,
    DiscoverySettings,
    Receiver,
    Report,
    Upload,
    UploadStatus,
)
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.discovery.helpers import squid_line
from tests.discovery.ingest.helpers import (
    CSV_DEFINITION,
    log_file,
    make_parser,
    make_source,
    squid_body,
)


def url(tenant, name: str, *args) -> str:
    return reverse(f"discovery:{name}", args=[tenant.slug, *args])


def spooled(spool_dir) -> list:
    return list(spool_dir.rglob("*.bin")) if spool_dir.exists() else []


def snapshot_form(**overrides) -> dict:
    data = {"name": "Q3 proxy", "description": "", "log_format": "squid_native"}
    data.update(overrides)
    return data


def queue_upload(tenant, body: bytes | None = None, name: str = "Snap"):
    with tenant_context(tenant):
        return services.create_snapshot(
            name=name,
            log_format="squid_native",
            files=[services.IncomingFile("access.log", [body or squid_body()])],
            actor="test",
        )


# --- snapshot reports ------------------------------------------------------------------------


def test_snapshot_from_several_files_plain_and_gzip(client, tenant_a, sam):
    client.force_login(sam)
    files = [log_file("a.log"), log_file("b.log", gz=True)]
    response = client.post(url(tenant_a, "snapshots"), snapshot_form(files=files))
    assert response.status_code == 302
    with tenant_context(tenant_a):
        upload = Upload.objects.select_related("report").get()
        assert response["Location"] == url(tenant_a, "upload", upload.pk)
        assert [f["name"] for f in upload.files] == ["a.log", "b.log.gz"]
        assert (upload.source, upload.created_by_label) == ("console", "sam@alpha.test")
        assert upload.anonymize is False
        assert AuditEvent.objects.filter(action="discovery.snapshot_created").count() == 1
        pipeline.process(upload.pk)
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "Done" in body and 'http-equiv="refresh"' not in body
    assert f"?report={upload.report.pk}" in body
    assert "<dd>6</dd>" in body  # lines used


def test_anonymise_defaults_to_the_tenant_setting(client, tenant_a, sam):
    with tenant_context(tenant_a):
        DiscoverySettings.objects.create(anonymize_by_default=True)
    client.force_login(sam)
    page = client.get(url(tenant_a, "snapshots")).content.decode()
    assert 'id="id_anonymize" checked' in page


BAD_INPUT = {
    "no files": ({}, 0, "Choose at least one log file."),
    "21 files": ({}, 21, "At most 20 files per upload."),
    "unknown format": ({"log_format": "nope"}, 1, "Select a valid choice"),
    "custom without a parser": ({"log_format": "custom"}, 1, "Choose the custom parser"),
    "empty files": ({}, -1, "The files are empty."),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_snapshot_input_is_refused_and_nothing_is_written(
    client, tenant_a, sam, discovery_spool, case
):
    overrides, count, message = BAD_INPUT[case]
    files = [log_file(f"f{n}.log") for n in range(count)]
    if count == -1:
        files = [log_file("empty.log", b""), log_file("empty2.log", b"")]
    client.force_login(sam)
    response = client.post(url(tenant_a, "snapshots"), snapshot_form(files=files, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(tenant_a):
        assert not Report.objects.exists() and not Upload.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="discovery.").exists()
    assert spooled(discovery_spool) == []


def test_oversize_upload_is_refused(client, tenant_a, sam, settings, discovery_spool):
    settings.DISCOVERY_MAX_UPLOAD_BYTES = 100
    client.force_login(sam)
    response = client.post(url(tenant_a, "snapshots"), snapshot_form(files=[log_file()]))
    assert response.status_code == 400
    assert "larger than 100 bytes" in response.content.decode()
    with tenant_context(tenant_a):
        assert not Report.objects.exists()
    assert spooled(discovery_spool) == []


def test_snapshot_with_a_custom_parser(client, tenant_a, sam):
    parser = make_parser(tenant_a)
    client.force_login(sam)
    response = client.post(
        url(tenant_a, "snapshots"),
        snapshot_form(log_format="custom", custom_parser=str(parser.pk), files=[log_file()]),
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert Report.objects.get().custom_parser == parser


# --- upload progress -------------------------------------------------------------------------


def test_upload_page_for_each_status(client, tenant_a, rita):
    client.force_login(rita)
    queued = queue_upload(tenant_a)
    page = client.get(url(tenant_a, "upload", queued.pk)).content.decode()
    assert "Queued" in page and 'http-equiv="refresh" content="3"' in page
    with tenant_context(tenant_a):
        Upload.objects.filter(pk=queued.pk).update(
            status=UploadStatus.PARSING, bytes_done=50, bytes_total=200, lines_done=7
        )
    page = client.get(url(tenant_a, "upload", queued.pk)).content.decode()
    assert "Parsing" in page and 'value="25"' in page and "refresh" in page

    text = "\n".join([squid_line(), "garbage here", squid_line(), squid_line(ts=1)]) + "\n"
    done = queue_upload(tenant_a, text.encode(), name="Mixed")
    with tenant_context(tenant_a):
        pipeline.process(done.pk)
    page = client.get(url(tenant_a, "upload", done.pk)).content.decode()
    assert "Done" in page and "refresh" not in page
    assert "Skipped lines" in page and "older than 90 days" in page
    assert '<td>access.log</td><td class="right">2</td>' in page  # file + line number

    failed = queue_upload(tenant_a, ("not a squid line\n" * 150).encode(), name="Wrong")
    with tenant_context(tenant_a):
        pipeline.process(failed.pk)
    page = client.get(url(tenant_a, "upload", failed.pk)).content.decode()
    assert "Failed" in page and "is not a Squid (native) log" in page


def test_snapshot_list_shows_status_and_guards_queries(
    client, tenant_a, rita, django_assert_max_num_queries
):
    for n in range(6):
        queue_upload(tenant_a, name=f"Snap {n}")
    client.force_login(rita)
    with django_assert_max_num_queries(9):
        response = client.get(url(tenant_a, "snapshots"))
    body = response.content.decode()
    assert body.count("Queued") >= 6
    assert "Create a snapshot report" not in body  # readers read only


# --- data sources ----------------------------------------------------------------------------


def test_create_edit_and_delete_a_data_source(client, tenant_a, sam):
    client.force_login(sam)
    response = client.post(
        url(tenant_a, "sources"),
        {"name": "Branch FW", "log_format": "squid_native", "receiver": "syslog_udp", "port": 5514},
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        source = DataSource.objects.get()
    page = client.get(url(tenant_a, "source", source.pk)).content.decode()
    assert ":5514</code>" in page and "UDP" in page and "restart" in page

    response = client.post(
        url(tenant_a, "source", source.pk),
        {
            "name": "Branch FW 2",
            "log_format": "squid_native",
            "receiver": "syslog_tcp",
            "port": 6514,
            "anonymize": "on",
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        source.refresh_from_db()
        assert (source.name, source.receiver, source.port, source.anonymize) == (
            "Branch FW 2",
            Receiver.SYSLOG_TCP,
            6514,
            True,
        )
        assert Report.objects.get(data_source=source).name == "Branch FW 2"
        upload = services.upload_to_source(
            data_source=source,
            files=[services.IncomingFile("x.log", [squid_body()])],
            actor="test",
            source="api",
        )
        pipeline.process(upload.pk)
        assert AppDay.objects.exists()

    confirm = client.get(url(tenant_a, "source-delete", source.pk))
    assert confirm.status_code == 200 and "1 upload " in confirm.content.decode()
    response = client.post(url(tenant_a, "source-delete", source.pk))
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert not DataSource.objects.exists() and not Report.objects.exists()
        assert not AppDay.objects.exists() and not Upload.objects.exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "discovery.source_created",
        "discovery.source_updated",
        "discovery.source_deleted",
    } <= actions


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"receiver": "syslog_udp"}, "A syslog data source needs a port."),
        ({"receiver": "syslog_udp", "port": 5514, "name": "Other"}, "already used by"),
        ({"name": "Taken"}, "A data source with this name exists."),
        ({"log_format": "custom"}, "Choose the custom parser"),
    ],
)
def test_bad_data_source_input(client, tenant_a, sam, data, field_message):
    make_source(tenant_a, "Taken", receiver=Receiver.SYSLOG_UDP, port=5514)
    client.force_login(sam)
    form = {"name": "New", "log_format": "squid_native", "receiver": "api", **data}
    response = client.post(url(tenant_a, "sources"), form)
    assert response.status_code == 400
    assert field_message in response.content.decode()
    with tenant_context(tenant_a):
        assert DataSource.objects.count() == 1


def test_sources_list_guards_queries(client, tenant_a, rita, django_assert_max_num_queries):
    for n in range(6):
        source = make_source(tenant_a, f"Source {n}")
    with tenant_context(tenant_a):
        services.upload_to_source(
            data_source=source,
            files=[services.IncomingFile("x.log", [squid_body()])],
            actor="test",
            source="api",
        )
    client.force_login(rita)
    with django_assert_max_num_queries(7):
        response = client.get(url(tenant_a, "sources"))
    body = response.content.decode()
    assert "Source 5" in body and "Queued" in body and "Add a data source" not in body


# --- custom parsers --------------------------------------------------------------------------


def parser_form(**overrides) -> dict:
    data = {k: v for k, v in CSV_DEFINITION.items() if v is not False}
    data["has_header"] = "on"
    data.update(overrides)
    return data


def test_create_try_edit_and_delete_a_parser(client, tenant_a, sam):
    client.force_login(sam)
    sample = (
        "time,src,user,url,bytes,action\n"
        "2026-01-05 10:00:00,10.0.0.9,ann@contoso.test,https://www.dropbox.com/x,1200,ALLOW\n"
        "2026-01-05 10:00:01,not-an-ip,bob,https://mega.nz/,5,DENY\n"
    )
    tried = client.post(url(tenant_a, "parsers"), parser_form(sample=sample, **{"try": "1"}))
    assert tried.status_code == 200
    body = tried.content.decode()
    assert "www.dropbox.com" in body and "ann@contoso.test" in body and "Skipped:" in body
    with tenant_context(tenant_a):
        assert not CustomParser.objects.exists()  # trying stores nothing

    response = client.post(url(tenant_a, "parsers"), parser_form())
    assert response.status_code == 302
    with tenant_context(tenant_a):
        parser = CustomParser.objects.get()
    response = client.post(
        url(tenant_a, "parser", parser.pk), parser_form(delimiter="semicolon", name="Renamed")
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        parser.refresh_from_db()
        assert (parser.name, parser.delimiter) == ("Renamed", ";")
    assert client.get(url(tenant_a, "parser", parser.pk)).status_code == 200

    source = make_source(tenant_a, "Uses it", log_format="custom", custom_parser=parser)
    response = client.post(url(tenant_a, "parser-delete", parser.pk), follow=True)
    assert "in use by Uses it" in response.content.decode()
    with tenant_context(tenant_a):
        source.delete()
    response = client.post(url(tenant_a, "parser-delete", parser.pk))
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert not CustomParser.objects.exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "discovery.parser_created",
        "discovery.parser_updated",
        "discovery.parser_deleted",
    } <= actions


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"timestamp_format": "%H:%M:%S"}, "does not hold a date"),
        ({"timestamp_format": "yyyy-mm-dd"}, "Enter a strptime format"),
        ({"timestamp_format": "%Y-%m-%d %"}, "not a usable strptime format"),
        ({"delimiter": "colon"}, "Select a valid choice"),
        ({"src_ip_column": ""}, "This field is required"),
        ({"host_column": "", "dst_ip_column": ""}, "destination host/URL or of the destination IP"),
    ],
)
def test_bad_parser_definitions(client, tenant_a, sam, overrides, message):
    client.force_login(sam)
    response = client.post(url(tenant_a, "parsers"), parser_form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(tenant_a):
        assert not CustomParser.objects.exists()


def test_epoch_formats_are_accepted(client, tenant_a, sam):
    client.force_login(sam)
    for n, fmt in enumerate(("epoch", "epoch_ms")):
        response = client.post(
            url(tenant_a, "parsers"), parser_form(name=f"P{n}", timestamp_format=fmt)
        )
        assert response.status_code == 302


# --- other tenants and readers ---------------------------------------------------------------


def test_charlie_gets_404_on_a_pages(client, tenant_a, charlie):
    upload = queue_upload(tenant_a)
    source = make_source(tenant_a)
    parser = make_parser(tenant_a)
    client.force_login(charlie)
    for name, pk in (
        ("upload", upload.pk),
        ("source", source.pk),
        ("source-delete", source.pk),
        ("parser", parser.pk),
    ):
        assert client.get(url(tenant_a, name, pk)).status_code == 404
    assert client.post(url(tenant_a, "source-delete", source.pk)).status_code == 404
    assert client.post(url(tenant_a, "parser-delete", parser.pk)).status_code == 404
    with tenant_context(tenant_a):
        assert DataSource.objects.exists() and CustomParser.objects.exists()


def test_readers_may_not_write(client, tenant_a, rita, discovery_spool):
    source = make_source(tenant_a)
    parser = make_parser(tenant_a)
    client.force_login(rita)
    posts = [
        (url(tenant_a, "snapshots"), snapshot_form(files=[log_file()])),
        (url(tenant_a, "sources"), {"name": "X", "log_format": "squid_native", "receiver": "api"}),
        (url(tenant_a, "source", source.pk), {"name": "X"}),
        (url(tenant_a, "source-delete", source.pk), {}),
        (url(tenant_a, "parsers"), parser_form(name="New")),
        (url(tenant_a, "parser", parser.pk), parser_form(name="New")),
        (url(tenant_a, "parser-delete", parser.pk), {}),
    ]
    for target, data in posts:
        assert client.post(target, data).status_code == 403, target
    assert client.get(url(tenant_a, "source-delete", source.pk)).status_code == 403
    for name, pk in (("source", source.pk), ("parser", parser.pk)):
        page = client.get(url(tenant_a, name, pk))
        assert page.status_code == 200 and '<form method="post" class="form' not in (
            page.content.decode()
        )
    with tenant_context(tenant_a):
        assert DataSource.objects.get().name == "Proxy"
        assert CustomParser.objects.count() == 1 and not Upload.objects.exists()
    assert spooled(discovery_spool) == []
