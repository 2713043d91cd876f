"""Which format a file is (magic bytes first, the name second) and its Appendix C file type."""

from __future__ import annotations

import io
import zipfile

# Appendix C of the product spec: MIME type -> file type (Text: text/*, Image: image/*).
_DOCUMENT = frozenset(
    m.lower()
    for m in [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-word.document.macroEnabled.12",
        "application/msword",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.stardivision.writer",
        "application/vnd.stardivision.writer-global",
        "application/vnd.sun.xml.writer",
        "application/vnd.stardivision.math",
        "application/vnd.stardivision.chart",
        "application/x-starwriter",
        "application/x-stardraw",
        "application/x-starmath",
        "application/x-starchart",
        "application/vnd.google-apps.document",
        "application/vnd.google-apps.kix",
        "application/pdf",
        "application/x-pdf",
        "application/vnd.box.webdoc",
        "application/vnd.box.boxnote",
        "application/vnd.jive.document",
        "text/rtf",
        "application/rtf",
    ]
)
_PRESENTATION = frozenset(
    m.lower()
    for m in [
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.ms-powerpoint.template.macroEnabled.12",
        "application/mspowerpoint",
        "application/powerpoint",
        "application/vnd.ms-powerpoint",
        "application/x-mspowerpoint",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.sun.xml.impress",
        "application/vnd.stardivision.impress",
        "application/x-starimpress",
        "application/vnd.google-apps.presentation",
    ]
)
_SPREADSHEET = frozenset(
    m.lower()
    for m in [
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel.sheet.macroEnabled.12",
        "application/excel",
        "application/vnd.ms-excel",
        "application/x-excel",
        "application/x-msexcel",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.sun.xml.calc",
        "application/vnd.stardivision.calc",
        "application/x-starcalc",
        "application/vnd.google-apps.spreadsheet",
    ]
)
_IMAGE = frozenset(
    {"application/vnd.oasis.opendocument.image", "application/vnd.google-apps.photo"}
)


def file_type_for_mime(mime: str) -> str:
    """Appendix C: document/spreadsheet/presentation/text/image/other."""
    mime = mime.lower().split(";")[0].strip()
    if mime in _DOCUMENT:
        return "document"
    if mime in _SPREADSHEET:
        return "spreadsheet"
    if mime in _PRESENTATION:
        return "presentation"
    if mime.startswith("text/"):
        return "text"
    if mime.startswith("image/") or mime in _IMAGE:
        return "image"
    return "other"


# kind -> MIME type. Kinds we extract text from, and kinds we only recognise.
MIME = {
    "text": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "html": "text/html",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "rtf": "application/rtf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "binary": "application/octet-stream",
}

_BY_EXTENSION = {
    "txt": "text",
    "text": "text",
    "log": "text",
    "md": "text",
    "xml": "text",
    "tsv": "text",
    "csv": "csv",
    "json": "json",
    "html": "html",
    "htm": "html",
    "xhtml": "html",
    "docx": "docx",
    "docm": "docx",
    "xlsx": "xlsx",
    "xlsm": "xlsx",
    "pptx": "pptx",
    "pptm": "pptx",
    "pdf": "pdf",
    "zip": "zip",
    "doc": "doc",
    "xls": "xls",
    "ppt": "ppt",
    "odt": "odt",
    "ods": "ods",
    "odp": "odp",
    "rtf": "rtf",
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "gif": "gif",
    "webp": "webp",
    "tif": "tiff",
    "tiff": "tiff",
    "bmp": "bmp",
}
_OOXML = {"docx", "xlsx", "pptx"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_OTHER_BINARY = (b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"\x7fELF", b"MZ")
_UNICODE_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def extension(name: str) -> str:
    """The lower-case extension of the last path segment ("" when there is none)."""
    base = name.replace("\\", "/").rpartition("/")[2]
    return base.rpartition(".")[2].lower() if "." in base else ""


def _zip_kind(data: bytes, by_name: str | None) -> str:
    """docx/xlsx/pptx by the parts inside; a zip that will not open keeps its name's kind."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except Exception:  # damaged: the extractor reports it; the name may say which format
        return by_name if by_name in _OOXML else "zip"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "mimetype" in names and by_name in {"odt", "ods", "odp"}:
        return by_name
    return "zip"


def detect(name: str, data: bytes) -> tuple[str, bool]:
    """(kind, encrypted): the format by magic bytes, then by name, then by sniffing text.

    Encrypted Office files are OLE containers rather than zips, so an OLE file named like an
    OOXML document is reported as encrypted instead of as a legacy binary format.
    """
    by_name = _BY_EXTENSION.get(extension(name))
    head = data[:1024]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(data, by_name), False
    if b"%PDF-" in head:
        return "pdf", False
    if head.startswith(_OLE):
        if by_name in _OOXML:
            return by_name, True
        return (by_name if by_name in {"doc", "xls", "ppt"} else "binary"), False
    for magic, kind in _IMAGES:
        if head.startswith(magic):
            return kind, False
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp", False
    if head.startswith(b"{\\rtf"):
        return "rtf", False
    if head.startswith(_OTHER_BINARY):
        return "binary", False
    if by_name:
        return by_name, False
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html", False
    if head.startswith(_UNICODE_BOMS) or b"\x00" not in data[:8192]:
        return "text", False
    return "binary", False
