"""The header search bar: each app registers a provider that searches its own data.

A provider is `fn(request, query) -> list[SearchHit]`, called inside the tenant's scope; it
must ask the permission module before returning anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchHit:
    kind: str
    title: str
    subtitle: str
    url: str


Provider = Callable[[object, str], list[SearchHit]]
_providers: list[tuple[str, Provider]] = []


def register(kind: str):
    def decorator(fn: Provider) -> Provider:
        _providers.append((kind, fn))
        return fn

    return decorator


def search(request, query: str, limit_per_kind: int = 20) -> dict[str, list[SearchHit]]:
    # PostgreSQL text cannot hold NUL; a pasted one would turn a search into a 500.
    query = query.replace("\x00", "").strip()
    results: dict[str, list[SearchHit]] = {}
    if not query:
        return results
    for kind, provider in _providers:
        hits = provider(request, query)[:limit_per_kind]
        if hits:
            results[kind] = hits
    return results
