"""Demo data of content inspection: file policies, and files of the demo's Google Workspace and
Microsoft 365 scanned through the same service the connectors' file scan uses.

Runs after the activities and alerts demos (INSTALLED_APPS order), so the connected apps and
their accounts exist. The file policies are created first, so the scans are matched against
them. The files (text, CSV, Word, Excel and PDF documents) are built in memory from fixed
content: some clean, some with payment card numbers, IBANs, US social security numbers or an
AWS access key, shared privately, inside the organisation, with partners or publicly; one is
too large to scan and one is encrypted. Idempotent: policies are matched by name and a file
already recorded (same app and file id) is left alone, so a re-run changes nothing.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from xml.sax.saxutils import escape

from apps.tenants.scoping import tenant_context

from .models import AccessLevel, FileRecord, FileSource

POLICIES = (
    {
        "name": "Payment card numbers shared outside the organisation",
        "description": "A file with a payment card number that is shared externally or publicly.",
        "severity": 3,  # high
        "filters": {
            "sensitive_types": ["payment_card"],
            "min_matches": 1,
            "access_levels": [2, 3, 4],
        },
        "tuning": {"alert": True, "block": True},
    },
    {
        "name": "Bank and identity numbers in shared files",
        "description": "IBANs or US social security numbers in a file shared outside the "
        "organisation.",
        "severity": 2,  # medium
        "filters": {
            "sensitive_types": ["iban", "us_ssn"],
            "min_matches": 1,
            "access_levels": [2, 3, 4],
        },
        "tuning": {"alert": True},
    },
)

MB = 1024 * 1024
PRIV, INT, EXT, PUB, WEB = (
    AccessLevel.PRIVATE,
    AccessLevel.INTERNAL,
    AccessLevel.EXTERNAL,
    AccessLevel.PUBLIC,
    AccessLevel.PUBLIC_INTERNET,
)


@dataclass(frozen=True)
class DemoFile:
    key: str  # the file's id in its app (with the tenant's prefix)
    name: str
    app: str  # "google" or "m365"
    lines: tuple[str, ...]
    access: int = AccessLevel.PRIVATE
    domains: tuple[str, ...] = ()
    days_ago: int = 3
    special: str = ""  # "too_large" or "encrypted"


CLEAN = (
    "Agenda for the quarterly planning meeting.",
    "Review last quarter, agree priorities, assign owners.",
)
FILES = (
    DemoFile(
        "f01",
        "Customer refunds March.csv",
        "m365",
        (
            "customer,card,amount",
            "Northwind,4111 1111 1111 1111,120.00",
            "Tailspin,5555 5555 5555 4444,89.90",
            "Litware,3782 822463 10005,42.00",
        ),
        EXT,
        ("northwind.example",),
        2,
    ),
    DemoFile(
        "f02",
        "Card payment test.txt",
        "google",
        ("Card number: 4012 8888 8888 1881, expiry 11/28, for the booking test.",),
        WEB,
        (),
        5,
    ),
    DemoFile(
        "f03",
        "Supplier bank details.xlsx",
        "m365",
        (
            "Supplier",
            "IBAN",
            "Fabrikam Ltd",
            "GB82 WEST 1234 5698 7654 32",
            "Contoso GmbH",
            "DE89 3704 0044 0532 0130 00",
        ),
        EXT,
        ("fabrikam-partner.example",),
        8,
    ),
    DemoFile(
        "f04",
        "Payroll export.csv",
        "m365",
        ("employee,ssn,salary", "Ann Lee,536-22-8726,84000", "Bob Kim,219-09-9999,79000"),
        INT,
        (),
        12,
    ),
    DemoFile(
        "f05",
        "New starter form.docx",
        "google",
        ("New starter details", "Name: Omar Khan", "SSN: 536-22-8726", "Start date: 1 June"),
        EXT,
        ("recruit-partner.example",),
        20,
    ),
    DemoFile(
        "f06",
        "deploy-notes.txt",
        "google",
        (
            "Deployment notes for the billing service.",
            "aws_access_key_id = AKIA2E0A8F3B244C9986",
            "Rotate after the migration.",
        ),
        PUB,
        (),
        1,
    ),
    DemoFile(
        "f07",
        "Invoice 2291.pdf",
        "m365",
        ("Invoice 2291. Please pay to IBAN DE89 3704 0044 0532 0130 00 within 30 days.",),
        EXT,
        ("northwind.example",),
        30,
    ),
    DemoFile(
        "f08",
        "Travel booking.docx",
        "m365",
        ("Hotel booking confirmation", "Paid with card 4111-1111-1111-1111"),
        PRIV,
        (),
        45,
    ),
    DemoFile("f09", "Team offsite.docx", "google", CLEAN, INT, (), 6),
    DemoFile(
        "f10",
        "Quarterly plan.xlsx",
        "m365",
        ("Quarter", "Revenue", "Q1", "1,204,331", "Q2", "1,388,020"),
        INT,
        (),
        9,
    ),
    DemoFile(
        "f11",
        "Brand guidelines.pdf",
        "google",
        ("Use the logo on a white background.", "Minimum size 24 pixels."),
        WEB,
        (),
        60,
    ),
    DemoFile("f12", "Meeting notes.txt", "m365", CLEAN, PRIV, (), 2),
    DemoFile(
        "f13",
        "Roadmap 2026.docx",
        "m365",
        ("Roadmap", "Q1: single sign-on", "Q2: reporting", "Q3: mobile app"),
        INT,
        (),
        15,
    ),
    DemoFile(
        "f14",
        "Press release draft.docx",
        "google",
        ("Contoso announces a new office in Lisbon.",),
        EXT,
        ("pr-agency.example",),
        4,
    ),
    DemoFile(
        "f15",
        "Office seating.csv",
        "google",
        ("desk,team", "A1,Finance", "A2,Sales", "B1,Engineering"),
        INT,
        (),
        25,
    ),
    DemoFile(
        "f16",
        "Product price list.xlsx",
        "m365",
        ("Product", "Price", "Basic", "9.00", "Pro", "29.00"),
        PUB,
        (),
        18,
    ),
    DemoFile(
        "f17",
        "Holiday calendar.pdf",
        "m365",
        ("Office closed on 25 and 26 December.",),
        INT,
        (),
        70,
    ),
    DemoFile(
        "f18",
        "Onboarding checklist.txt",
        "google",
        ("Laptop, badge, accounts, training.",),
        INT,
        (),
        33,
    ),
    DemoFile(
        "f19",
        "Customer list.csv",
        "google",
        ("company,city,segment", "Northwind,Seattle,Retail", "Litware,Boston,Tech"),
        EXT,
        ("northwind.example",),
        11,
    ),
    DemoFile(
        "f20",
        "Refund card log.txt",
        "m365",
        (
            "Refund to card 5555 5555 5555 4444 approved.",
            "Refund to card 4012 8888 8888 1881 approved.",
        ),
        INT,
        (),
        7,
    ),
    DemoFile(
        "f21",
        "Vendor payment run.csv",
        "google",
        ("vendor,iban", "Litware,GB82 WEST 1234 5698 7654 32"),
        PRIV,
        (),
        14,
    ),
    DemoFile(
        "f22",
        "Architecture overview.pdf",
        "google",
        ("Services talk over TLS; secrets live in the vault.",),
        INT,
        (),
        40,
    ),
    DemoFile("f23", "Lunch menu.txt", "m365", ("Monday soup, Tuesday pasta.",), WEB, (), 1),
    DemoFile(
        "f24",
        "Sales pipeline.xlsx",
        "google",
        ("Deal", "Stage", "Northwind renewal", "Negotiation"),
        INT,
        (),
        5,
    ),
    DemoFile(
        "f25",
        "Video recordings archive.zip",
        "m365",
        (),
        EXT,
        ("media-partner.example",),
        50,
        "too_large",
    ),
    DemoFile("f26", "Salaries 2026.xlsx", "m365", (), INT, (), 10, "encrypted"),
    DemoFile(
        "f27",
        "Contract - Northwind.pdf",
        "m365",
        ("Agreement between Contoso and Northwind for support services.",),
        EXT,
        ("northwind.example",),
        90,
    ),
    DemoFile(
        "f28",
        "Incident report.docx",
        "google",
        ("Incident 42: a laptop was lost on the train.", "Disk encryption was on."),
        INT,
        (),
        22,
    ),
)
FABRIKAM_FILES = ("f01", "f03", "f05", "f09", "f12", "f16", "f23", "f26")


# --- Building files in memory ---------------------------------------------------------------

_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
# An OLE compound file: how Office stores a password-protected .docx/.xlsx.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # zip entry times: the same bytes on every run


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name, _FIXED_TIME), content)
    return buffer.getvalue()


def docx(lines: tuple[str, ...]) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{escape(line)}</w:t></w:r></w:p>" for line in lines)
    return _zip(
        {
            "[Content_Types].xml": f"{_DECL}<Types "
            'xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
            "word/document.xml": f"{_DECL}<w:document {_W}><w:body>{body}</w:body></w:document>",
        }
    )


def xlsx(cells: tuple[str, ...], columns: int = 2) -> bytes:
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in cells)
    rows = []
    for start in range(0, len(cells), columns):
        row = start // columns + 1
        refs = "".join(
            f'<c r="{chr(65 + n)}{row}" t="s"><v>{start + n}</v></c>'
            for n in range(min(columns, len(cells) - start))
        )
        rows.append(f'<row r="{row}">{refs}</row>')
    return _zip(
        {
            "[Content_Types].xml": f"{_DECL}<Types/>",
            "xl/workbook.xml": f"{_DECL}<workbook {_S}><sheets/></workbook>",
            "xl/sharedStrings.xml": f"{_DECL}<sst {_S}>{shared}</sst>",
            "xl/worksheets/sheet1.xml": f"{_DECL}<worksheet {_S}><sheetData>{''.join(rows)}"
            "</sheetData></worksheet>",
        }
    )


def pdf(lines: tuple[str, ...]) -> bytes:
    """A one-page PDF with a Helvetica text line per entry (hand-written, correct xref)."""

    def literal(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    shown = " ".join(f"({literal(line)}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 11 Tf 72 720 Td {shown} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def encrypted_office() -> bytes:
    return _OLE + b"\x00" * 504  # the header of an encrypted Office package, nothing readable


def content(spec: DemoFile) -> bytes:
    """The file's bytes, built from its lines by its extension."""
    if spec.special == "encrypted":
        return encrypted_office()
    extension = spec.name.rsplit(".", 1)[-1].lower()
    if extension == "docx":
        return docx(spec.lines)
    if extension == "xlsx":
        return xlsx(spec.lines)
    if extension == "pdf":
        return pdf(spec.lines)
    return ("\n".join(spec.lines) + "\n").encode()


