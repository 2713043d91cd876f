"""Files of connected apps, scanned against fake Google Drive and OneDrive servers on loopback:
sharing levels, owners, not-scanned reasons, cursor resume, cheap skips, content stored nowhere."""

from __future__ import annotations

import datetime as dt
import functools
import tempfile

import pytest
from django.db import connection

from apps.accounts.models import Account, CloudUser
from apps.connectors import services as connector_services
from apps.connectors.adapters import files as remote_files
from apps.connectors.models import AppInstance, PollCursor, Vendor
from apps.dlp import file_scan
from apps.dlp.models import AccessLevel, FileRecord, Match, ScanStatus, Verdict
from apps.tenants.scoping import tenant_context
from tests.fakes.google import FakeGoogle
from tests.fakes.office365 import FakeOffice365
from tests.fakes.tls import make_tls

pytestmark = pytest.mark.django_db

CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
CARD_TEXT = f"Refund request. Card number: {CARD}, expiry 09/29.\n".encode()
IBAN_TEXT = f"Please pay the invoice to IBAN {IBAN} by Friday.\n".encode()
CLEAN = b"Team lunch on Thursday, bring a salad.\n"
SSN_DOC = b"Employee record. SSN: 536-22-8726 (social security number).\n"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("fake-drive-tls"))


@pytest.fixture
def trust(settings, tls_files):
    settings.CONNECTOR_CA_BUNDLE = str(tls_files.ca_bundle)
    return tls_files


@pytest.fixture
def google(trust):
    server = FakeGoogle(trust)
    yield server
    server.close()


@pytest.fixture
def o365(trust):
    server = FakeOffice365(trust)
    yield server
    server.close()


def connect(tenant, vendor, server) -> AppInstance:
    instance = connector_services.create_instance(
        tenant=tenant,
        actor=None,
        vendor=vendor,
        name=f"{vendor} files",
        base_url=server.base_url,
        credentials=server.credentials(),
    )
    with tenant_context(tenant):
        return AppInstance.objects.get(pk=instance.pk)


def run(tenant, instance) -> file_scan.FileScanOutcome:
    with tenant_context(tenant):
        return file_scan.scan_app_files(AppInstance.objects.get(pk=instance.pk))


def records(tenant) -> dict[str, FileRecord]:
    with tenant_context(tenant):
        return {r.name: r for r in FileRecord.objects.all()}


def cursor(tenant, instance) -> dict:
    with tenant_context(tenant):
        row = PollCursor.objects.filter(app_instance=instance, stream="files").first()
        return dict(row.position) if row else {}


def _drive(google) -> None:
    google.add_drive_file(
        "card1",
        "refund.txt",
        CARD_TEXT,
        permissions=[google.permission("user", "buyer@partner.example")],
    )
    google.add_drive_file(
        "iban1",
        "invoice.txt",
        IBAN_TEXT,
        permissions=[google.permission("domain", "supplier.example")],
    )
    google.add_drive_file("lunch1", "lunch.txt", CLEAN)
    google.add_drive_file(
        "team1", "team.txt", CLEAN, permissions=[google.permission("user", "bob@acme.test")]
    )
    google.add_drive_file(
        "doc1",
        "HR record",
        SSN_DOC,
        mime="application/vnd.google-apps.document",
        permissions=[{**google.permission("anyone"), "allowFileDiscovery": True}],
    )
    google.add_drive_file(
        "form1", "Survey", b"", mime="application/vnd.google-apps.form", owner="bob@acme.test"
    )
    google.add_drive_file(
        "big1",
        "archive.txt",
        CARD_TEXT,
        size=60 * 1024 * 1024,
        permissions=[google.permission("anyone")],
    )


