"""The cloud app catalog shipped with the project, and matching hosts to apps.

The catalog is data (`data/*.jsonl`, one app per line), loaded once per process and read from
memory: it is the same for every tenant and every geo, so it lives in no database. A tenant adds
its own apps (`CustomApp`) and its own scores (`AppOverride`) in its database.

One catalog line:

    {"slug": "dropbox", "name": "Dropbox", "category": "cloud_storage",
     "domains": ["dropbox.com", "dropboxapi.com"], "vendor": "Dropbox, Inc.",
     "homepage": "https://www.dropbox.com", "description": "...",
     "attributes": {"headquarters": "US", "founded": 2007, "soc2": true, ...}}

Attributes are those of `attributes.py`; an absent attribute is not known (N/A).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import tldextract

from .attributes import BY_KEY, CATEGORIES

DATA_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True)
class CatalogApp:
    slug: str
    name: str
    category: str
    domains: tuple[str, ...]
    vendor: str = ""
    homepage: str = ""
    description: str = ""
    attributes: dict = field(default_factory=dict, hash=False, compare=False)
    custom: bool = False

    @property
    def category_label(self) -> str:
        return CATEGORIES.get(self.category, self.category)


class CatalogError(ValueError):
    """A catalog line that breaks the format (raised when loading, caught by a test)."""


def _load_line(raw: str, where: str) -> CatalogApp:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{where}: not JSON ({exc.msg})") from None
    for key in ("slug", "name", "category", "domains"):
        if not data.get(key):
            raise CatalogError(f"{where}: {key} is missing")
    if data["category"] not in CATEGORIES:
        raise CatalogError(f"{where}: unknown category {data['category']!r}")
    unknown = set(data.get("attributes", {})) - set(BY_KEY)
    if unknown:
        raise CatalogError(f"{where}: unknown attributes {sorted(unknown)}")
    return CatalogApp(
        slug=data["slug"],
        name=data["name"],
        category=data["category"],
        domains=tuple(d.lower() for d in data["domains"]),
        vendor=data.get("vendor", ""),
        homepage=data.get("homepage", ""),
        description=data.get("description", ""),
        attributes=dict(data.get("attributes", {})),
    )


@cache
def apps() -> dict[str, CatalogApp]:
    """Every catalog app by slug."""
    found: dict[str, CatalogApp] = {}
    for path in sorted(DATA_DIR.glob("*.jsonl")):
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            app = _load_line(raw, f"{path.name}:{number}")
            if app.slug in found:
                raise CatalogError(f"{path.name}:{number}: slug {app.slug!r} appears twice")
            found[app.slug] = app
    return found


@cache
def domain_index() -> dict[str, str]:
    """domain -> slug of the catalog (a domain claimed twice raises: the data is wrong)."""
    index: dict[str, str] = {}
    for app in apps().values():
        for domain in app.domains:
            other = index.get(domain)
            if other is not None and other != app.slug:
                raise CatalogError(f"domain {domain!r} is claimed by {other} and {app.slug}")
            index[domain] = app.slug
    return index


_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registered_domain(host: str) -> str:
    """The registrable domain of `host` ("a.b.example.co.uk" -> "example.co.uk"); an IP or a
    name with no public suffix is returned as it is."""
    parts = _extract(host)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    return host


class Matcher:
    """Host -> (app key, domain) by domain suffix, with the tenant's custom apps first.

    `match("eu.files.dropbox.com")` -> ("dropbox", "dropbox.com"); a host nobody claims ->
    ("", "<registrable domain>"): kept as unrecognised, not dropped. Results are cached per
    host; one matcher serves one upload.
    """

    def __init__(self, custom_domains: dict[str, str] | None = None) -> None:
        self.index = {**domain_index(), **(custom_domains or {})}
        self.cache: dict[str, tuple[str, str]] = {}

    def match(self, host: str) -> tuple[str, str]:
        found = self.cache.get(host)
        if found is not None:
            return found
        index = self.index
        candidate = host
        result = None
        while candidate:
            slug = index.get(candidate)
            if slug is not None:
                result = (slug, candidate)
                break
            dot = candidate.find(".")
            if dot < 0:
                break
            candidate = candidate[dot + 1 :]
        if result is None:
            result = ("", registered_domain(host) if host else "")
        self.cache[host] = result
        return result
