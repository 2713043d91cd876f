"""The catalog's part B data file (`apps_b.jsonl`): business and consumer apps.

Checks the file as data: it loads through the real loader, every value is one the attribute
schema knows, it keeps to its own categories, it claims no domain of the vendors that part A
covers, and hosts match the apps by domain suffix.
"""

import json
from datetime import UTC, date, datetime

import pytest

from apps.discovery import catalog
from apps.discovery.catalog.attributes import BY_KEY, CATEGORIES
from apps.discovery.catalog.scoring import score

PART_B = catalog.DATA_DIR / "apps_b.jsonl"

CATEGORIES_B = {
    "accounting_and_finance",
    "advertising",
    "business_intelligence",
    "business_management",
    "consumer",
    "content_management",
    "content_sharing",
    "customer_support",
    "data_analytics",
    "ecommerce",
    "education",
    "forums",
    "health",
    "human_resource_management",
    "internet_of_things",
    "marketing",
    "media",
    "news_and_entertainment",
    "operations_management",
    "product_design",
    "property_management",
    "sales",
    "supply_chain_and_logistics",
    "time_tracking",
    "transportation_and_travel",
    "vendor_management_system",
    "web_analytics",
    "website_monitoring",
    "unclassified",
}

# Domains of the vendors whose apps live in part A: part B must never claim them.
VENDOR_A_SUFFIXES = (
    "google.com",
    "microsoft.com",
    "office.com",
    "live.com",
    "amazon.com",
    "amazonaws.com",
    "apple.com",
    "icloud.com",
    "facebook.com",
    "atlassian.com",
    "adobe.com",
    "oracle.com",
    "ibm.com",
    "sap.com",
    "salesforce.com",
    "zoho.com",
)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return [line for line in PART_B.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def part_b(lines) -> list[catalog.CatalogApp]:
    return [catalog._load_line(line, f"apps_b.jsonl:{n}") for n, line in enumerate(lines, 1)]


@pytest.fixture(scope="module")
def loaded():
    """The whole catalog, read afresh from disk (the loader caches per process)."""
    catalog.apps.cache_clear()
    catalog.domain_index.cache_clear()
    yield catalog.apps(), catalog.domain_index()
    catalog.apps.cache_clear()
    catalog.domain_index.cache_clear()


def test_file_has_enough_apps_one_object_per_line_sorted_by_slug(lines, part_b):
    assert len(part_b) >= 270
    slugs = [app.slug for app in part_b]
    assert slugs == sorted(slugs)
    assert len(set(slugs)) == len(slugs)
    for line in lines:
        assert isinstance(json.loads(line), dict)


def test_every_app_loads_in_the_whole_catalog(part_b, loaded):
    apps, index = loaded
    for app in part_b:
        assert apps[app.slug] == app
        for domain in app.domains:
            assert index[domain] == app.slug


def test_categories_are_part_b_ones(part_b):
    assert set(CATEGORIES) >= CATEGORIES_B
    assert {app.category for app in part_b} <= CATEGORIES_B
    # Every category of part B has apps except possibly "unclassified".
    assert CATEGORIES_B - {app.category for app in part_b} <= {"unclassified"}


def test_no_domain_of_a_part_a_vendor(part_b):
    for app in part_b:
        for domain in app.domains:
            assert domain == domain.strip().lower() and "/" not in domain and "." in domain
            assert not any(
                domain == suffix or domain.endswith("." + suffix) for suffix in VENDOR_A_SUFFIXES
            ), (app.slug, domain)


def test_every_app_has_the_basic_facts(part_b):
    for app in part_b:
        assert app.name and app.vendor and app.description, app.slug
        assert app.homepage.startswith("https://"), app.slug
        # The issue asks for a headquarters on every app: an app whose country is unknown is
        # left out of the catalog rather than shipped without one.
        hq = app.attributes.get("headquarters", "")
        assert len(hq) == 2 and hq.isalpha() and hq.isupper(), app.slug


def test_attribute_values_fit_their_kind(part_b):
    today = datetime.now(UTC).date()
    for app in part_b:
        for key, value in app.attributes.items():
            attribute = BY_KEY[key]
            where = (app.slug, key, value)
            if attribute.kind == "bool":
                assert isinstance(value, bool), where
            elif attribute.kind == "choice":
                assert value in attribute.scores, where
            elif attribute.kind == "year":
                assert isinstance(value, int) and 1800 <= value <= today.year, where
            elif attribute.kind == "date":
                assert date.fromisoformat(value) <= today, where
            elif attribute.kind == "level":
                assert isinstance(value, int) and 0 <= value <= 10, where
        # Every app scores: at least one scored attribute is known.
        assert score(app.attributes).total is not None, app.slug


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("go.xero.com", ("xero", "xero.com")),
        ("my-store.myshopify.com", ("shopify", "myshopify.com")),
        ("ipv4-c001-fra001.1.oca.nflxvideo.net", ("netflix", "nflxvideo.net")),
        ("js.hs-scripts.com", ("hubspot", "hs-scripts.com")),
        ("acme.zendesk.com", ("zendesk", "zendesk.com")),
        ("wd3.myworkday.com", ("workday", "myworkday.com")),
        ("old.reddit.com", ("reddit", "reddit.com")),
        ("www.bbc.co.uk", ("bbc", "bbc.co.uk")),
        ("qbo.intuit.com", ("quickbooks-online", "qbo.intuit.com")),
        ("nothing-here.example.co.uk", ("", "example.co.uk")),
    ],
)
def test_matcher_finds_part_b_apps_by_domain_suffix(loaded, host, expected):
    assert catalog.Matcher().match(host) == expected