# --- Seeding --------------------------------------------------------------------------------


def _location(spec: DemoFile, owner: str, domain: str) -> str:
    if spec.app == "google":
        return f"https://drive.google.com/file/d/demo-{spec.key}/view"
    person = (owner.split("@")[0] or "user").replace(".", "_")
    site = domain.split(".")[0]
    return f"https://{site}-my.sharepoint.com/personal/{person}/Documents/{spec.name}"


def _seed_tenant(demo, tenant, domain: str, keys: tuple[str, ...] | None) -> None:
    from apps.accounts.models import Account, AccountStatus
    from apps.alerts.models import Category, Policy, PolicyKind
    from apps.connectors.models import AppInstance, Vendor

    from .extract.base import TOO_LARGE
    from .file_scan import record_not_scanned
    from .services import FileMeta, scan_file

    with tenant_context(tenant):
        # The policies first: the scans below are matched against them.
        for spec in POLICIES:
            if not Policy.objects.filter(name=spec["name"]).exists():
                Policy.objects.create(
                    kind=PolicyKind.FILE, category=Category.DLP, governance=[], **spec
                )
        apps = {
            "google": AppInstance.objects.filter(vendor=Vendor.GOOGLE_WORKSPACE)
            .order_by("created_at")
            .first(),
            "m365": AppInstance.objects.filter(vendor=Vendor.OFFICE365)
            .order_by("created_at")
            .first(),
        }
        first_app = AppInstance.objects.order_by("created_at").first()
        if first_app is None:
            return
        anchor = first_app.created_at
        owners = {
            key: list(
                Account.objects.filter(app_instance=app, status=AccountStatus.ACTIVE)
                .select_related("user")
                .order_by("email", "external_id")
            )
            if app is not None
            else []
            for key, app in apps.items()
        }
        added = 0
        for index, spec in enumerate(FILES):
            if keys is not None and spec.key not in keys:
                continue
            app = apps[spec.app]
            if app is None:
                continue
            external_id = f"demo-{spec.key}"
            if FileRecord.objects.filter(app_instance=app, external_id=external_id).exists():
                continue
            people = owners[spec.app]
            account = people[(index * 7) % len(people)] if people else None
            owner = account.email if account is not None else f"files@{domain}"
            meta = FileMeta(
                app_instance=app,
                external_id=external_id,
                owner=owner,
                owner_account=account,
                owner_user=account.user if account is not None else None,
                location=_location(spec, owner, domain),
                access_level=spec.access,
                external_domains=list(spec.domains),
                modified_in_app_at=anchor - timedelta(days=spec.days_ago, hours=index),
            )
            scanned_at = anchor - timedelta(minutes=10 * (len(FILES) - index))
            if spec.special == "too_large":
                record_not_scanned(
                    remote_name=spec.name, meta=meta, reason=TOO_LARGE, size=80 * MB, now=scanned_at
                )
            else:
                scan_file(
                    name=spec.name,
                    data=content(spec),
                    source=FileSource.APP,
                    meta=meta,
                    now=scanned_at,
                )
            added += 1
        demo.log(f"{tenant.name}: {added} files scanned in the connected apps")


def seed(demo) -> None:
    _seed_tenant(demo, demo.tenants["contoso"], "contoso.test", None)
    _seed_tenant(demo, demo.tenants["fabrikam"], "fabrikam.test", FABRIKAM_FILES)
