"""Discovery log parsers, one small module per vendor format, registered by key.

Every module of this package that defines a `Parser` subclass with a `key` is a format; the
registry finds them itself, so adding a format is adding a module. See `base.py` for the
contract. The custom parser (`custom.py`) is configured by a tenant's `CustomParser` row.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .base import BadLine, Parser, Record

__all__ = ["BadLine", "Parser", "Record", "format_choices", "formats", "make_parser"]

CUSTOM = "custom"


@cache
def formats() -> dict[str, type[Parser]]:
    """Every registered format: key -> parser class."""
    found: dict[str, type[Parser]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Parser)
                and value.key
                and value.__module__ == module.__name__
            ):
                if value.key in found:
                    raise RuntimeError(f"two parsers claim the format key {value.key!r}")
                found[value.key] = value
    return found


def format_choices(*, with_custom: bool = True) -> list[tuple[str, str]]:
    """(key, label) of every format, by label; the custom parser last."""
    choices = sorted(
        ((key, cls.label) for key, cls in formats().items() if key != CUSTOM),
        key=lambda item: item[1].lower(),
    )
    if with_custom and CUSTOM in formats():
        choices.append((CUSTOM, formats()[CUSTOM].label))
    return choices


def make_parser(key: str, custom=None) -> Parser:
    """A fresh parser for one file. `custom` is the tenant's CustomParser row for "custom"."""
    try:
        cls = formats()[key]
    except KeyError:
        raise ValueError(f"unknown log format {key!r}") from None
    if key == CUSTOM:
        if custom is None:
            raise ValueError("the custom format needs a custom parser definition")
        return cls(options={"definition": custom})
    return cls()
