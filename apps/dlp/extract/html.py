"""HTML: the text a reader sees, without scripts and styles (stdlib html.parser)."""

from __future__ import annotations

from html.parser import HTMLParser

from .base import Budget
from .text import decode

_HIDDEN = frozenset({"script", "style", "template", "noscript"})
# Elements after which text continues on a new line, so words of two cells do not run together.
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
)


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.chunks.append(data)


def extract_html(path: str, data: bytes, budget: Budget) -> None:
    """Text content of an HTML page (html.parser never fails on malformed markup)."""
    parser = _TextParser()
    parser.feed(decode(data))
    parser.close()
    lines = (line.strip() for line in "".join(parser.chunks).splitlines())
    budget.add(path, "\n".join(line for line in lines if line))
