"""The Files console: list and filters, one file's page with masked samples and matched
policies, manual governance, the CSV export and the header search; charlie never sees A's."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import NoReverseMatch, reverse

from apps.alerts.models import Policy, PolicyKind
from apps.connectors.models import AppInstance
from apps.dlp.extract.base import Limits
from apps.dlp.models import AccessLevel, FileRecord, FileSource
from apps.dlp.services import FileMeta, scan_file
from apps.governance.models import GovernanceAction, GovernanceKind, Source
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context

pytestmark = pytest.mark.django_db(databases="__all__")

CARD = "4111 1111 1111 1111"
CARD_TEXT = f"Invoice for ACME. Card number: {CARD}, thanks.\n".encode()


def url(name: str, tenant, *args) -> str:
    return reverse(name, args=[tenant.slug, *args])


@pytest.fixture
def files(tenant_a):
    """Three files of A: an API upload with a card, a shared Drive file (clean), and one too
    large to scan; plus a file policy the card file matched."""
    with tenant_context(tenant_a):
        drive = AppInstance.objects.create(vendor="google_workspace", name="Drive")
        card = scan_file(name="invoice.txt", data=CARD_TEXT, source=FileSource.API).record
        shared = scan_file(
            name="Plan.docx.txt",
            data=b"Nothing sensitive here.",
            source=FileSource.APP,
            meta=FileMeta(
                app_instance=drive,
                external_id="drive-file-1",
                owner="ann@contoso.test",
                access_level=AccessLevel.EXTERNAL,
                external_domains=["partner.test"],
            ),
        ).record
        big = scan_file(
            name="huge.txt",
            data=CARD_TEXT * 10,
            source=FileSource.ICAP,
            limits=Limits(max_bytes=100),
        ).record
        policy = Policy.objects.create(kind=PolicyKind.FILE, name="Cards leaving the company")
        FileRecord.objects.filter(pk=card.pk).update(matched_policies=[str(policy.pk)])
        FileRecord.objects.filter(pk=big.pk).update(quarantined=True)
    return {"card": card, "shared": shared, "big": big, "drive": drive, "policy": policy}


def names(response) -> set[str]:
    return {row.name for row in response.context["rows"]}


def test_the_list_shows_every_file_with_its_status(client, rita, tenant_a, files):
    client.force_login(rita)
    response = client.get(url("dlp:files", tenant_a))
    assert response.status_code == 200
    assert names(response) == {"invoice.txt", "Plan.docx.txt", "huge.txt"}
    body = response.content.decode()
    assert "not scanned: " in body
    assert CARD not in body and "4111" not in body
    # Matched types by their names, not their keys.
    assert "Payment card number" in body and "payment_card" not in body.split("<tbody>")[1]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"verdict": "matched"}, {"invoice.txt"}),
        ({"verdict": "clean"}, {"Plan.docx.txt"}),
        ({"scan_status": "not_scanned"}, {"huge.txt"}),
        ({"access_level": "2"}, {"Plan.docx.txt"}),
        ({"sharing": "2"}, {"Plan.docx.txt"}),  # spec 7.5 alias
        ({"matched_type": "payment_card"}, {"invoice.txt"}),
        ({"owner": "ANN@"}, {"Plan.docx.txt"}),
        ({"name": "INVOICE"}, {"invoice.txt"}),
        ({"filename": "huge"}, {"huge.txt"}),  # spec 7.5 alias
        ({"source": "icap"}, {"huge.txt"}),
        ({"quarantined": "true"}, {"huge.txt"}),
        ({"quarantined": "false"}, {"invoice.txt", "Plan.docx.txt"}),
        ({"extension": ".TXT"}, {"invoice.txt", "Plan.docx.txt", "huge.txt"}),
        ({"file_type": "4"}, {"invoice.txt", "Plan.docx.txt", "huge.txt"}),
        ({"scanned_from": "2000-01-01", "scanned_to": "2000-01-02"}, set()),
    ],
)
def test_filters(client, rita, tenant_a, files, params, expected):
    client.force_login(rita)
    response = client.get(url("dlp:files", tenant_a), params)
    assert response.status_code == 200
    assert names(response) == expected


def test_app_and_policy_filters(client, rita, tenant_a, files):
    client.force_login(rita)
    base = url("dlp:files", tenant_a)
    assert names(client.get(base, {"app": files["drive"].pk})) == {"Plan.docx.txt"}
    assert names(client.get(base, {"policy": files["policy"].pk})) == {"invoice.txt"}
    page = client.get(base).content.decode()
    assert "Cards leaving the company" in page  # the policy drop-down


def test_an_invalid_filter_shows_no_rows_and_an_error(client, rita, tenant_a, files):
    client.force_login(rita)
    response = client.get(url("dlp:files", tenant_a), {"scanned_from": "yesterday"})
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "Fix the filters" in response.content.decode()


def test_list_queries_do_not_grow(client, rita, tenant_a, django_assert_max_num_queries):
    with tenant_context(tenant_a):
        drive = AppInstance.objects.create(vendor="google_workspace", name="Drive")
        for n in range(25):
            scan_file(
                name=f"f{n}.txt",
                data=CARD_TEXT,
                source=FileSource.APP,
                meta=FileMeta(app_instance=drive, external_id=f"id-{n}"),
            )
    client.force_login(rita)
    client.get(url("dlp:files", tenant_a))  # warm the per-user caches
    with django_assert_max_num_queries(20):
        response = client.get(url("dlp:files", tenant_a))
    assert len(response.context["rows"]) == 25


def test_the_file_page_shows_masked_samples_and_policies(client, rita, tenant_a, files):
    client.force_login(rita)
    response = client.get(url("dlp:file", tenant_a, files["card"].pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "#### #### #### ####" in body
    assert "Card number" in body  # context, digits masked
    assert "4111" not in body and "Invoice for ACME" in body  # context words, not digits
    assert "Cards leaving the company" in body
    assert "Govern this file" not in body  # a reader, and an API upload
    try:  # the file policy pages link the name when they are installed
        policy_url = url("file_policies:detail", tenant_a, files["policy"].pk)
    except NoReverseMatch:
        policy_url = None
    if policy_url:
        assert f'href="{policy_url}"' in body


def test_the_page_of_a_file_too_large_says_why(client, rita, tenant_a, files):
    client.force_login(rita)
    body = client.get(url("dlp:file", tenant_a, files["big"].pk)).content.decode()
    assert "not scanned: " in body and "too large" in body


def test_governance_buttons_only_for_connected_app_files(client, sam, tenant_a, files):
    client.force_login(sam)
    shared = client.get(url("dlp:file", tenant_a, files["shared"].pk)).content.decode()
    assert "Govern this file" in shared and "Remove external sharing" in shared
    upload = client.get(url("dlp:file", tenant_a, files["card"].pk)).content.decode()
    assert "Govern this file" not in upload


def test_an_admin_removes_external_sharing_from_the_file_page(client, sam, tenant_a, files):
    client.force_login(sam)
    response = client.post(
        url("dlp:file-govern", tenant_a, files["shared"].pk),
        {"kind": GovernanceKind.REMOVE_EXTERNAL_SHARING},
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        action = GovernanceAction.objects.get()
    assert action.kind == GovernanceKind.REMOVE_EXTERNAL_SHARING
    assert action.source == Source.MANUAL and action.initiated_by_id == sam.pk
    assert action.target_ref == "drive-file-1" and action.target_label == "Plan.docx.txt"
    assert action.app_instance_id == files["drive"].pk
    assert response["Location"] == url("governance:detail", tenant_a, action.pk)


def test_governance_is_refused_for_an_upload_or_an_unknown_kind(client, sam, tenant_a, files):
    client.force_login(sam)
    upload = client.post(
        url("dlp:file-govern", tenant_a, files["card"].pk), {"kind": "quarantine_file"}
    )
    unknown = client.post(
        url("dlp:file-govern", tenant_a, files["shared"].pk), {"kind": "suspend_user"}
    )
    assert upload.status_code == unknown.status_code == 302
    with tenant_context(tenant_a):
        assert not GovernanceAction.objects.exists()


def test_a_reader_cannot_govern(client, rita, tenant_a, files):
    client.force_login(rita)
    response = client.post(
        url("dlp:file-govern", tenant_a, files["shared"].pk), {"kind": "make_private"}
    )
    assert response.status_code == 403
    with tenant_context(tenant_a):
        assert not GovernanceAction.objects.exists()


def test_charlie_cannot_see_or_touch_a_file(client, charlie, tenant_a, tenant_b, files):
    client.force_login(charlie)
    assert client.get(url("dlp:files", tenant_a)).status_code == 404
    assert client.get(url("dlp:file", tenant_a, files["card"].pk)).status_code == 404
    response = client.post(
        url("dlp:file-govern", tenant_a, files["shared"].pk), {"kind": "make_private"}
    )
    assert response.status_code == 404
    # In his own tenant, A's file id is just as unknown.
    assert client.get(url("dlp:file", tenant_b, files["card"].pk)).status_code == 404
    own = client.get(url("dlp:files", tenant_b))
    assert own.status_code == 200 and own.context["rows"] == []
    with tenant_context(tenant_a):
        assert not GovernanceAction.objects.exists()


def test_the_export_has_the_list_columns_and_no_match_content(client, sam, tenant_a, files):
    client.force_login(sam)
    response = client.get(url("dlp:files-export", tenant_a), {"verdict": "matched"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["id", "name", "app"]
    assert [r[1] for r in rows[1:]] == ["invoice.txt"]
    assert "payment_card" in text and "Cards leaving the company" in text
    assert "####" not in text and "4111" not in text and "Card number" not in text
    with tenant_context(tenant_a):
        event = AuditEvent.objects.filter(action="files.exported").get()
    assert event.details["rows"] == 1 and event.details["filters"] == {"verdict": "matched"}


def test_a_reader_cannot_export(client, rita, tenant_a, files):
    client.force_login(rita)
    assert client.get(url("dlp:files-export", tenant_a)).status_code == 403


def test_the_header_search_finds_a_file_by_name(client, rita, charlie, tenant_a, tenant_b, files):
    client.force_login(rita)
    body = client.get(url("tenants:search", tenant_a), {"q": "invoice"}).content.decode()
    assert "invoice.txt" in body
    assert url("dlp:file", tenant_a, files["card"].pk) in body
    client.force_login(charlie)
    assert client.get(url("tenants:search", tenant_a), {"q": "invoice"}).status_code == 404
    own = client.get(url("tenants:search", tenant_b), {"q": "invoice"}).content.decode()
    assert "invoice.txt" not in own
