"""Activity from a risky or anonymous IP address: Risky ranges and anonymiser tags."""

from __future__ import annotations

import pytest

from apps.activities.models import IpCategory, IpRange
from apps.tenants.scoping import tenant_context

from . import e2e
from .kit import T0, Run, minutes, row

KEY = "risky_ip"


def test_an_address_in_a_risky_range_alerts_per_person_and_address():
    run = Run(KEY)
    a = row(T0, ip="203.0.113.5", ip_category=IpCategory.RISKY, country="DE", isp="Hoster")
    b = row(T0 + minutes(1), ip="203.0.113.5", ip_category=IpCategory.RISKY, country="DE")
    other = row(T0, actor="bob@a.example", ip="203.0.113.5", ip_category=IpCategory.RISKY)
    findings = run.batch(a, b, other)
    assert len(findings) == 2
    ann = next(f for f in findings if f.rows[0].actor == "ann@a.example")
    assert ann.title == "Activity from risky IP 203.0.113.5 (a Risky IP range)"
    assert ann.key == "203.0.113.5" and ann.rows == [a, b]
    assert "2 activities from 203.0.113.5 in DE, a Risky IP range, ISP Hoster" in ann.description


@pytest.mark.parametrize(
    ("tags", "alerts"),
    [
        (["Tor exit node"], True),
        (["Anonymous-Proxy"], True),
        (["botnet C&C"], True),
        (["Contractors", "Toronto office"], False),  # "tor" only as a whole word
        (["VPN"], False),
        ([], False),
    ],
)
def test_tags_match_whole_words(tags, alerts):
    found = Run(KEY).batch(row(T0, ip_tags=tags, ip_category=IpCategory.OTHER))
    assert bool(found) is alerts
    if found:
        assert found[0].title.endswith(f"(tagged {tags[0]})")


def test_tag_words_are_tunable():
    run = Run(KEY, tag_words=["scanner"])
    assert run.batch(row(T0, ip_tags=["Tor exit node"])) == []
    assert len(run.batch(row(T0, ip_tags=["Mass scanner"]))) == 1


def test_failed_activities_are_ignored_unless_asked():
    failed = row(T0, ip_category=IpCategory.RISKY, succeeded=False, activity_type="failed_login")
    assert Run(KEY).batch(failed) == []
    assert len(Run(KEY, include_failed=True).batch(failed)) == 1


def test_ordinary_addresses_are_quiet():
    assert Run(KEY).batch(row(T0), row(T0, ip_category=IpCategory.CORPORATE, ip_tags=["HQ"])) == []


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_with_the_tenants_ranges(tenant_a):
    app = e2e.setup(tenant_a)
    with tenant_context(tenant_a):
        IpRange.objects.create(name="Exit nodes", cidrs=["185.220.101.0/24"], category=6,
                               tags=["Tor exit node"])  # fmt: skip
        IpRange.objects.create(name="Bad", cidrs=["203.0.113.0/24"], category=IpCategory.RISKY)
    start = e2e.base()
    e2e.feed(
        tenant_a,
        app,
        [
            e2e.event(start, ip="185.220.101.1"),
            e2e.event(start, ip="203.0.113.9", actor="bob@a.example"),
            e2e.event(start, ip="81.2.69.142", actor="carl@a.example"),
        ],
    )
    titles = sorted(a.title for a in e2e.alerts_of(tenant_a, KEY))
    assert titles == [
        "Activity from risky IP 185.220.101.1 (tagged Tor exit node)",
        "Activity from risky IP 203.0.113.9 (a Risky IP range)",
    ]
    with e2e.detection(tenant_a, KEY) as policy:
        policy.tuning = {**policy.tuning, "tag_words": ["botnet"]}
    e2e.feed(tenant_a, app, [e2e.event(start, ip="185.220.101.2", actor="dan@a.example")])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 2
    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = False
    e2e.feed(tenant_a, app, [e2e.event(start, ip="203.0.113.10", actor="dan@a.example")])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 2
