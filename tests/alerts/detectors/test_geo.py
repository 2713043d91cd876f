"""The country data behind impossible travel: checked by hand against known distances."""

from __future__ import annotations

import pytest

from apps.activities.enrichment import geo_of
from apps.alerts.detectors import geo

from .kit import IPS


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        # Great-circle figures between the main cities, for scale: the reference points are
        # population-weighted country means, so they land near but not on them.
        ("FR", "AU", 15500, 17500),  # Paris - Sydney 16,960 km
        ("US", "GB", 6000, 7500),  # New York - London 5,570 km; the US mean is in Missouri
        ("GB", "FR", 300, 900),  # London - Paris 344 km
        ("JP", "BR", 17000, 19000),  # Tokyo - Sao Paulo 18,540 km
        ("DE", "US", 6800, 8200),  # Berlin - Kansas City 7,700 km
    ],
)
def test_distances_are_in_the_range_of_the_real_ones(a, b, low, high):
    assert low <= geo.distance_km(a, b) <= high
    assert geo.distance_km(a, b) == geo.distance_km(b, a)


def test_land_borders_are_symmetric_and_exclude_sea_crossings():
    assert geo.bordering("FR", "ES") and geo.bordering("ES", "FR")
    assert geo.bordering("US", "CA") and geo.bordering("GB", "IE")
    assert not geo.bordering("GB", "FR")  # the Channel is not a land border
    assert not geo.bordering("FR", "FR")
    assert not geo.bordering("AU", "NZ")


def test_unknown_codes_have_no_distance():
    assert geo.distance_km("FR", "ZZ") is None
    assert not geo.known("") and geo.known("FR")


def test_names():
    assert geo.name("FR") == "France"
    assert geo.name("ZZ") == "ZZ"


def test_the_test_addresses_geolocate_where_the_tests_say():
    for country, ip in IPS.items():
        assert geo_of(ip).country == country, ip
