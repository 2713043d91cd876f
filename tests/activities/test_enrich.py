"""Enrichment at ingestion: geo and ISP from the shipped databases, IP ranges by longest
prefix (v4, v6, v4-mapped), the compiled-range cache, and user agents."""

from __future__ import annotations

import pytest

from apps.activities import enrichment, iprange_services, partitions
from apps.activities.enrichment import parse_ip, parse_user_agent
from apps.activities.ingestion import ingest
from apps.activities.models import IpCategory, IpRange
from apps.tenants.scoping import tenant_context
from tests.activities.ingest_factories import activities, event, make_app

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _fresh_caches():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def app(tenant_a):
    return make_app(tenant_a)


def push(tenant, app, *events):
    result = ingest(tenant=tenant, app_instance=app, events=list(events), source="push")
    assert not result.rejected, result.rejected
    return result


# --- Geo and ISP (real data of the shipped databases) ----------------------------------------


@pytest.mark.parametrize(
    ("ip", "country", "isp"),
    [
        ("8.8.8.8", "US", "GOOGLE"),
        ("2001:4860:4860::8888", "US", "GOOGLE"),
        ("1.1.1.1", "AU", "CLOUDFLARENET"),
        ("81.2.69.142", "GB", "Andrews & Arnold Ltd"),
    ],
)
def test_country_and_isp_offline(ip, country, isp):
    geo = enrichment.geo_of(ip)
    assert (geo.country, geo.isp) == (country, isp)


def test_city_when_the_city_database_agrees_on_the_country():
    assert enrichment.geo_of("128.101.101.101").city == "Minneapolis"
    assert enrichment.geo_of("2001:4860:4860::8888").city == "Mountain View"


def test_private_addresses_have_no_geo(tenant_a, app):
    push(tenant_a, app, event(1, ip="10.1.2.3"), event(2, ip="fd00::1"))
    for row in activities(tenant_a):
        assert (row.country, row.city, row.isp) == ("", "", "")


def test_v4_mapped_v6_is_stored_and_located_as_v4(tenant_a, app):
    push(tenant_a, app, event(1, ip="::ffff:8.8.8.8"))
    row = activities(tenant_a)[0]
    assert (row.ip, row.country, row.isp) == ("8.8.8.8", "US", "GOOGLE")


def test_parse_ip_normalises():
    assert parse_ip(" 2001:DB8::0:1 ").text == "2001:db8::1"
    assert parse_ip("fe80::1%eth0").text == "fe80::1"
    assert parse_ip("::ffff:192.0.2.1").version == 4
    assert parse_ip("192.0.2.300") is None
    assert parse_ip("") is None


# --- IP ranges ---------------------------------------------------------------------------------


def _raw_range(tenant, name, cidrs, category, tags=(), isp_override=""):
    """A range written directly, as a data import could: nested ranges are possible there, so
    the lookup must still pick the most specific one."""
    with tenant_context(tenant):
        return IpRange.objects.create(
            name=name, cidrs=cidrs, category=category, tags=list(tags), isp_override=isp_override
        )


def test_longest_prefix_wins_over_a_broader_range(tenant_a, app):
    _raw_range(tenant_a, "Corporate", ["10.0.0.0/8"], IpCategory.CORPORATE, ["HQ"])
    _raw_range(tenant_a, "VPN pool", ["10.20.30.0/24"], IpCategory.VPN, ["VPN", "Remote"])
    _raw_range(tenant_a, "Jump host", ["10.20.30.40/32"], IpCategory.ADMINISTRATIVE)
    push(
        tenant_a,
        app,
        event(1, ip="10.20.30.7"),
        event(2, ip="10.99.0.1"),
        event(3, ip="10.20.30.40"),
        event(4, ip="11.0.0.1"),
    )
    rows = {row.source_event_id: row for row in activities(tenant_a)}
    assert (rows["evt-1"].ip_category, rows["evt-1"].ip_tags) == (IpCategory.VPN, ["VPN", "Remote"])
    assert (rows["evt-2"].ip_category, rows["evt-2"].ip_tags) == (IpCategory.CORPORATE, ["HQ"])
    assert (rows["evt-3"].ip_category, rows["evt-3"].ip_tags) == (IpCategory.ADMINISTRATIVE, [])
    assert (rows["evt-4"].ip_category, rows["evt-4"].ip_tags) == (None, [])


