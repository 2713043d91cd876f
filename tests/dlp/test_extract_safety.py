"""Hostile and broken input: clear "not scanned" reasons, never an exception, nothing on disk."""

from __future__ import annotations

import io
import os
import random
import tempfile

import pytest

from apps.dlp.extract import Limits, extract
from tests.dlp.extract_builders import DECL, W, docx, pdf, pptx, xlsx, zip_bytes

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    f"<w:document {W}><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f"<w:document {W}><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"
)


def test_default_limits_are_50_mb_and_one_million_characters():
    limits = Limits()
    assert limits.max_bytes == 50 * 1024 * 1024
    assert limits.max_chars == 1_000_000
    assert limits.max_depth == 3


def test_file_over_the_byte_limit_is_too_large():
    result = extract("big.txt", b"x" * 1001, limits=Limits(max_bytes=1000))
    assert result.status == "not scanned: too large"
    assert (result.size, result.parts, result.file_type) == (1001, [], "text")


def test_file_at_the_byte_limit_is_scanned():
    assert extract("ok.txt", b"x" * 1000, limits=Limits(max_bytes=1000, max_chars=1000)).scanned


def test_too_many_characters_is_too_large():
    result = extract("long.txt", b"y" * 1001, limits=Limits(max_chars=1000))
    assert result.status == "not scanned: too large"
    assert result.parts == []


def test_character_limit_applies_to_extracted_text_not_bytes():
    # A small docx whose text passes the limit: counted on what comes out.
    result = extract("long.docx", docx(["z" * 800, "z" * 800]), limits=Limits(max_chars=1000))
    assert result.status == "not scanned: too large"


class _SizedStream(io.RawIOBase):
    """A seekable stream that claims a huge size and fails if anyone reads it."""

    def seekable(self):
        return True

    def tell(self):
        return 0

    def seek(self, offset, whence=0):
        return 60 * 1024 * 1024 if whence == 2 else 0

    def read(self, size=-1):
        raise AssertionError("a too-large stream must be refused before it is read")


def test_large_stream_is_refused_before_reading():
    result = extract("huge.pdf", _SizedStream())
    assert result.status == "not scanned: too large"
    assert (result.size, result.file_type) == (60 * 1024 * 1024, "document")


def test_unseekable_stream_is_read_only_up_to_the_limit():
    class Unseekable(io.BytesIO):
        def seekable(self):
            return False

    stream = Unseekable(b"q" * 5000)
    result = extract("s.txt", stream, limits=Limits(max_bytes=1000))
    assert result.status == "not scanned: too large"


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_docx_with_entity_declarations_is_refused(xml):
    result = extract("evil.docx", docx([], document_xml=xml))
    assert result.status == "not scanned: unreadable: XML with a DOCTYPE or entity declaration"
    assert "root:" not in result.text


def test_xlsx_with_doctype_is_refused():
    data = zip_bytes(
        {
            "xl/workbook.xml": f"{DECL}<workbook/>",
            "xl/sharedStrings.xml": '<?xml version="1.0"?><!DOCTYPE sst><sst/>',
        }
    )
    assert extract("e.xlsx", data).reason.startswith("unreadable: XML with a DOCTYPE")


def test_malformed_xml_names_the_part():
    data = zip_bytes({"ppt/presentation.xml": "<p/>", "ppt/slides/slide1.xml": "<p:sld><a:t>"})
    result = extract("bad.pptx", data)
    assert result.status == "not scanned: unreadable: malformed XML in ppt/slides/slide1.xml"


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("cut.zip", _truncated(zip_bytes({"a.txt": b"hello" * 100})), "unreadable: damaged zip"),
        ("cut.docx", _truncated(docx(["text"] * 50)), "unreadable: damaged zip"),
        ("cut.xlsx", _truncated(xlsx(["a"], "<row/>")), "unreadable: damaged zip"),
        ("cut.pptx", _truncated(pptx(["slide"] * 5)), "unreadable: damaged zip"),
        ("noise.docx", random.Random(1).randbytes(4096), "unreadable: damaged zip"),
        ("noise.pdf", random.Random(2).randbytes(4096), "unreadable: damaged PDF"),
        ("cut.pdf", pdf(["abc"])[:60], "unreadable: damaged PDF"),
        ("empty.pdf", b"", "unreadable: damaged PDF"),
    ],
)
def test_malformed_files_get_a_clear_reason(name, data, reason):
    result = extract(name, data)
    assert not result.scanned
    assert result.reason.startswith(reason)
    assert result.status.startswith("not scanned: ")
    assert result.parts == []


def test_damaged_member_fails_the_whole_archive():
    archive = zip_bytes({"good.txt": b"fine", "bad.pdf": b"%PDF-1.4 garbage"})
    result = extract("mixed.zip", archive)
    assert result.status == "not scanned: unreadable: damaged PDF"
    assert result.parts == []  # a partial scan is never reported as a clean one


def test_corrupted_member_data_is_reported_not_raised():
    data = bytearray(zip_bytes({"a.txt": b"hello world " * 200}))
    start = data.index(b"PK\x03\x04") + 30 + len("a.txt")
    data[start : start + 40] = b"\xff" * 40  # break the deflate stream, keep the directory
    result = extract("corrupt.zip", bytes(data))
    assert result.status == "not scanned: unreadable: damaged zip archive"


def test_random_bytes_of_any_name_never_raise():
    rng = random.Random(7)
    for name in ["a.txt", "a.json", "a.html", "a.docx", "a.xlsx", "a.pptx", "a.pdf", "a.zip", "a"]:
        for size in (0, 1, 100, 5000):
            result = extract(name, rng.randbytes(size))
            assert result.status == "scanned" or result.status.startswith("not scanned: ")


def test_nothing_is_written_to_disk(tmp_path, monkeypatch):
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.chdir(tmp_path)
    nested = zip_bytes(
        {
            "a.docx": docx(["4111 1111 1111 1111"], header="h"),
            "b.pdf": pdf(["123-45-6789"]),
            "c.pptx": pptx(["s"], {1: "n"}),
            "d.xlsx": xlsx(["v"], '<row><c t="s"><v>0</v></c></row>'),
            "e.zip": zip_bytes({"f.html": b"<p>GB82WEST12345698765432</p>"}),
        }
    )
    result = extract("all.zip", nested)
    assert result.status == "scanned"
    assert "4111 1111 1111 1111" in result.text and "GB82WEST12345698765432" in result.text
    assert os.listdir(spool) == []
    assert sorted(os.listdir(tmp_path)) == ["tmp"]


def test_an_unexpected_error_is_an_outcome_not_an_exception(monkeypatch):
    import apps.dlp.extract as extract_module

    def broken(path, data, budget):
        raise KeyError("library surprise")

    monkeypatch.setitem(extract_module._LEAF, "text", broken)
    result = extract("a.txt", b"hello")
    assert result.status == "not scanned: unreadable: text (KeyError)"
