"""Zip archives: nested members, depth, member count, uncompressed size and bomb limits."""

from __future__ import annotations

import zipfile

from apps.dlp.extract import Limits, extract
from tests.dlp.extract_builders import docx, pdf, zip_bytes


def _nest(levels: int, text: bytes = b"innermost 123-45-6789") -> bytes:
    """`levels` zips, each inside the next, with a text file at the bottom."""
    data = zip_bytes({"secret.txt": text})
    for level in range(1, levels):
        data = zip_bytes({f"level{level}.zip": data})
    return data


def test_members_say_where_they_came_from():
    archive = zip_bytes(
        {
            "readme.txt": b"top level",
            "docs/report.docx": docx(["Quarterly"]),
            "docs/scan.pdf": pdf(["Scanned page"]),
            "docs/": b"",
            "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00",  # no text: skipped, not a failure
        }
    )
    result = extract("bundle.zip", archive)
    assert result.status == "scanned"
    assert (result.kind, result.mime, result.file_type) == ("zip", "application/zip", "other")
    assert dict(result.parts) == {
        "bundle.zip/readme.txt": "top level",
        "bundle.zip/docs/report.docx:body": "Quarterly",
        "bundle.zip/docs/scan.pdf:page 1": "Scanned page",
    }


def test_nested_archives_up_to_depth_three():
    result = extract("outer.zip", _nest(4))  # outer + 3 nested levels
    assert result.status == "scanned"
    assert result.parts == [
        ("outer.zip/level3.zip/level2.zip/level1.zip/secret.txt", "innermost 123-45-6789")
    ]


def test_nesting_deeper_than_the_limit_is_not_scanned():
    result = extract("outer.zip", _nest(5))
    assert result.status == "not scanned: too deeply nested"
    assert result.parts == []


def test_depth_limit_is_configurable():
    assert extract("o.zip", _nest(2), limits=Limits(max_depth=0)).reason == "too deeply nested"
    assert extract("o.zip", _nest(1), limits=Limits(max_depth=0)).scanned


def test_compression_bomb_is_refused_before_inflating():
    bomb = zip_bytes({"zeros.txt": b"\x00" * (4 * 1024 * 1024)})
    assert len(bomb) < 10_000
    result = extract("bomb.zip", bomb)
    assert result.status == "not scanned: too large: compression bomb"


def test_nested_bomb_is_refused_too():
    inner = zip_bytes({"zeros.txt": b"0" * (4 * 1024 * 1024)})
    outer = zip_bytes({"inner.zip": inner}, compression=zipfile.ZIP_STORED)
    assert extract("outer.zip", outer).status == "not scanned: too large: compression bomb"


def test_compressible_text_below_the_floor_is_fine():
    # 500 KB of repeated text compresses far past 100x but is under the 1 MB bomb floor.
    archive = zip_bytes({"log.txt": b"a" * 500_000})
    assert extract("logs.zip", archive, limits=Limits(max_chars=600_000)).scanned


def test_total_uncompressed_size_is_bounded_across_members():
    archive = zip_bytes({f"f{n}.txt": bytes(range(256)) * 40 for n in range(10)})  # 10 x 10 KB
    limits = Limits(max_uncompressed=50_000)
    assert extract("many.zip", archive, limits=limits).status == "not scanned: too large"
    assert extract("many.zip", archive, limits=Limits(max_uncompressed=200_000)).scanned


def test_member_count_is_bounded():
    archive = zip_bytes({f"f{n}.txt": b"x" for n in range(20)})
    result = extract("many.zip", archive, limits=Limits(max_members=10))
    assert result.status == "not scanned: too large"


def test_encrypted_member_is_not_scanned():
    data = bytearray(zip_bytes({"a.txt": b"secret"}, compression=zipfile.ZIP_STORED))
    # Set the "encrypted" flag bit in the local and central headers (the stdlib cannot write
    # encrypted zips); the extractor must refuse before trying to read the member.
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flag_offset
        data[at] |= 0x01
    result = extract("locked.zip", bytes(data))
    assert result.status == "not scanned: encrypted"


def test_character_limit_counts_all_members_together():
    archive = zip_bytes({"a.txt": b"a" * 600, "b.txt": b"b" * 600})
    assert extract("two.zip", archive, limits=Limits(max_chars=1000)).reason == "too large"
    assert extract("two.zip", archive, limits=Limits(max_chars=1200)).scanned


def test_member_names_are_never_paths_on_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    archive = zip_bytes({"../../escape.txt": b"x", "/abs/evil.txt": b"y"})
    result = extract("evil.zip", archive)
    assert dict(result.parts) == {"evil.zip/../../escape.txt": "x", "evil.zip//abs/evil.txt": "y"}
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent.parent / "escape.txt").exists()