def test_v6_ranges_and_v4_mapped_cidrs(tenant_a, app):
    _raw_range(tenant_a, "Cloud v6", ["2001:4860::/32"], IpCategory.CLOUD_PROVIDER, ["Google"])
    _raw_range(tenant_a, "Office v6", ["2001:4860:4860::/48"], IpCategory.CORPORATE)
    _raw_range(tenant_a, "Mapped", ["::ffff:192.0.2.0/120"], IpCategory.RISKY, ["Tor"])
    push(
        tenant_a,
        app,
        event(1, ip="2001:4860:1::1"),
        event(2, ip="2001:4860:4860::8888"),
        event(3, ip="192.0.2.77"),
        event(4, ip="::ffff:192.0.2.78"),
    )
    rows = {row.source_event_id: row for row in activities(tenant_a)}
    assert rows["evt-1"].ip_category == IpCategory.CLOUD_PROVIDER
    assert rows["evt-2"].ip_category == IpCategory.CORPORATE
    assert (rows["evt-3"].ip_category, rows["evt-3"].ip_tags) == (IpCategory.RISKY, ["Tor"])
    assert rows["evt-4"].ip_category == IpCategory.RISKY


def test_isp_override(tenant_a, app):
    _raw_range(tenant_a, "Google DNS", ["8.8.8.0/24"], IpCategory.OTHER, isp_override="Our DNS")
    push(tenant_a, app, event(1, ip="8.8.8.8"))
    assert activities(tenant_a)[0].isp == "Our DNS"


def test_another_tenants_ranges_never_apply(tenant_a, tenant_b, app):
    _raw_range(tenant_b, "B office", ["8.8.8.0/24"], IpCategory.CORPORATE, ["B"])
    push(tenant_a, app, event(1, ip="8.8.8.8"))
    assert (activities(tenant_a)[0].ip_category, activities(tenant_a)[0].ip_tags) == (None, [])


def test_changed_ranges_apply_to_new_activities_only(tenant_a, alice, app):
    with tenant_context(tenant_a):
        office = iprange_services.create_range(
            tenant=tenant_a, actor=alice, name="Office", cidrs=["8.8.8.0/24"], category=1
        )
    push(tenant_a, app, event(1, ip="8.8.8.8"))
    with tenant_context(tenant_a):
        iprange_services.update_range(
            tenant=tenant_a, ip_range=office, actor=alice, category=IpCategory.RISKY, tags=["x"]
        )
    push(tenant_a, app, event(2, ip="8.8.8.8"))
    rows = {row.source_event_id: row for row in activities(tenant_a)}
    assert (rows["evt-1"].ip_category, rows["evt-1"].ip_tags) == (IpCategory.CORPORATE, [])
    assert (rows["evt-2"].ip_category, rows["evt-2"].ip_tags) == (IpCategory.RISKY, ["x"])


def test_compiled_ranges_notice_changes_made_elsewhere(tenant_a):
    """Another process changed the ranges without telling this one: the stamp notices."""
    office = _raw_range(tenant_a, "Office", ["8.8.8.0/24"], IpCategory.CORPORATE)
    address = parse_ip("8.8.8.8")
    with tenant_context(tenant_a):
        assert enrichment.range_table(tenant_a).match(address).name == "Office"
        IpRange.objects.filter(pk=office.pk).delete()  # no invalidate() called
        assert enrichment.range_table(tenant_a).match(address) is None


# --- User agents --------------------------------------------------------------------------------

WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "device", "os", "browser"),
    [
        (WINDOWS_CHROME, "pc", "Windows 10", "Chrome 120"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.1 Safari/605.1.15",
            "pc",
            "Mac OS X 10.15",
            "Safari 17",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "mobile",
            "iOS 17",
            "Mobile Safari 17",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            "tablet",
            "iOS 16",
            "Mobile Safari 16",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/116.0.0.0 Safari/537.36",
            "tablet",
            "Android 13",
            "Chrome 116",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36",
            "mobile",
            "Android 14",
            "Chrome Mobile 120",
        ),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "other", "", "Googlebot 2"),
        ("python-requests/2.31.0", "other", "", "Python Requests 2"),
        ("", "", "", ""),
    ],
)
def test_user_agent_parsing(ua, device, os, browser):
    facts = parse_user_agent(ua)
    assert (facts.device_type, facts.os, facts.browser) == (device, os, browser)


def test_user_agent_lands_parsed(tenant_a, app):
    push(tenant_a, app, event(1, user_agent=WINDOWS_CHROME), event(2, user_agent=""))
    rows = activities(tenant_a)
    assert (rows[0].device_type, rows[0].os, rows[0].browser) == ("pc", "Windows 10", "Chrome 120")
    assert rows[0].user_agent == WINDOWS_CHROME
    assert (rows[1].device_type, rows[1].os, rows[1].browser) == ("", "", "")