def test_access_levels_are_spelled_as_the_dlp_model_spells_them():
    assert [
        remote_files.PRIVATE,
        remote_files.INTERNAL,
        remote_files.EXTERNAL,
        remote_files.PUBLIC,
        remote_files.PUBLIC_INTERNET,
    ] == [
        AccessLevel.PRIVATE,
        AccessLevel.INTERNAL,
        AccessLevel.EXTERNAL,
        AccessLevel.PUBLIC,
        AccessLevel.PUBLIC_INTERNET,
    ]
    assert set(file_scan.file_vendors()) == {Vendor.GOOGLE_WORKSPACE, Vendor.OFFICE365}


def test_drive_files_are_scanned_with_sharing_owner_and_matches(tenant_a, google):
    _drive(google)
    app = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    with tenant_context(tenant_a):
        person = CloudUser.objects.create(email="ann@acme.test", display_name="Ann Lee")
        account = Account.objects.create(
            app_instance=app, external_id="1001", email="ann@acme.test", user=person
        )
    outcome = run(tenant_a, app)
    assert outcome.error == "" and outcome.failed == 0, outcome.as_dict()
    assert (outcome.scanned, outcome.not_scanned) == (5, 2)

    found = records(tenant_a)
    refund = found["refund.txt"]
    assert refund.verdict == Verdict.MATCHED and refund.matched_types == ["payment_card"]
    assert refund.access_level == AccessLevel.EXTERNAL
    assert refund.external_domains == ["partner.example"]
    assert refund.owner == "ann@acme.test"
    assert refund.owner_account_id == account.pk and refund.owner_user_id == person.pk
    assert refund.location == "https://docs.google.com/file/d/card1/view"
    assert refund.source == "app" and refund.external_id == "card1"
    assert refund.modified_in_app_at is not None
    invoice = found["invoice.txt"]
    assert "iban" in invoice.matched_types and invoice.access_level == AccessLevel.EXTERNAL
    assert invoice.external_domains == ["supplier.example"]
    assert found["lunch.txt"].verdict == Verdict.CLEAN
    assert found["lunch.txt"].access_level == AccessLevel.PRIVATE
    assert found["team.txt"].access_level == AccessLevel.INTERNAL
    # A Google Doc is exported as text; discoverable "anyone" sharing is public on the web.
    doc = found["HR record"]
    assert doc.matched_types == ["us_ssn"] and doc.access_level == AccessLevel.PUBLIC_INTERNET
    # Not downloaded: a form (no text) and a file over 50 MB, recorded with the app's size.
    form = found["Survey"]
    assert form.scan_status == ScanStatus.NOT_SCANNED and "no text" in form.scan_reason
    big = found["archive.txt"]
    assert big.status_text == "not scanned: too large"
    assert big.size == 60 * 1024 * 1024 and big.sha256 == ""
    assert big.access_level == AccessLevel.PUBLIC
    assert "big1" not in google.downloads and "form1" not in google.downloads
    assert sorted(google.downloads) == ["card1", "doc1", "iban1", "lunch1", "team1"]
    with tenant_context(tenant_a):
        assert Match.objects.filter(file=refund, type_key="payment_card").count() == 1
    # The pass finished: the cursor holds where the next one starts, and the full scan's time.
    position = cursor(tenant_a, app)
    assert position["since"] and position["full_at"] and "page_token" not in position
    # The Drive calls used their own read-only scope, as the connection's admin.
    scopes = {a["scope"] for a in google.assertions}
    assert "https://www.googleapis.com/auth/drive.readonly" in scopes


def test_file_content_is_in_no_table_and_no_temporary_file(tenant_a, google, tmp_path, monkeypatch):
    _drive(google)
    app = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    run(tenant_a, app)
    assert list(spool.iterdir()) == []
    assert records(tenant_a)["refund.txt"].verdict == Verdict.MATCHED
    needles = [CARD.encode(), CARD.replace(" ", "").encode(), IBAN.encode(), b"536-22-8726"]
    needles += [b"Refund request", b"Team lunch", b"Employee record"]
    with connection.cursor() as db:
        tables = connection.introspection.table_names(db)
        for table in tables:
            db.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the catalogue)
            for row in db.fetchall():
                for value in row:
                    if value is None:
                        continue
                    raw = bytes(value) if isinstance(value, memoryview) else str(value).encode()
                    for needle in needles:
                        assert needle not in raw, (table, needle)


