"""Content inspection data in the lifecycle code: file records have a retention period (by scan
time, or first seen when never scanned; matches go first in the same batch), match samples are
re-sealed by a tenant key rotation, and the data location page describes them honestly."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.compliance import crypto, inventory, keys, location, retention_selectors
from apps.compliance.models import DataKind, PurgeStatus
from apps.compliance.retention import due_filters, purge_all
from apps.dlp import selectors
from apps.dlp.models import SAMPLES_PURPOSE, FileRecord, Match
from apps.tenants.scoping import tenant_context
from tests.compliance import retention_kit as kit

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"])


def _file(tenant, name: str, *, scanned_days: float | None, seen_days: float, matches: int = 1):
    """A file record scanned `scanned_days` ago (None: never) and first seen `seen_days` ago."""
    with tenant_context(tenant):
        row = FileRecord.objects.create(source="api", name=name, scanned_at=None)
        for n in range(matches):
            Match.objects.create(
                file=row,
                type_key=f"type_{n}",
                type_label=f"Type {n}",
                count=n + 1,
                confidence="high",
                samples_sealed=crypto.seal(
                    tenant.id, json.dumps([{"evidence": "###", "n": n}]).encode(), SAMPLES_PURPOSE
                ),
            )
        FileRecord.objects.filter(pk=row.pk).update(
            scanned_at=None if scanned_days is None else kit.ago(scanned_days),
            first_seen_at=kit.ago(seen_days),
        )
        return row


def _names(tenant) -> set[str]:
    with tenant_context(tenant):
        return set(FileRecord.objects.values_list("name", flat=True))


def test_files_are_a_retention_kind_with_the_deployment_maximum(settings):
    kind = inventory.KINDS[DataKind.FILES]
    assert kind.models == ("dlp.Match", "dlp.FileRecord")
    assert inventory.max_days(DataKind.FILES) == settings.FILE_RETENTION_DAYS == 180


def test_old_file_records_go_with_their_matches_first(tenant_a, tenant_b, settings):
    settings.RETENTION_BATCH_SIZE = 1  # several batches per table
    _file(tenant_a, "old scanned", scanned_days=200, seen_days=400, matches=2)
    _file(tenant_a, "old never scanned", scanned_days=None, seen_days=190, matches=0)
    _file(tenant_a, "rescanned lately", scanned_days=3, seen_days=500, matches=1)
    _file(tenant_a, "new never scanned", scanned_days=None, seen_days=2, matches=0)
    _file(tenant_b, "old of b", scanned_days=200, seen_days=200)
    kit.own_periods(tenant_b, files_days=365)  # longer than the maximum: the maximum applies

    summary = purge_all()

    assert summary["removed"]["files"] == 6  # A: 2 records, 2 matches; B: 1 record, 1 match
    assert _names(tenant_a) == {"rescanned lately", "new never scanned"}
    assert _names(tenant_b) == set()
    with tenant_context(tenant_a):
        assert Match.objects.count() == 1
        assert Match.objects.get().file.name == "rescanned lately"
    [run] = kit.runs(tenant_a, kind="files")
    assert run.status == PurgeStatus.DONE and run.removed == 4
    assert run.details["by_table"] == {"dlp.Match": 2, "dlp.FileRecord": 2}
    assert purge_all()["removed"]["files"] == 0  # idempotent


def test_a_shorter_period_of_the_tenant_applies(tenant_a):
    _file(tenant_a, "forty days", scanned_days=40, seen_days=40)
    _file(tenant_a, "ten days", scanned_days=10, seen_days=10)
    kit.own_periods(tenant_a, files_days=30)
    purge_all()
    assert _names(tenant_a) == {"ten days"}


def test_a_match_batch_and_its_files_commit_together(tenant_a, monkeypatch):
    """A batch that fails after deleting the matches rolls back whole: no file loses them."""
    from apps.compliance import retention

    _file(tenant_a, "old", scanned_days=200, seen_days=200, matches=2)

    def boom(label, alias, ids):
        raise RuntimeError("killed")

    monkeypatch.setattr(retention, "_delete_ids", boom)
    summary = purge_all()
    assert summary["errors"] == 1
    with tenant_context(tenant_a):
        assert Match.objects.count() == 2 and FileRecord.objects.count() == 1


def test_oldest_and_due_use_first_seen_for_files_never_scanned(tenant_a):
    _file(tenant_a, "scanned", scanned_days=20, seen_days=25)
    never = _file(tenant_a, "never scanned", scanned_days=None, seen_days=300, matches=0)
    with tenant_context(tenant_a):
        oldest = retention_selectors.oldest(DataKind.FILES)
        first_seen = FileRecord.objects.get(pk=never.pk).first_seen_at
    assert oldest == first_seen
    [line] = [x for x in retention_selectors.due() if x.get("tenant") == tenant_a.slug]
    assert line["due"]["files"] == 1
    tables = {label for label, _ in due_filters(DataKind.FILES, timezone.now())}
    assert tables == {"dlp.FileRecord"}


def test_retention_page_and_api_show_and_change_the_files_period(
    client, api_client, alice, tenant_a
):
    from tests.compliance.test_retention_pages import _token

    _file(tenant_a, "a file", scanned_days=12, seen_days=12)
    client.force_login(alice)
    body = client.get(reverse("compliance:retention", args=[tenant_a.slug])).content.decode()
    assert "File records" in body and 'name="files_days"' in body
    _token(api_client, alice, tenant_a, "global_admin")
    url = reverse("api-privacy-retention")
    response = api_client.patch(url, {"files_days": 30}, format="json")
    assert response.status_code == 200, response.content
    periods = {p["kind"]: p for p in response.json()["periods"]}
    assert periods["files"]["days"] == 30 and periods["files"]["maximum"] == 180
    assert periods["files"]["oldest"] is not None
    too_long = api_client.patch(url, {"files_days": 181}, format="json")
    assert too_long.status_code == 400
    assert "files_days" in too_long.json()["error"]["details"]


def test_tenant_key_rotation_reseals_match_samples(tenant_a, settings):
    settings.CASB_KEY_CACHE_SECONDS = 0
    row = _file(tenant_a, "sealed", scanned_days=1, seen_days=1, matches=1)
    with tenant_context(tenant_a):
        before = bytes(Match.objects.get(file=row).samples_sealed)
    assert keys.sealed_version(before) == 1

    result = keys.rotate_tenant_key(tenant=tenant_a)

    assert result.resealed["dlp.Match.samples_sealed"] == 1
    assert result.deleted_versions == [1]
    with tenant_context(tenant_a):
        match = Match.objects.get(file=row)
    assert keys.sealed_version(match.samples_sealed) == 2
    assert selectors.samples(match) == [{"evidence": "###", "n": 0}]
    crypto.forget()
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(before, SAMPLES_PURPOSE, tenant_a.id)


def test_location_describes_file_records_without_overclaiming(tenant_a):
    answer = location.data_location(tenant=tenant_a)
    [files] = [p for p in answer.tenant_data if p.key == "files"]
    assert files.label == "File records" and files.models == ("dlp.Match", "dlp.FileRecord")
    assert files.retention == "180 days" and files.effective_days == 180
    assert "never the file content" in files.protection
    assert "encrypted at rest with the tenant key" in files.protection
    assert files.encrypted is False  # names and locations are not encrypted, only samples
    [settings_row] = [p for p in answer.tenant_data if p.key == "settings"]
    assert {"dlp.CustomSensitiveType", "dlp.DlpSettings", "dlp.IcapSettings"} <= set(
        settings_row.models
    )
