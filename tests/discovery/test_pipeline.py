"""The upload pipeline end to end on Squid native: parse, match, aggregate, apply once."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from apps.discovery import pipeline
from apps.discovery.models import AppDay, AppIpDay, AppUserDay, UploadStatus
from apps.tenants.scoping import tenant_context
from tests.discovery.helpers import now_ts, run_snapshot, squid_line


def test_squid_upload_aggregates_per_app_user_and_ip(tenant_a):
    lines = [
        squid_line(user="Alice@Contoso.com", url="https://www.dropbox.com/x", size=100),
        squid_line(user="alice@contoso.com", url="https://dl.dropboxusercontent.com/y", size=50),
        squid_line(user="bob@contoso.com", src="10.0.0.6", url="https://app.box.com/", size=7),
        squid_line(url="https://unknown-thing.example.co.uk/", size=3),
        squid_line(result="TCP_DENIED/403", url="https://mega.nz/", size=0),
    ]
    upload = run_snapshot(tenant_a, "\n".join(lines) + "\n")
    assert upload.status == UploadStatus.DONE, upload.error
    assert (upload.lines_done, upload.lines_parsed, upload.lines_skipped) == (5, 5, 0)
    with tenant_context(tenant_a):
        apps = {
            (r.app, r.domain): (r.transactions, r.bytes_down, r.blocked)
            for r in AppDay.objects.filter(report=upload.report)
        }
        users = {
            (r.app, r.user): r.transactions for r in AppUserDay.objects.filter(report=upload.report)
        }
        ips = {(r.app, r.ip): r.transactions for r in AppIpDay.objects.filter(report=upload.report)}
    assert apps[("dropbox", "dropbox.com")] == (1, 100, 0)
    assert apps[("dropbox", "dropboxusercontent.com")] == (1, 50, 0)
    assert apps[("box", "box.com")] == (1, 7, 0)
    assert apps[("", "example.co.uk")] == (1, 3, 0)  # unrecognised, kept with its domain
    assert apps[("mega", "mega.nz")] == (1, 0, 1)
    assert users == {("dropbox", "alice@contoso.com"): 2, ("box", "bob@contoso.com"): 1}
    assert ips[("dropbox", "10.0.0.5")] == 2


def test_bad_lines_are_counted_with_line_numbers(tenant_a):
    text = "\n".join(
        [squid_line(), "garbage", squid_line(), "1 2 3 4 5 6 7", "", squid_line(ts=now_ts(200))]
    )
    upload = run_snapshot(tenant_a, text)
    assert upload.status == UploadStatus.DONE
    assert upload.lines_parsed == 2
    assert upload.lines_skipped == 3
    assert [s["line"] for s in upload.skip_samples] == [2, 4, 6]
    assert upload.skip_reasons["older than 90 days"] == 1


def test_a_file_of_another_format_is_refused_and_nothing_applies(tenant_a):
    csv = "\n".join(f'"Mon Jun 20 15:29:11 2022","user{i}@x.com","HTTP"' for i in range(150))
    upload = run_snapshot(tenant_a, csv)
    assert upload.status == UploadStatus.FAILED
    assert "is not a Squid (native) log" in upload.error
    with tenant_context(tenant_a):
        assert not AppDay.objects.exists()


def test_gzip_and_zip_uploads_with_several_files(tenant_a):
    plain = (squid_line(url="https://slack.com/") + "\n").encode()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("a.log", plain * 2)
        archive.writestr("dir/b.log.gz", gzip.compress(plain * 3))
    upload = run_snapshot(
        tenant_a, [("one.gz", gzip.compress(plain)), ("logs.zip", packed.getvalue())]
    )
    assert upload.status == UploadStatus.DONE, upload.error
    assert upload.lines_parsed == 6
    with tenant_context(tenant_a):
        assert AppDay.objects.get(report=upload.report, app="slack").transactions == 6


def test_binary_file_is_refused(tenant_a):
    upload = run_snapshot(tenant_a, b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert upload.status == UploadStatus.FAILED
    assert "not a text log file" in upload.error


def test_processing_twice_applies_once(tenant_a):
    upload = run_snapshot(tenant_a, squid_line() + "\n")
    with tenant_context(tenant_a):
        assert pipeline.process(upload.pk) == UploadStatus.DONE
        assert AppDay.objects.get(report=upload.report).transactions == 1


def test_anonymised_upload_stores_pseudonyms_only(tenant_a):
    upload = run_snapshot(tenant_a, squid_line(user="carol@contoso.com") + "\n", anonymize=True)
    with tenant_context(tenant_a):
        (user,) = AppUserDay.objects.filter(report=upload.report).values_list("user", flat=True)
    assert user.startswith("anon-")
    assert "carol" not in user


@pytest.mark.django_db(databases=["default", "geo_us"])
def test_a_claimed_upload_is_not_parsed_twice_and_the_sweep_resends_stalled_ones(
    tenant_a, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from apps.discovery import services
    from apps.discovery.models import Upload

    with tenant_context(tenant_a):
        with django_capture_on_commit_callbacks():  # the task message goes to the test broker
            upload = services.create_snapshot(
                name="s",
                log_format="squid_native",
                files=[services.IncomingFile("a.log", [(squid_line() + "\n").encode()])],
                actor="test",
            )
        # Another worker holds it (fresh heartbeat): this delivery does nothing.
        Upload.objects.filter(pk=upload.pk).update(
            status=UploadStatus.PARSING, heartbeat_at=timezone.now()
        )
        assert pipeline.process(upload.pk) == "busy"
        # That worker died: no heartbeat for 6 minutes. The sweep sends it again, once.
        old = timezone.now() - dt.timedelta(minutes=6)
        Upload.objects.filter(pk=upload.pk).update(heartbeat_at=old, dispatched_at=old)
    assert pipeline.resume_stalled() == 1
    assert pipeline.resume_stalled() == 0
    with tenant_context(tenant_a):
        assert pipeline.process(upload.pk) == UploadStatus.DONE
        assert AppDay.objects.get(report=upload.report).transactions == 1