def test_a_killed_scan_resumes_on_the_next_page_and_skips_what_it_recorded(tenant_a, google):
    for n in range(5):
        google.add_drive_file(f"file{n}x", f"note-{n}.txt", CLEAN)
    app = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    # Page size 2: the third file (page 2) meets an outage, which ends the run.
    google.fault("/drive/v3/files/file2x", 503, {"error": {"code": 503, "message": "down"}})
    first = run(tenant_a, app)
    assert "unavailable" in first.error and first.pages == 1
    assert cursor(tenant_a, app)["page_token"] == "2"
    assert set(records(tenant_a)) == {"note-0.txt", "note-1.txt"}

    second = run(tenant_a, app)
    assert second.error == "" and second.scanned == 3
    assert set(records(tenant_a)) == {f"note-{n}.txt" for n in range(5)}
    assert sorted(google.downloads) == ["file0x", "file1x", "file2x", "file3x", "file4x"]

    # Nothing changed: the next pass lists the recent files again (overlap) but downloads none.
    third = run(tenant_a, app)
    assert third.unchanged == 5 and third.scanned == 0 and len(google.downloads) == 5
    assert "modifiedTime > " in google.hits("/drive/v3/files")[-1].query["q"]


def test_changed_content_and_changed_sharing_are_scanned_again(tenant_a, google):
    google.add_drive_file("card1", "refund.txt", CARD_TEXT)
    google.add_drive_file("lunch1", "lunch.txt", CLEAN)
    app = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    run(tenant_a, app)
    assert records(tenant_a)["refund.txt"].access_level == AccessLevel.PRIVATE

    google.touch_drive_file("card1", CLEAN)  # the card number was removed
    google.files["lunch1"]["permissions"].append(google.permission("anyone"))
    outcome = run(tenant_a, app)
    assert outcome.scanned == 2, outcome.as_dict()
    found = records(tenant_a)
    assert found["refund.txt"].verdict == Verdict.CLEAN
    assert found["lunch.txt"].access_level == AccessLevel.PUBLIC
    with tenant_context(tenant_a):
        assert not Match.objects.exists()
        assert FileRecord.objects.count() == 2  # updated, not duplicated


def test_one_bad_file_never_stops_the_run(tenant_a, google):
    google.add_drive_file("gone1", "gone.txt", CLEAN)
    google.add_drive_file("card1", "refund.txt", CARD_TEXT)
    google.add_drive_file("lunch1", "lunch.txt", CLEAN)
    app = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    google.fault("/drive/v3/files/gone1", 404, {"error": {"code": 404, "message": "File gone"}})
    outcome = run(tenant_a, app)
    assert outcome.failed == 1 and outcome.scanned == 2
    assert outcome.errors[0]["file"] == "gone.txt"
    assert "no file gone1" in outcome.errors[0]["reason"]
    assert set(records(tenant_a)) == {"refund.txt", "lunch.txt"}
    assert "page_token" not in cursor(tenant_a, app)


def test_a_download_with_no_listed_size_that_outgrows_the_client_is_too_large(
    tenant_a, google, monkeypatch
):
    # A Google-native document has no size in the listing; its export answer is bounded by the
    # client (64 MB in production, 1 kB here): it is recorded as too large, not as an error.
    google.add_drive_file(
        "doc1", "Minutes", b"x" * 4096, mime="application/vnd.google-apps.document"
    )
    google.add_drive_file("card1", "refund.txt", CARD_TEXT)
    monkeypatch.setattr(
        file_scan, "VendorClient", functools.partial(file_scan.VendorClient, max_body=1024)
    )
    app = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    outcome = run(tenant_a, app)
    assert (outcome.failed, outcome.not_scanned, outcome.scanned) == (0, 1, 1), outcome.as_dict()
    minutes = records(tenant_a)["Minutes"]
    assert minutes.scan_status == ScanStatus.NOT_SCANNED
    assert minutes.status_text == f"not scanned: {file_scan.TOO_LARGE}"


