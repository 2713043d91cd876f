"""The data-subject request page: export with its archive, erase after a confirmation that
counts what goes, the receipt, the check, bad input, roles and another tenant."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse

from apps.accounts.models import CloudUser
from apps.compliance import subject_export, subjects
from apps.compliance.models import SubjectRequest
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.compliance import subjects_kit as kit

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"])


def url(tenant, name: str, *args) -> str:
    return reverse(f"compliance:{name}", args=[tenant.slug, *args])


@pytest.fixture
def world(tenant_a):
    return kit.seed(tenant_a)


def _zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_export_makes_an_archive_of_csv_and_json_per_kind(client, alice, tenant_a, world):
    client.force_login(alice)
    response = client.post(
        url(tenant_a, "subjects"), {"subject": kit.ZED, "reference": "DSR-1", "kind": "export"}
    )
    with tenant_context(tenant_a):
        row = SubjectRequest.objects.get()
    assert response.status_code == 302 and response.url == url(tenant_a, "subject-detail", row.pk)
    # It runs in the background: until the worker has run it, the page says so.
    assert row.status == "pending"
    waiting = client.get(url(tenant_a, "subject-detail", row.pk))
    assert b"Exporting" in waiting.content and b"Download the archive" not in waiting.content
    assert kit.work(tenant_a) == ["done"]
    with tenant_context(tenant_a):
        row.refresh_from_db()
    assert row.subject_label == "z***@contoso.test" and row.status == "done"
    assert row.counts["activities"] == 5 and row.counts["accounts"] == 2

    # Stored sealed: no clear text of the person and no ZIP header on disk.
    stored = subject_export.path_for(tenant_a.id, row.pk).read_bytes()
    assert kit.ZED.encode() not in stored and not stored.startswith(b"PK")

    page = client.get(url(tenant_a, "subject-detail", row.pk))
    assert page.status_code == 200 and b"Download the archive" in page.content

    download = client.get(url(tenant_a, "subject-download", row.pk))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    archive = _zip(download)
    names = set(archive.namelist())
    for kind in ("profile", "accounts", "activities", "alerts", "governance", "discovery_usage"):
        assert {f"{kind}.csv", f"{kind}.json"} <= names
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"]["activities"]["rows"] == 5
    activities = list(csv.DictReader(io.StringIO(archive.read("activities.csv").decode())))
    assert len(activities) == 5
    assert {"true", "false"} <= {a["is_private"] for a in activities}  # private ones included
    assert kit.ZED_IP in {a["ip"] for a in activities}
    profile = json.loads(archive.read("profile.json"))
    assert [p["identity"] for p in profile] == [kit.ZED]
    usage = json.loads(archive.read("discovery_usage.json"))
    assert len(usage) == 2  # plain and pseudonymised
    assert kit.BOB not in archive.read("activities.json").decode()
    # File records: metadata and the types found with their counts, never the samples.
    files = json.loads(archive.read("files.json"))
    assert manifest["files"]["files"]["rows"] == 3
    assert sorted(f["name"] for f in files) == [
        "zq-file budget.xlsx",
        "zq-file upload.txt",
        "zq-file users.csv",
    ]
    by_name = {f["name"]: f for f in files}
    assert by_name["zq-file budget.xlsx"]["matches"] == [
        {"type": "payment_card", "label": "Credit card number", "count": 2, "confidence": "high"}
    ]
    assert by_name["zq-file upload.txt"]["matches"] == []
    files_csv = archive.read("files.csv").decode()
    assert "samples" not in files_csv and "####" not in files_csv and "card of" not in files_csv
    assert "####" not in archive.read("files.json").decode()
    assert kit.BOB not in archive.read("files.json").decode()

    with tenant_context(tenant_a):
        events = {e.action: e for e in AuditEvent.objects.filter(action__startswith="subjects.")}
    assert set(events) == {
        "subjects.requested",
        "subjects.exported",
        "subjects.export_downloaded",
    }
    for event in events.values():
        assert event.details["request"] == str(row.pk)
        assert "zed" not in json.dumps(event.details).lower()


def test_erase_confirms_with_counts_then_removes_and_keeps_a_receipt(
    client, alice, tenant_a, world
):
    client.force_login(alice)
    data = {"subject": kit.ZED_OKTA, "reference": "DSR-2", "kind": "erase"}
    preview = client.post(url(tenant_a, "subjects"), data)
    assert preview.status_code == 200
    assert b"Erase z***?" in preview.content and b"5 \xc3\x97 activities" in preview.content
    assert b"3 \xc3\x97 file records (content inspection)" in preview.content
    with tenant_context(tenant_a):
        assert CloudUser.objects.filter(pk=world.zed.pk).exists()  # nothing happened yet

    unconfirmed = client.post(url(tenant_a, "subject-erase"), data)
    assert unconfirmed.status_code == 400
    with tenant_context(tenant_a):
        assert CloudUser.objects.filter(pk=world.zed.pk).exists()

    done = client.post(url(tenant_a, "subject-erase"), {**data, "confirm": "on"})
    assert kit.work(tenant_a) == ["done"]
    with tenant_context(tenant_a):
        row = SubjectRequest.objects.get()
        assert not CloudUser.objects.filter(pk=world.zed.pk).exists()
        event = AuditEvent.objects.get(action="subjects.erased")
    assert done.status_code == 302 and done.url == url(tenant_a, "subject-detail", row.pk)
    assert row.counts["activities"] == 5 and row.counts["profile"] == 1
    assert event.details == {"request": str(row.pk), "counts": row.counts}
    receipt = client.get(url(tenant_a, "subject-detail", row.pk))
    assert b"Receipt: what was removed" in receipt.content and b"alerts deleted" in receipt.content
    assert kit.leftovers(tenant_a, world.markers) == []

    check = client.get(url(tenant_a, "subjects"), {"check": kit.ZED})
    assert b"Erase on" in check.content
    nobody = client.get(url(tenant_a, "subjects"), {"check": "someone@else.test"})
    assert b"No request was made about this person." in nobody.content


def test_erasing_deletes_earlier_export_archives(client, alice, tenant_a, world):
    client.force_login(alice)
    client.post(url(tenant_a, "subjects"), {"subject": kit.ZED, "reference": "x", "kind": "export"})
    kit.work(tenant_a)
    with tenant_context(tenant_a):
        export = SubjectRequest.objects.get()
    data = {"subject": kit.ZED, "reference": "y", "kind": "erase", "confirm": "on"}
    client.post(url(tenant_a, "subject-erase"), data)
    kit.work(tenant_a)
    assert not subject_export.path_for(tenant_a.id, export.pk).exists()
    gone = client.get(url(tenant_a, "subject-download", export.pk))
    assert gone.status_code == 302
    with tenant_context(tenant_a):
        erase = SubjectRequest.objects.get(kind="erase")
        assert erase.counts["exports_deleted"] == 1


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("", b"This field is required."),
        ("   ", b"This field is required."),
        ("nobody@nowhere.test", b"No person or account with this identity"),
    ],
)
def test_bad_input_is_a_400_with_the_reason(client, alice, tenant_a, world, subject, message):
    client.force_login(alice)
    for kind in ("export", "erase"):
        response = client.post(
            url(tenant_a, "subjects"), {"subject": subject, "reference": "r", "kind": kind}
        )
        assert response.status_code == 400 and message in response.content
    with tenant_context(tenant_a):
        assert not SubjectRequest.objects.exists()


def test_readers_and_security_admins_are_refused(client, alice, rita, sam, tenant_a, world):
    client.force_login(alice)
    client.post(url(tenant_a, "subjects"), {"subject": kit.BOB, "reference": "r", "kind": "export"})
    kit.work(tenant_a)
    with tenant_context(tenant_a):
        made = SubjectRequest.objects.get()
    for person in (rita, sam):
        client.force_login(person)
        page = client.get(url(tenant_a, "subjects"))
        assert page.status_code == 200 and b"Only global admins" in page.content
        assert b"b***@contoso.test" not in page.content and b'name="subject"' not in page.content
        assert client.get(url(tenant_a, "subjects"), {"check": kit.BOB}).status_code == 200
        assert client.get(url(tenant_a, "subject-detail", made.pk)).status_code == 403
        assert client.get(url(tenant_a, "subject-download", made.pk)).status_code == 403
        data = {"subject": kit.ZED, "reference": "r", "kind": "export"}
        assert client.post(url(tenant_a, "subjects"), data).status_code == 403
        data = {**data, "kind": "erase", "confirm": "on"}
        assert client.post(url(tenant_a, "subject-erase"), data).status_code == 403
    with tenant_context(tenant_a):
        assert list(SubjectRequest.objects.all()) == [made]
        assert CloudUser.objects.filter(pk=world.zed.pk).exists()


def test_another_tenant_gets_404_everywhere(client, alice, charlie, tenant_a, tenant_b, world):
    client.force_login(alice)
    client.post(url(tenant_a, "subjects"), {"subject": kit.ZED, "reference": "r", "kind": "export"})
    kit.work(tenant_a)
    with tenant_context(tenant_a):
        row = SubjectRequest.objects.get()
    client.force_login(charlie)
    for name, args in [
        ("subjects", ()),
        ("subject-detail", (row.pk,)),
        ("subject-download", (row.pk,)),
    ]:
        assert client.get(url(tenant_a, name, *args)).status_code == 404
    data = {"subject": kit.ZED, "reference": "r", "kind": "erase", "confirm": "on"}
    assert client.post(url(tenant_a, "subject-erase"), data).status_code == 404
    # His own tenant has no such request or person.
    assert client.get(url(tenant_b, "subject-detail", row.pk)).status_code == 404
    refused = client.post(url(tenant_b, "subjects"), {**data, "kind": "export"})
    assert refused.status_code == 400
    with tenant_context(tenant_a):
        assert CloudUser.objects.filter(pk=world.zed.pk).exists()


def test_the_list_page_is_bounded_in_queries(
    client, alice, tenant_a, world, django_assert_max_num_queries
):
    client.force_login(alice)
    for n in range(3):
        client.post(
            url(tenant_a, "subjects"), {"subject": kit.BOB, "reference": f"r{n}", "kind": "export"}
        )
        kit.work(tenant_a)
    with django_assert_max_num_queries(25):
        page = client.get(url(tenant_a, "subjects"))
    assert page.status_code == 200 and page.content.count(b"b***@contoso.test") == 3


def test_a_request_is_queued_on_commit_and_runs_once(
    client, alice, tenant_a, world, django_capture_on_commit_callbacks
):
    """The console records the request and sends `compliance.run_subject_request` once the
    transaction commits; the task runs it once (a second delivery finds it no longer pending);
    the request and the run are both in the audit log."""
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(
            url(tenant_a, "subjects"), {"subject": kit.ZED, "reference": "r", "kind": "export"}
        )
    assert len(callbacks) == 1
    with tenant_context(tenant_a):
        row = SubjectRequest.objects.get()
        assert row.target["user"] == str(world.zed.pk) and "zed" not in str(row.target).lower()
    assert kit.work(tenant_a) == ["done"]
    with tenant_context(tenant_a):  # a second delivery of the task
        assert subjects.run_request(tenant_a, str(row.pk)) == "not pending"
        row.refresh_from_db()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert row.status == "done" and row.target == {}  # the ids were for the run only
    assert {"subjects.requested", "subjects.exported"} <= actions


def test_stalled_requests_are_sent_again_by_beat(tenant_a, world):
    """A request whose message was lost (pending for minutes) or whose worker died (running
    past the task time limit) is sent again, once per sweep window; a finished one never."""
    import datetime as dt

    from django.utils import timezone

    with tenant_context(tenant_a):
        lost = subjects.submit(tenant=tenant_a, kind="export", actor=None, query=kit.ZED)
        done = subjects.export(tenant=tenant_a, actor=None, query=kit.BOB)
        bob = subjects.find_subject(tenant=tenant_a, query=kit.BOB)
        # Made directly: `submit` refuses a second request about a person while one is busy.
        dead, fresh = (
            subjects._start(tenant_a, "export", bob, kit.BOB, "", None, status="pending")
            for _ in range(2)
        )
        long_ago = timezone.now() - dt.timedelta(hours=1)
        SubjectRequest.objects.filter(pk__in=[lost.pk, done.pk]).update(created_at=long_ago)
        SubjectRequest.objects.filter(pk=dead.pk).update(status="running", started_at=long_ago)
    assert subjects.resend_stalled() == 2
    assert subjects.resend_stalled() == 0  # stamped: not again at once
    with tenant_context(tenant_a):
        statuses = dict(SubjectRequest.objects.values_list("pk", "status"))
    assert statuses == {
        lost.pk: "pending",
        dead.pk: "pending",
        fresh.pk: "pending",
        done.pk: "done",
    }
    assert sorted(kit.work(tenant_a)) == ["done", "done", "done"]
