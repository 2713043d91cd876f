"""Text extraction per format, and file type detection (magic bytes first, the name second)."""

from __future__ import annotations

import codecs
import io

import pytest
from pypdf import PdfReader, PdfWriter

from apps.dlp.extract import Limits, extract
from tests.dlp.extract_builders import DECL, W, docx, pdf, pptx, xlsx, zip_bytes

CARD = "4111 1111 1111 1111"


def test_plain_text_utf8():
    result = extract("notes.txt", f"Café card {CARD}".encode())
    assert result.status == "scanned"
    assert result.parts[0].name == "notes.txt"
    assert result.text == f"Café card {CARD}"
    assert (result.kind, result.mime, result.file_type) == ("text", "text/plain", "text")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (codecs.BOM_UTF8 + "naïve".encode(), "naïve"),
        (codecs.BOM_UTF16_LE + "naïve".encode("utf-16-le"), "naïve"),
        (codecs.BOM_UTF16_BE + "naïve".encode("utf-16-be"), "naïve"),
        ("naïve € 5".encode("cp1252"), "naïve € 5"),  # not UTF-8: cp1252 fallback
    ],
)
def test_text_encoding_detection(raw, expected):
    assert extract("x.txt", raw).text == expected


def test_csv_is_text():
    result = extract("people.csv", b"name,ssn\nAnn,123-45-6789\n")
    assert result.text == "name,ssn\nAnn,123-45-6789\n"
    assert (result.mime, result.file_type) == ("text/csv", "text")


def test_json_keys_and_values_without_syntax():
    raw = b'{"card": "4111111111111111", "n": [12, 3.5, true, null, {"deep": "x"}]}'
    result = extract("data.json", raw)
    assert result.text.splitlines() == ["card", "4111111111111111", "n", "12", "3.5", "deep", "x"]
    assert (result.mime, result.file_type) == ("application/json", "other")  # Appendix C


def test_invalid_json_is_scanned_as_text():
    result = extract("broken.json", b'{"card": "4111111111111111",')
    assert result.scanned
    assert "4111111111111111" in result.text


def test_deeply_nested_json_does_not_overflow():
    raw = b"[" * 100_000 + b"]" * 100_000
    assert extract("deep.json", raw).scanned


def test_html_text_without_script_and_style():
    raw = (
        b"<!doctype html><html><head><title>T</title><style>.x{color:red}</style>"
        b"<script>var secret='nope';</script></head><body><p>Card&nbsp;4111</p>"
        b"<table><tr><td>a</td><td>b</td></tr></table></body></html>"
    )
    result = extract("page.html", raw)
    assert "nope" not in result.text and "color" not in result.text
    assert "Card\xa04111" in result.text
    assert result.text.splitlines()[-2:] == ["a", "b"]
    assert (result.kind, result.file_type) == ("html", "text")


def test_html_sniffed_without_a_name_extension():
    assert extract("download", b"  <!DOCTYPE html><p>hi</p>").kind == "html"


def test_docx_body_headers_footers():
    result = extract("r.docx", docx(["Hello", CARD], header="Top secret", footer="Page"))
    assert result.status == "scanned"
    by_name = dict(result.parts)
    assert by_name["r.docx:body"] == f"Hello\n{CARD}"
    assert by_name["r.docx:header1"] == "Top secret"
    assert by_name["r.docx:footer1"] == "Page"
    assert result.file_type == "document"


def test_docx_tracked_deletions_and_tabs_are_kept():
    body = (
        "<w:p><w:r><w:t>Card</w:t><w:tab/><w:t>4111</w:t></w:r>"
        "<w:del><w:r><w:delText>123-45-6789</w:delText></w:r></w:del>"
        "<w:r><w:instrText>PAGE</w:instrText></w:r></w:p>"
    )
    xml = f"{DECL}<w:document {W}><w:body>{body}</w:body></w:document>"
    assert extract("t.docx", docx([], document_xml=xml)).text == "Card\t4111123-45-6789"


def test_xlsx_shared_inline_strings_and_numbers():
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>inline text</t></is></c>'
        '<c r="B2"><v>4111111111111111</v></c><c r="C2" t="b"><v>1</v></c></row>'
    )
    result = extract("book.xlsx", xlsx(["Name", "Card"], rows))
    assert result.parts == [("book.xlsx:sheet1", "Name\tCard\ninline text\t4111111111111111")]
    assert result.file_type == "spreadsheet"


def test_pptx_slides_in_order_then_notes():
    slides = [f"slide text {n}" for n in range(1, 12)]
    result = extract("deck.pptx", pptx(slides, notes={2: "speaker notes"}))
    names = [name for name, _ in result.parts]
    assert names[:11] == [f"deck.pptx:slide {n}" for n in range(1, 12)]  # 10 after 9
    assert result.parts[-1] == ("deck.pptx:notes 2", "speaker notes")
    assert result.file_type == "presentation"


def test_pdf_pages():
    result = extract("scan.pdf", pdf([f"Card {CARD}", "Second page"]))
    assert result.status == "scanned"
    assert result.parts == [("scan.pdf:page 1", f"Card {CARD}"), ("scan.pdf:page 2", "Second page")]
    assert (result.mime, result.file_type) == ("application/pdf", "document")


def test_encrypted_pdf_not_scanned():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(["hidden"]))))
    writer.encrypt(user_password="secret", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    result = extract("locked.pdf", buffer.getvalue())
    assert result.status == "not scanned: encrypted"
    assert result.parts == []


def test_magic_bytes_win_over_the_name():
    assert extract("renamed.txt", pdf(["x"])).kind == "pdf"
    assert extract("report.bin", docx(["x"])).kind == "docx"
    assert extract("archive.docx", zip_bytes({"a.txt": b"x"})).kind == "zip"


def test_images_and_binaries_are_unsupported():
    png = extract("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    assert (png.status, png.file_type, png.mime) == (
        "not scanned: unsupported type",
        "image",
        "image/png",
    )
    blob = extract("blob", b"\x00\x01\x02binary")
    assert (blob.status, blob.file_type) == ("not scanned: unsupported type", "other")


def test_legacy_office_is_unsupported_but_typed():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    result = extract("old.xls", ole)
    assert (result.status, result.file_type) == ("not scanned: unsupported type", "spreadsheet")


def test_encrypted_office_file_is_an_ole_container():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    result = extract("protected.docx", ole)
    assert (result.status, result.file_type) == ("not scanned: encrypted", "document")


def test_binary_file_object_input():
    result = extract("notes.txt", io.BytesIO(b"from a stream"), limits=Limits())
    assert result.text == "from a stream"
    assert result.size == len(b"from a stream")


def test_pdf_with_only_an_owner_password_is_read():
    # Restrictions-only encryption (empty user password) opens in any viewer, so it is scanned.
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(["visible"]))))
    writer.encrypt(user_password="", owner_password="owner-only", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    result = extract("restricted.pdf", buffer.getvalue())
    assert result.status == "scanned"
    assert result.text == "visible"
