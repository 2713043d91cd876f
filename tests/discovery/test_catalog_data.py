"""The cloud app catalog shipped as data (`apps/discovery/catalog/data/*.jsonl`).

Checks the data itself (format, categories, domains, attribute values), that hosts resolve to
the most specific app, and that the risk score behaves sensibly on real catalog records. No
database: the catalog lives in memory.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from apps.discovery import catalog
from apps.discovery.catalog import DATA_DIR, Matcher
from apps.discovery.catalog.attributes import BY_KEY, CATEGORIES, SCORED
from apps.discovery.catalog.scoring import Weights, score

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# A bare lower-case host name: labels of letters, digits and inner hyphens, no scheme, port or path.
DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]")
COUNTRY = re.compile(r"[A-Z]{2}")


@pytest.fixture(scope="module")
def apps():
    """Every catalog app, loaded afresh from all data files (the loader raises on bad data)."""
    catalog.apps.cache_clear()
    catalog.domain_index.cache_clear()
    loaded = catalog.apps()
    catalog.domain_index()  # raises when two apps claim one domain
    return loaded


def test_all_data_files_load(apps):
    files = sorted(path.name for path in DATA_DIR.glob("*.jsonl"))
    assert "apps_a.jsonl" in files
    assert "seed.jsonl" not in files  # merged into apps_a.jsonl
    assert {"dropbox", "box", "mega", "slack", "salesforce"} <= set(apps)


def test_catalog_has_at_least_500_apps(apps):
    # Parts A and B together; fails while only one part is present.
    assert len(apps) >= 500


def test_every_app_is_well_formed(apps):
    problems = []
    for slug, app in apps.items():
        if not SLUG.fullmatch(slug):
            problems.append(f"{slug}: slug")
        if app.category not in CATEGORIES:
            problems.append(f"{slug}: category {app.category}")
        if not app.domains:
            problems.append(f"{slug}: no domain")
        if not COUNTRY.fullmatch(str(app.attributes.get("headquarters", ""))):
            problems.append(f"{slug}: headquarters {app.attributes.get('headquarters')!r}")
        if not app.name.strip():
            problems.append(f"{slug}: name")
    assert problems == []


def test_domains_are_bare_lower_case_hosts(apps):
    bad = [
        (slug, domain)
        for slug, app in apps.items()
        for domain in app.domains
        if not DOMAIN.fullmatch(domain) or domain != domain.lower()
    ]
    assert bad == []


def test_raw_domains_are_lower_case_in_the_files():
    # The loader lower-cases domains; the data should not rely on it.
    bad = []
    for path in DATA_DIR.glob("*.jsonl"):
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if raw.strip() and re.search(r'"domains": \[[^\]]*[A-Z]', raw):
                bad.append(f"{path.name}:{number}")
    assert bad == []


def _fits(kind: str, value, scores: dict) -> bool:
    """Whether a catalog value suits an attribute of this kind."""
    today = datetime.now(UTC).date()
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "choice":
        return value in scores
    if kind == "year":
        return isinstance(value, int) and 1800 <= value <= today.year
    if kind == "level":
        return isinstance(value, int | float) and 0 <= value <= 10
    if kind == "date":
        try:
            return date.fromisoformat(value) <= today
        except (TypeError, ValueError):
            return False
    return True  # info: free text, URLs, codes


def test_attribute_values_fit_their_kind(apps):
    problems = [
        f"{slug}.{key}={value!r}"
        for slug, app in apps.items()
        for key, value in app.attributes.items()
        if not _fits(BY_KEY[key].kind, value, BY_KEY[key].scores)
    ]
    assert problems == []


def test_every_domain_resolves_to_its_own_app(apps):
    matcher = Matcher()
    wrong = [
        (domain, slug, matcher.match(domain))
        for slug, app in apps.items()
        for domain in app.domains
        if matcher.match(domain) != (slug, domain)
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("eu.files.dropbox.com", ("dropbox", "dropbox.com")),
        ("dl.dropboxusercontent.com", ("dropbox", "dropboxusercontent.com")),
        ("app.box.com", ("box", "box.com")),
        ("contoso.my.salesforce.com", ("salesforce", "my.salesforce.com")),
        # The most specific Google / Microsoft / AWS app wins over the vendor's generic app.
        ("drive.google.com", ("google-drive", "drive.google.com")),
        ("docs.google.com", ("google-docs", "docs.google.com")),
        ("mail.google.com", ("gmail", "mail.google.com")),
        ("accounts.google.com", ("google", "google.com")),
        ("www.google.com", ("google", "google.com")),
        ("outlook.office365.com", ("outlook-web", "outlook.office365.com")),
        ("outlook.live.com", ("outlook-com", "outlook.live.com")),
        ("www.office.com", ("microsoft-online-services", "office.com")),
        ("login.microsoftonline.com", ("microsoft-entra-id", "login.microsoftonline.com")),
        ("contoso.sharepoint.com", ("sharepoint-online", "sharepoint.com")),
        ("teams.microsoft.com", ("microsoft-teams", "teams.microsoft.com")),
        ("mybucket.s3.eu-west-1.amazonaws.com", ("amazon-s3", "s3.eu-west-1.amazonaws.com")),
        ("ec2.us-east-1.amazonaws.com", ("aws", "amazonaws.com")),
        ("console.aws.amazon.com", ("aws", "aws.amazon.com")),
        ("www.amazon.com", ("amazon", "amazon.com")),
        ("acct.blob.core.windows.net", ("azure-storage", "core.windows.net")),
        ("chat.openai.com", ("chatgpt", "chat.openai.com")),
        ("platform.openai.com", ("openai-api", "platform.openai.com")),
        ("mail.proton.me", ("proton-mail", "proton.me")),
        ("drive.proton.me", ("proton-drive", "drive.proton.me")),
        ("web.whatsapp.com", ("whatsapp", "whatsapp.com")),
        ("contoso.atlassian.net", ("atlassian", "atlassian.net")),
        ("nobody-claims-this.example.org", ("", "example.org")),
    ],
)
def test_matching_examples(apps, host, expected):
    assert Matcher().match(host) == expected


TODAY = date(2026, 6, 1)


def test_known_good_attributes_score_higher_than_known_bad_ones(apps):
    good = score(apps["google-drive"].attributes, today=TODAY)
    bad = score(
        {
            "founded": 2026,
            "latest_breach": "2026-05-01",
            "mfa": False,
            "saml": False,
            "encryption_at_rest": "not_supported",
            "soc2": False,
            "data_ownership": "vendor",
        },
        today=TODAY,
    )
    assert good.total is not None and bad.total is not None
    assert good.total >= 8 > 3 >= bad.total
    assert good.level == "low" and bad.level == "high"


def test_catalog_enterprise_apps_outscore_sparse_consumer_apps(apps):
    rich = score(apps["microsoft-teams"].attributes, today=TODAY).total
    sparse = score(apps["4shared"].attributes, today=TODAY).total
    assert rich > sparse


def test_na_negative_lowers_sparse_apps(apps):
    attributes = apps["mega"].attributes
    lenient = score(attributes, today=TODAY)
    strict = score(attributes, Weights(groups={}, attributes={}, na_negative=True), today=TODAY)
    assert strict.total < lenient.total
    # Unknown groups count too: a sparse app gets group scores it had none of.
    assert lenient.groups["compliance"] is None and strict.groups["compliance"] == 0


def test_unscored_without_a_scored_attribute():
    assert score({"headquarters": "US", "user_upload": True}).total is None
    assert score({}).level == "unscored"


def test_every_catalog_app_has_a_score(apps):
    # Each app has at least one scored attribute (founding year, holding, popularity...).
    scored_keys = {attribute.key for attribute in SCORED}
    unscored = [slug for slug, app in apps.items() if not scored_keys & set(app.attributes)]
    assert unscored == []
