"""The whole-tenant export: one streamed ZIP, a JSON-lines file per tenant model with only the
tenant's rows, a manifest with counts, secrets withheld, written without seeking."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from apps.activities.models import Activity
from apps.compliance import tenant_export
from apps.compliance.inventory import tenant_models
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.compliance.offboarding_kit import SECRET, fill_tenant, rows_of
from tests.factories import make_tenant

ALL = ["default", "geo_us"]


def _archive(tenant) -> tuple[zipfile.ZipFile, list[bytes]]:
    chunks = list(tenant_export.stream_tenant_archive(tenant))
    return zipfile.ZipFile(io.BytesIO(b"".join(chunks))), chunks


@pytest.mark.django_db(databases=ALL)
def test_the_archive_holds_every_model_of_the_tenant_and_nothing_of_others(tenant_a, tenant_b):
    tenant_us = make_tenant("Yankee", geo="us")
    fill_tenant(tenant_us)
    fill_tenant(tenant_b)
    archive, _ = _archive(tenant_us)
    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    expected = rows_of(tenant_us.id, ["geo_us"])
    for model in tenant_models():
        name = tenant_export.entry_name(model)
        lines = archive.read(name).decode().splitlines()
        rows = [json.loads(line) for line in lines]
        assert len(rows) == expected[f"geo_us:{model._meta.label}"] >= 1, model
        assert manifest["counts"][model._meta.label] == len(rows)
        assert manifest["files"][name] == len(rows)
        assert {row["tenant_id"] for row in rows} == {str(tenant_us.id)}
    text = b"".join(archive.read(n) for n in archive.namelist()).decode()
    assert str(tenant_b.id) not in text and str(tenant_a.id) not in text
    # Secrets and internal keys are withheld, and the manifest says so.
    assert SECRET not in text
    (app,) = [
        json.loads(line)
        for line in archive.read("connectors/appinstance.jsonl").decode().splitlines()
    ]
    assert app["credentials_sealed"] == tenant_export.WITHHELD
    assert "connectors.AppInstance.credentials_sealed" in manifest["withheld"]
    assert "discovery.AnonymizationKey.sealed_key" in manifest["withheld"]
    assert "dlp.Match.samples_sealed" in manifest["withheld"]
    (match,) = [json.loads(line) for line in archive.read("dlp/match.jsonl").decode().splitlines()]
    assert match["samples_sealed"] == tenant_export.WITHHELD and match["file_id"]
    assert manifest["tenant"]["id"] == str(tenant_us.id) and manifest["geo"] == "us"


@pytest.mark.django_db(databases=ALL)
def test_the_archive_streams_in_bounded_chunks(tenant_a, monkeypatch):
    monkeypatch.setattr(tenant_export, "FLUSH_EVERY", 100)
    app = logdata.app(tenant_a)
    when = logdata.base_time()
    logdata.add(
        tenant_a,
        [
            logdata.activity_row(app, when, object_name=f"file-{n}-" + "x" * 200)
            for n in range(1500)
        ],
    )
    archive, chunks = _archive(tenant_a)
    rows = archive.read("activities/activity.jsonl").decode().splitlines()
    assert len(rows) == 1500
    assert {json.loads(r)["object_name"][:5] for r in rows} == {"file-"}
    # Many chunks, each far smaller than the whole: bytes are handed over as rows are read.
    total = sum(len(c) for c in chunks)
    assert len(chunks) > 15
    assert max(len(c) for c in chunks) < total / 3
    with tenant_context(tenant_a):
        assert Activity.objects.count() == 1500


def test_the_sink_cannot_seek():
    """zipfile must stream (data descriptors), as it would into an HTTP response."""
    sink = tenant_export._Sink()
    assert not hasattr(sink, "seek") and not hasattr(sink, "tell")
    with zipfile.ZipFile(sink, mode="w") as archive, archive.open("a.txt", "w") as entry:
        entry.write(b"hello")
    data = sink.drain()
    assert zipfile.ZipFile(io.BytesIO(data)).read("a.txt") == b"hello"
    assert data[6] & 0x08  # general-purpose flag bit 3: sizes follow in a data descriptor
