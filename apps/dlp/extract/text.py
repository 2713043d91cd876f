"""Plain text, CSV and JSON: decode (BOM, UTF-8, then cp1252) and keep the text."""

from __future__ import annotations

import codecs
import json

from .base import Budget

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> str:
    """Decode bytes as text: a byte-order mark wins, then strict UTF-8, then cp1252.

    cp1252 leaves five bytes undefined; they become U+FFFD rather than failing the file.
    """
    # UTF-32-LE's BOM starts with UTF-16-LE's, so the longer marks are tried first.
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def extract_text(path: str, data: bytes, budget: Budget) -> None:
    """Plain text and CSV: the decoded text is what a detector reads."""
    budget.add(path, decode(data))


def extract_json(path: str, data: bytes, budget: Budget) -> None:
    """JSON: keys and string/number values, one per line, without the syntax around them.

    A file that does not parse is still scanned, as plain text: a damaged JSON export can hold
    the same card numbers as a valid one.
    """
    text = decode(data)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        budget.add(path, text)
        return
    values: list[str] = []
    # An explicit stack, not recursion: deep nesting must not overflow the Python stack.
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in reversed(item.items()):
                stack.append(value)
                stack.append(key)
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, str):
            values.append(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            values.append(str(item))
    budget.add(path, "\n".join(values))
