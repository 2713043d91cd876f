"""The scan service: one file in, its metadata and sealed masked matches stored, nothing else."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection

from apps.connectors.models import AppInstance
from apps.dlp import selectors
from apps.dlp.models import (
    CustomSensitiveType,
    DlpSettings,
    FileRecord,
    FileSource,
    FileType,
    Match,
    ScanStatus,
    Verdict,
)
from apps.dlp.services import FileMeta, scan_file
from apps.tenants.scoping import tenant_context

pytestmark = pytest.mark.django_db

CARD = "4111 1111 1111 1111"
TEXT = f"Invoice for ACME. Card number: {CARD}, expiry 09/29. Thanks!\n".encode()
# The card's digits as stored text could hold them: "4111" alone turns up by chance in a uuid,
# a SHA-256 in hex or ciphertext now and then (CI failed on one); eight characters do not.
CARD_FORMS = (b"4111 1111", b"41111111", b"1111 1111 1111")


def test_a_file_with_a_card_number_is_recorded_with_a_masked_match(tenant_a):
    with tenant_context(tenant_a):
        result = scan_file(name="invoice.txt", data=TEXT, source=FileSource.API)
        record = FileRecord.objects.get()
        match = Match.objects.get()
        samples = selectors.samples(match)
    assert result.record.pk == record.pk
    assert record.sha256 == hashlib.sha256(TEXT).hexdigest()
    assert record.size == len(TEXT) and record.extension == "txt"
    assert record.file_type == FileType.TEXT and record.scan_status == ScanStatus.SCANNED
    assert record.verdict == Verdict.MATCHED and record.matched_types == ["payment_card"]
    assert match.type_key == "payment_card" and match.count == 1
    [sample] = samples
    assert sample["evidence"] == "#### #### #### ####"
    assert "Card number" in sample["context"] and "4111" not in sample["context"]
    assert TEXT.decode()[sample["start"] : sample["end"]] == CARD


def test_the_card_number_is_in_no_column_of_any_table(tenant_a):
    with tenant_context(tenant_a):
        scan_file(name="invoice.txt", data=TEXT, source=FileSource.API)
    with connection.cursor() as cursor:
        for table in ("dlp_filerecord", "dlp_match"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            for row in cursor.fetchall():
                for value in row:
                    raw = bytes(value) if isinstance(value, memoryview) else str(value).encode()
                    assert (
                        not any(form in raw for form in CARD_FORMS)
                        and b"Invoice for ACME" not in raw
                    )


def test_a_file_seen_again_in_its_app_is_updated_not_duplicated(tenant_a):
    with tenant_context(tenant_a):
        app = AppInstance.objects.create(vendor="google_workspace", name="Drive")
        meta = FileMeta(app_instance=app, external_id="f-1", owner="ann@contoso.test")
        scan_file(name="a.txt", data=TEXT, source=FileSource.APP, meta=meta)
        scan_file(name="a.txt", data=b"nothing to see", source=FileSource.APP, meta=meta)
        record = FileRecord.objects.get()
        assert record.verdict == Verdict.CLEAN and record.match_count == 0
        assert not Match.objects.exists()


def test_a_file_too_large_is_recorded_as_not_scanned(tenant_a):
    from apps.dlp.extract.base import Limits

    with tenant_context(tenant_a):
        scan_file(
            name="big.txt", data=TEXT * 10, source=FileSource.API, limits=Limits(max_bytes=100)
        )
        record = FileRecord.objects.get()
    assert record.scan_status == ScanStatus.NOT_SCANNED
    assert record.status_text == "not scanned: too large"
    assert record.verdict == Verdict.NONE and not record.matched_types


def test_tenant_types_and_thresholds_apply_and_changes_are_seen(tenant_a):
    with tenant_context(tenant_a):
        CustomSensitiveType.objects.create(
            name="Project code", key="custom_project", regex=r"PRJ-\d{4}"
        )
        scan_file(name="p.txt", data=b"see PRJ-1234 and " + TEXT, source=FileSource.API)
        assert set(FileRecord.objects.get().matched_types) == {"custom_project", "payment_card"}
        DlpSettings.objects.create(thresholds={"payment_card": {"min_count": 2}})
        scan_file(name="q.txt", data=TEXT, source=FileSource.API)
        assert FileRecord.objects.get(name="q.txt").verdict == Verdict.CLEAN


def test_other_tenants_do_not_see_the_record(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        scan_file(name="invoice.txt", data=TEXT, source=FileSource.API)
    with tenant_context(tenant_b):
        assert not FileRecord.objects.exists() and not Match.objects.exists()