def test_a_second_run_at_once_returns_at_once(tenant_a, google):
    google.add_drive_file("card1", "refund.txt", CARD_TEXT)
    app = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    with tenant_context(tenant_a):
        assert file_scan._claim(app) is not None  # a scan in another worker holds the lease
    outcome = run(tenant_a, app)
    assert outcome.skipped == "a scan of this app is already running"
    assert google.hits("/drive/") == []
    # A crashed scan's lease lapses; a finished scan hands it back.
    with tenant_context(tenant_a):
        PollCursor.objects.filter(app_instance=app, stream="files.lease").update(
            position={"until": "2020-01-01T00:00:00Z"}
        )
    assert run(tenant_a, app).scanned == 1
    assert run(tenant_a, app).skipped == ""
    with tenant_context(tenant_a):
        assert PollCursor.objects.get(app_instance=app, stream="files.lease").position == {}


def test_apps_without_files_are_not_scanned(tenant_a):
    with tenant_context(tenant_a):
        okta = AppInstance.objects.create(vendor=Vendor.OKTA, name="Okta")
        outcome = file_scan.scan_app_files(okta)
    assert outcome.skipped == "Okta files are not scanned"


# --- Microsoft 365 (OneDrive through Microsoft Graph) ----------------------------------------


def _onedrive(o365) -> dict:
    o365.add_user("u-ann-0001", "ann@contoso.test")
    o365.add_user("u-bob-0002", "bob@contoso.test")
    o365.add_user("u-cat-0003", "cat@contoso.test")  # no OneDrive: skipped
    return {
        "card": o365.add_drive_file(
            "u-ann-0001", "refund.txt", CARD_TEXT, permissions=[o365.share(link="anonymous")]
        ),
        "iban": o365.add_drive_file(
            "u-ann-0001",
            "invoice.txt",
            IBAN_TEXT,
            permissions=[o365.share("buyer@partner.example")],
        ),
        "team": o365.add_drive_file(
            "u-bob-0002", "team.txt", CLEAN, permissions=[o365.share(link="organization")]
        ),
        "own": o365.add_drive_file("u-bob-0002", "mine.txt", CLEAN),
        "inside": o365.add_drive_file(
            "u-bob-0002", "shared.txt", CLEAN, permissions=[o365.share("ann@contoso.test")]
        ),
    }


def test_onedrive_files_are_scanned_with_sharing_levels(tenant_a, o365):
    items = _onedrive(o365)
    app = connect(tenant_a, Vendor.OFFICE365, o365)
    outcome = run(tenant_a, app)
    assert outcome.error == "" and outcome.failed == 0, outcome.as_dict()
    assert outcome.scanned == 5
    found = records(tenant_a)
    refund = found["refund.txt"]
    assert refund.verdict == Verdict.MATCHED and refund.matched_types == ["payment_card"]
    assert refund.access_level == AccessLevel.PUBLIC_INTERNET
    assert refund.owner == "ann@contoso.test" and refund.external_id == items["card"]["id"]
    assert refund.location == items["card"]["webUrl"]
    invoice = found["invoice.txt"]
    assert invoice.access_level == AccessLevel.EXTERNAL and "iban" in invoice.matched_types
    assert invoice.external_domains == ["partner.example"]
    assert found["team.txt"].access_level == AccessLevel.INTERNAL
    assert found["shared.txt"].access_level == AccessLevel.INTERNAL
    assert found["mine.txt"].access_level == AccessLevel.PRIVATE
    # Downloads went to the pre-authenticated URLs, without a token (the fake refuses one).
    assert len(o365.downloads) == 5
    position = cursor(tenant_a, app)
    assert set(position["links"]) == {"u-ann-0001", "u-bob-0002"} and position["full_at"]

    # The next run reads each drive's delta: nothing new, nothing downloaded.
    again = run(tenant_a, app)
    assert again.scanned == 0 and len(o365.downloads) == 5
    # A sharing change lists the item again (deltashowsharingchanges), and it is rescanned.
    items["own"]["permissions"].append(o365.share("guest@outside.example"))
    o365.touch_drive_file(items["own"]["id"])
    third = run(tenant_a, app)
    assert third.scanned == 1
    mine = records(tenant_a)["mine.txt"]
    assert mine.access_level == AccessLevel.EXTERNAL and mine.external_domains == [
        "outside.example"
    ]
    assert all(r.headers.get("prefer") == "deltashowsharingchanges" for r in o365.hits("/delta"))


