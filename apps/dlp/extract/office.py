"""docx, xlsx and pptx: zip files of XML parts, read with zipfile and expat.

XML is parsed with expat directly and any DOCTYPE or ENTITY declaration is refused, which
rules out entity-expansion bombs and external entities (no DTD is ever processed).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from xml.parsers import expat

from .base import Budget, NotScanned
from .ziputil import iter_member, open_zip

_XML_REFUSED = "unreadable: XML with a DOCTYPE or entity declaration"


def _refuse(*_args: object) -> None:
    raise NotScanned(_XML_REFUSED)


class _Collector:
    """Receives expat events with local element names (namespaces stripped)."""

    def start(self, name: str, attrs: dict[str, str]) -> None: ...
    def end(self, name: str) -> None: ...
    def data(self, text: str) -> None: ...


def _parse(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, sink: _Collector
) -> None:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = lambda name, attrs: sink.start(name.rpartition("}")[2], attrs)
    parser.EndElementHandler = lambda name: sink.end(name.rpartition("}")[2])
    parser.CharacterDataHandler = sink.data
    parser.buffer_text = True
    try:
        for chunk in iter_member(archive, info, budget):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise NotScanned(f"unreadable: malformed XML in {info.filename}") from exc


# Text runs: w:t in Word, a:t in DrawingML, and w:delText, because text deleted with tracked
# changes on is still inside the file and leaves with it.
_RUN_TEXT = frozenset({"t", "delText"})


class _Runs(_Collector):
    """Text of runs, with paragraph and tab breaks."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.inside = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name in _RUN_TEXT:
            self.inside += 1
        elif name in ("tab", "br"):
            self.chunks.append("\t" if name == "tab" else "\n")

    def end(self, name: str) -> None:
        if name in _RUN_TEXT:
            self.inside -= 1
        elif name == "p":
            self.chunks.append("\n")

    def data(self, text: str) -> None:
        if self.inside:
            self.chunks.append(text)

    @property
    def text(self) -> str:
        return "".join(self.chunks).strip()


def _natural(name: str) -> tuple[int, str]:
    """slide10 after slide9: order parts by the number in their name."""
    digits = re.findall(r"\d+", name.rpartition("/")[2])
    return (int(digits[-1]) if digits else 0, name)


def _members(archive: zipfile.ZipFile, pattern: str) -> list[zipfile.ZipInfo]:
    regex = re.compile(pattern)
    found = [info for info in archive.infolist() if regex.fullmatch(info.filename)]
    return sorted(found, key=lambda info: _natural(info.filename))


def _runs_of(
    path: str, archive: zipfile.ZipFile, budget: Budget, pattern: str, label: Callable[[str], str]
) -> None:
    for info in _members(archive, pattern):
        runs = _Runs()
        _parse(archive, info, budget, runs)
        budget.add(f"{path}:{label(info.filename)}", runs.text)


def _stem(filename: str) -> str:
    return filename.rpartition("/")[2].removesuffix(".xml")


def extract_docx(path: str, data: bytes, budget: Budget) -> None:
    """Body, then headers, footers, footnotes, endnotes and comments."""
    archive = open_zip(data, budget)
    _runs_of(path, archive, budget, r"word/document\.xml", lambda _name: "body")
    pattern = r"word/(header|footer)\d*\.xml|word/(footnotes|endnotes|comments)\.xml"
    _runs_of(path, archive, budget, pattern, _stem)


def extract_pptx(path: str, data: bytes, budget: Budget) -> None:
    """Each slide's text, then each slide's speaker notes."""
    archive = open_zip(data, budget)
    _runs_of(
        path, archive, budget, r"ppt/slides/slide\d+\.xml", lambda n: f"slide {_natural(n)[0]}"
    )
    _runs_of(
        path,
        archive,
        budget,
        r"ppt/notesSlides/notesSlide\d+\.xml",
        lambda n: f"notes {_natural(n)[0]}",
    )


class _SharedStrings(_Collector):
    def __init__(self) -> None:
        self.strings: list[str] = []
        self.current: list[str] | None = None
        self.in_t = 0
        self.phonetic = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "si":
            self.current = []
        elif name == "t":
            self.in_t += 1
        elif name == "rPh":  # phonetic guide text repeats the cell for East Asian scripts
            self.phonetic += 1

    def end(self, name: str) -> None:
        if name == "si" and self.current is not None:
            self.strings.append("".join(self.current))
            self.current = None
        elif name == "t":
            self.in_t -= 1
        elif name == "rPh":
            self.phonetic -= 1

    def data(self, text: str) -> None:
        if self.in_t and not self.phonetic and self.current is not None:
            self.current.append(text)


class _Sheet(_Collector):
    """Cell values row by row: shared strings resolved, inline strings and numbers kept."""

    def __init__(self, shared: list[str]) -> None:
        self.shared = shared
        self.rows: list[str] = []
        self.row: list[str] = []
        self.cell_type = ""
        self.value: list[str] | None = None
        self.in_inline_t = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "row":
            self.row = []
        elif name == "c":
            self.cell_type = attrs.get("t", "n")
        elif name == "v" or name == "is":
            self.value = []
        elif name == "t" and self.value is not None:
            self.in_inline_t += 1

    def end(self, name: str) -> None:
        if name == "v" and self.value is not None:
            raw = "".join(self.value).strip()
            if self.cell_type == "s":
                if raw.isdigit() and int(raw) < len(self.shared):
                    self.row.append(self.shared[int(raw)])
            elif self.cell_type != "b" and raw:  # booleans hold 0/1, not data
                self.row.append(raw)
            self.value = None
        elif name == "is" and self.value is not None:
            self.row.append("".join(self.value))
            self.value = None
        elif name == "t" and self.in_inline_t:
            self.in_inline_t -= 1
        elif name == "row":
            self.rows.append("\t".join(cell for cell in self.row if cell))

    def data(self, text: str) -> None:
        # Inside <is> only the <t> runs count; inside <v> everything does.
        if self.value is not None and (self.cell_type != "inlineStr" or self.in_inline_t):
            self.value.append(text)


def extract_xlsx(path: str, data: bytes, budget: Budget) -> None:
    """Every worksheet's cells: shared strings, inline strings and numbers."""
    archive = open_zip(data, budget)
    strings = _SharedStrings()
    for info in _members(archive, r"xl/sharedStrings\.xml"):
        _parse(archive, info, budget, strings)
    for info in _members(archive, r"xl/worksheets/sheet\d+\.xml"):
        sheet = _Sheet(strings.strings)
        _parse(archive, info, budget, sheet)
        text = "\n".join(row for row in sheet.rows if row)
        budget.add(f"{path}:{_stem(info.filename)}", text)
