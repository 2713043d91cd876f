"""Countries for the location detections: reference points, land borders, distances, names.

The data file `apps/alerts/data/countries.csv` (built from GeoNames, see its header and
`build_countries.py`) gives each ISO 3166-1 alpha-2 code a reference point (the population-
weighted mean of its populated places) and its land neighbours. Everything here is read once per
process and answered from memory: the detections call it for every change of country.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pycountry

DATA = Path(__file__).resolve().parent.parent / "data" / "countries.csv"
EARTH_RADIUS_KM = 6371.0


@functools.lru_cache(maxsize=1)
def _table() -> tuple[dict[str, tuple[float, float]], dict[str, frozenset[str]]]:
    points: dict[str, tuple[float, float]] = {}
    neighbours: dict[str, set[str]] = {}
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, lat, lon, near = line.split(",", 3)
        points[code] = (math.radians(float(lat)), math.radians(float(lon)))
        for other in near.split():
            # GeoNames lists most borders on both sides; make every one symmetric anyway.
            neighbours.setdefault(code, set()).add(other)
            neighbours.setdefault(other, set()).add(code)
    return points, {code: frozenset(near) for code, near in neighbours.items()}


def known(code: str) -> bool:
    return code in _table()[0]


def bordering(a: str, b: str) -> bool:
    """True when `a` and `b` share a land border (False for the same country)."""
    return b in _table()[1].get(a, ())


@functools.lru_cache(maxsize=8192)
def distance_km(a: str, b: str) -> float | None:
    """Great-circle distance between the reference points of two countries; None if unknown."""
    points = _table()[0]
    if a not in points or b not in points:
        return None
    (lat1, lon1), (lat2, lon2) = points[a], points[b]
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@functools.lru_cache(maxsize=512)
def name(code: str) -> str:
    """The country's common name ("France"), or the code itself when unknown."""
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name