def test_onedrive_scan_resumes_inside_a_drive(tenant_a, o365):
    o365.add_user("u-ann-0001", "ann@contoso.test")
    for n in range(5):
        o365.add_drive_file("u-ann-0001", f"note-{n}.txt", CLEAN)
    app = connect(tenant_a, Vendor.OFFICE365, o365)
    # The delta's second page fails: the first page (root + one file) is recorded.
    o365.fault("/drive/root/delta", 503, {"error": {"code": "serviceNotAvailable"}}, skip=1)
    first = run(tenant_a, app)
    assert first.error and first.pages == 1
    position = cursor(tenant_a, app)
    assert position["current"] == "u-ann-0001" and "skiptoken" in position["next"]
    second = run(tenant_a, app)
    assert second.error == "" and second.scanned == 4
    assert len(records(tenant_a)) == 5 and len(o365.downloads) == 5


def test_a_download_link_to_another_host_is_not_followed(tenant_a, o365):
    o365.add_user("u-ann-0001", "ann@contoso.test")
    item = o365.add_drive_file("u-ann-0001", "refund.txt", CARD_TEXT)
    item["@microsoft.graph.downloadUrl"] = "https://attacker.example/steal"
    app = connect(tenant_a, Vendor.OFFICE365, o365)
    outcome = run(tenant_a, app)
    assert outcome.failed == 1 and "another host" in outcome.errors[0]["reason"]
    assert records(tenant_a) == {}


@pytest.mark.django_db(databases="__all__")
def test_file_records_stay_in_the_tenants_geo(o365, tenant_a):
    from tests.factories import make_tenant

    us = make_tenant("Usco", geo="us")
    o365.add_user("u-ann-0001", "ann@contoso.test")
    o365.add_drive_file("u-ann-0001", "refund.txt", CARD_TEXT)
    app = connect(us, Vendor.OFFICE365, o365)
    assert run(us, app).scanned == 1
    assert FileRecord.unscoped_objects.using("geo_us").filter(tenant_id=us.id).count() == 1
    assert not FileRecord.unscoped_objects.using("default").filter(tenant_id=us.id).exists()


def test_modified_times_are_kept(tenant_a, google):
    when = dt.datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=dt.UTC)
    google.add_drive_file("card1", "refund.txt", CARD_TEXT, modified=when)
    app = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    run(tenant_a, app)
    assert records(tenant_a)["refund.txt"].modified_in_app_at == when


def test_an_expired_download_link_is_read_fresh_from_the_item(tenant_a, o365):
    o365.add_user("u-ann-0001", "ann@contoso.test")
    item = o365.add_drive_file("u-ann-0001", "refund.txt", CARD_TEXT)
    app = connect(tenant_a, Vendor.OFFICE365, o365)
    o365.fault(f"/download/{item['id']}", 401, {"error": {"code": "unauthenticated"}})
    outcome = run(tenant_a, app)
    assert outcome.scanned == 1 and outcome.failed == 0, outcome.as_dict()
    assert len(o365.hits(f"/download/{item['id']}")) == 2
    assert len(o365.hits(f"/v1.0/drives/{item['parentReference']['driveId']}/items/")) == 2
    assert records(tenant_a)["refund.txt"].verdict == Verdict.MATCHED
