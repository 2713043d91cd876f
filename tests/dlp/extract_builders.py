"""Builders for extraction fixtures, made in memory in each test (no files in the repo)."""

from __future__ import annotations

import io
import zipfile

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
P = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def zip_bytes(members: dict[str, bytes | str], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _paragraphs(texts: list[str]) -> str:
    return "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in texts)


def docx(
    body: list[str], *, header: str = "", footer: str = "", document_xml: str | None = None
) -> bytes:
    members: dict[str, bytes | str] = {
        "[Content_Types].xml": f'{DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "word/document.xml": document_xml
        or f"{DECL}<w:document {W}><w:body>{_paragraphs(body)}</w:body></w:document>",
    }
    if header:
        members["word/header1.xml"] = f"{DECL}<w:hdr {W}>{_paragraphs([header])}</w:hdr>"
    if footer:
        members["word/footer1.xml"] = f"{DECL}<w:ftr {W}>{_paragraphs([footer])}</w:ftr>"
    return zip_bytes(members)


def xlsx(shared: list[str], sheet_rows: str) -> bytes:
    items = "".join(f"<si><t>{text}</t></si>" for text in shared)
    return zip_bytes(
        {
            "[Content_Types].xml": f"{DECL}<Types/>",
            "xl/workbook.xml": f"{DECL}<workbook {S}><sheets/></workbook>",
            "xl/sharedStrings.xml": f"{DECL}<sst {S}>{items}</sst>",
            "xl/worksheets/sheet1.xml": f"{DECL}<worksheet {S}><sheetData>{sheet_rows}"
            "</sheetData></worksheet>",
        }
    )


def _slide(text: str) -> str:
    return (
        f"{DECL}<p:sld {A} {P}><p:cSld><p:spTree><p:sp><p:txBody>"
        f"<a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
    )


def pptx(slides: list[str], notes: dict[int, str] | None = None) -> bytes:
    members: dict[str, bytes | str] = {
        "[Content_Types].xml": f"{DECL}<Types/>",
        "ppt/presentation.xml": f"{DECL}<p:presentation {P}/>",
    }
    for number, text in enumerate(slides, start=1):
        members[f"ppt/slides/slide{number}.xml"] = _slide(text)
    for number, text in (notes or {}).items():
        members[f"ppt/notesSlides/notesSlide{number}.xml"] = (
            f"{DECL}<p:notes {A} {P}><p:cSld><p:spTree><p:sp><p:txBody>"
            f"<a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:notes>"
        )
    return zip_bytes(members)


def pdf(pages: list[str]) -> bytes:
    """A minimal hand-written PDF: one Helvetica text stream per page, with a correct xref."""
    count = len(pages)
    font_id = 3 + 2 * count
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        (
            "<< /Type /Pages /Kids ["
            + " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
            + f"] /Count {count} >>"
        ).encode(),
    ]
    for index, text in enumerate(pages):
        content_id = 4 + 2 * index
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R"
                f" /Resources << /Font << /F1 {font_id} 0 R >> >> >>"
            ).encode()
        )
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
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
