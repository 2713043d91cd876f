"""The report pages in the console: totals against the input lines, periods, filters, scores,
unrecognised domains, other tenants, exports and query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from apps.discovery.catalog import apps
from apps.discovery.filters_reports import factor_answer
from apps.discovery.models import AppOverride, DiscoverySettings, Report, ReportKind
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.discovery.helpers import now_ts, run_snapshot, squid_line
from tests.discovery.reports import data

LINES = [
    squid_line(user="alice@a.test", url="https://www.dropbox.com/x", size=1000),
    squid_line(
        user="bob@a.test", src="10.0.0.6", url="https://dl.dropboxusercontent.com/y", size=500
    ),
    squid_line(user="alice@a.test", url="https://app.box.com/", size=200, method="POST"),
    squid_line(src="10.0.0.7", url="https://files.unknown-thing.example.org/", size=30),
    squid_line(result="TCP_DENIED/403", url="https://mega.nz/", size=0),
]


def url(name, tenant, *args, **query):
    path = reverse(f"discovery:{name}", args=[tenant.slug, *args])
    if query:
        from django.utils.http import urlencode

        path += "?" + urlencode(query, doseq=True)
    return path


@pytest.fixture
def feed(tenant_a):
    return data.continuous(tenant_a, "\n".join(LINES) + "\n")


def test_dashboard_totals_match_the_lines(client, alice, tenant_a, feed):
    client.force_login(alice)
    response = client.get(url("dashboard", tenant_a))
    assert response.status_code == 200
    totals = response.context["totals"]
    assert totals.apps == 3  # dropbox, box, mega
    assert totals.users == 2
    assert totals.ips == 3
    assert totals.transactions == 5
    assert totals.bytes_up + totals.bytes_down == 1730
    assert totals.unrecognised_domains == 1
    assert "<svg" in response.content.decode()
    assert 'style="' not in response.content.decode()


def test_empty_dashboard_points_to_snapshots(client, alice, rita, tenant_a):
    client.force_login(alice)
    body = client.get(url("dashboard", tenant_a)).content.decode()
    assert "No discovery data" in body
    assert f"/t/{tenant_a.slug}/discovery/snapshots/" in body
    assert "Create a snapshot report" in body
    client.force_login(rita)  # a reader cannot create one: no call to action
    body = client.get(url("dashboard", tenant_a)).content.decode()
    assert "Create a snapshot report" not in body


def test_apps_table_and_period(client, alice, tenant_a, feed):
    data.write(tenant_a, feed, app="slack", days_ago=20, down=5000, user="carol@a.test")
    client.force_login(alice)
    keys = [r.key for r in client.get(url("apps", tenant_a)).context["page"]]
    assert keys == ["slack", "dropbox", "box", "mega"]
    week = client.get(url("apps", tenant_a, period=7)).context["page"]
    assert "slack" not in [r.key for r in week]
    dropbox = next(r for r in week if r.key == "dropbox")
    assert (dropbox.transactions, dropbox.users, dropbox.ips, dropbox.traffic) == (2, 2, 2, 1500)
    assert {d.domain for d in dropbox.totals.domains} == {"dropbox.com", "dropboxusercontent.com"}


def test_bad_period_is_an_error_not_a_crash(client, alice, tenant_a, feed):
    client.force_login(alice)
    response = client.get(url("apps", tenant_a, period=5))
    assert response.status_code == 200
    assert response.context["scope"].period == 30
    assert "Period" in response.content.decode()


def test_snapshot_report_shows_its_whole_range(client, alice, tenant_a, feed):
    upload = run_snapshot(tenant_a, squid_line(ts=now_ts(60), url="https://slack.com/") + "\n")
    client.force_login(alice)
    response = client.get(url("apps", tenant_a, report=upload.report.pk, period=7))
    assert [r.key for r in response.context["page"]] == ["slack"]
    assert response.context["scope"].period is None
    # The global report is the continuous reports only.
    assert "slack" not in [r.key for r in client.get(url("apps", tenant_a)).context["page"]]


def test_filters(client, alice, tenant_a, feed):
    data.tag(tenant_a, "box", "Sanctioned", "sanctioned")
    legal = data.tag(tenant_a, "mega", "Legal OK")
    client.force_login(alice)

    def keys(**query):
        response = client.get(url("apps", tenant_a, **query))
        assert response.status_code == 200
        return sorted(r.key for r in response.context["page"])

    assert keys(tag="sanctioned") == ["box"]
    assert keys(tag="none") == ["dropbox", "mega"]
    assert keys(tag=str(legal.pk)) == ["mega"]
    assert keys(category="cloud_storage") == ["box", "dropbox", "mega"]
    assert keys(q="dropboxusercontent") == ["dropbox"]
    assert keys(min_users=2) == ["dropbox"]
    assert keys(min_transactions=2) == ["dropbox"]
    # Risk factors, checked against the catalog's own facts (which its maintainers may refine).
    seen = ["box", "dropbox", "mega"]

    def having(**wanted):
        return [
            key
            for key in seen
            if all(factor_answer(apps()[key].attributes, k) == v for k, v in wanted.items())
        ]

    assert keys(factor="saml:no") == having(saml="no")
    assert keys(factor=["soc2:yes", "hipaa:yes"]) == having(soc2="yes", hipaa="yes")
    assert keys(factor="soc2:unknown") == having(soc2="unknown")
    assert having(soc2="yes")  # the catalog knows some SOC 2 apps: the filter is exercised
    assert keys(risk_min="0", risk_max="10") == ["box", "dropbox", "mega"]
    bad = client.get(url("apps", tenant_a, risk_min="11"))
    assert bad.status_code == 200 and list(bad.context["page"]) == []
    assert "risk_min" in bad.context["form"].errors


def test_score_honours_override_and_weights(client, alice, tenant_a, feed):
    client.force_login(alice)
    before = {r.key: r.score for r in client.get(url("apps", tenant_a)).context["page"]}
    with tenant_context(tenant_a):
        AppOverride.objects.create(app="mega", score="9.5", note="reviewed")
        DiscoverySettings.objects.update_or_create(
            tenant_id=tenant_a.id, defaults={"na_negative": True}
        )
    after = {r.key: r.score for r in client.get(url("apps", tenant_a)).context["page"]}
    assert after["mega"].total == 9.5 and after["mega"].overridden
    assert not before["mega"].overridden
    assert after["dropbox"].total != before["dropbox"].total  # unknowns count as 0 now
    page = client.get(url("app", tenant_a, "mega")).content.decode()
    assert "overridden" in page and "reviewed" in page


def test_unrecognised_domains_listed(client, alice, tenant_a, feed):
    client.force_login(alice)
    response = client.get(url("unrecognised", tenant_a))
    assert [d.domain for d in response.context["page"]] == ["example.org"]
    assert "example.org" in response.content.decode()


def test_app_page(client, alice, tenant_a, feed):
    data.write(tenant_a, feed, app="dropbox", days_ago=3, up=700, user="carol@a.test")
    client.force_login(alice)
    response = client.get(url("app", tenant_a, "dropbox"))
    assert response.status_code == 200
    body = response.content.decode()
    for text in ("Compliance", "Security", "Legal", "General", "N/A", "carol@a.test", "10.0.0.6"):
        assert text in body
    assert response.context["user_count"] == 3
    assert sum(c.up + c.down for c in response.context["chart"]["columns"]) == 2200
    assert client.get(url("app", tenant_a, "no-such-app")).status_code == 404


def test_users_and_ips_tabs(client, alice, tenant_a, feed):
    data.tag(tenant_a, "dropbox", "Unsanctioned", "unsanctioned")
    client.force_login(alice)
    users = {r.name: r for r in client.get(url("users", tenant_a)).context["page"]}
    assert users["alice@a.test"].app_count == 2 and users["alice@a.test"].unsanctioned
    assert users["alice@a.test"].transactions == 2
    ips = {r.name: r for r in client.get(url("ips", tenant_a)).context["page"]}
    assert ips["10.0.0.7"].app_count == 0  # only unrecognised traffic
    only = client.get(url("users", tenant_a, unsanctioned="true")).context["page"]
    assert sorted(r.name for r in only) == ["alice@a.test", "bob@a.test"]


def test_pseudonyms_are_marked(client, alice, rita, tenant_a):
    run_snapshot(tenant_a, squid_line(user="secret@a.test") + "\n", anonymize=True)
    with tenant_context(tenant_a):
        report = Report.objects.get(kind=ReportKind.SNAPSHOT)
    client.force_login(alice)
    body = client.get(url("users", tenant_a, report=report.pk)).content.decode()
    assert (
        "secret@a.test" not in body
        and "anonymised" in body
        and "/anonymization/?direction=from" in body
    )
    client.force_login(rita)  # no DEANONYMIZE right: no link to resolve
    body = client.get(url("users", tenant_a, report=report.pk)).content.decode()
    assert "anonymised" in body and "direction=from" not in body


def test_exports_are_audited_and_readers_refused(client, alice, rita, tenant_a, feed):
    data.tag(tenant_a, "dropbox", "Watch list")
    client.force_login(alice)
    response = client.get(url("apps-export", tenant_a, min_users=1))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    dropbox = next(r for r in rows if r["app_id"] == "dropbox")
    assert dropbox["tags"] == "Watch list"
    assert "dropbox.com" in dropbox["app_domains"] and dropbox["transactions"] == "2"
    for name in ("users-export", "ips-export"):
        response = client.get(url(name, tenant_a))
        body = b"".join(response.streaming_content).decode()
        assert "used_unsanctioned_apps" in body
    assert "alice@a.test" in body or "10.0.0.5" in body
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="discovery.exported").count() == 3
    client.force_login(rita)
    for name in ("apps-export", "users-export", "ips-export"):
        assert client.get(url(name, tenant_a)).status_code == 403
    assert client.get(url("apps", tenant_a)).status_code == 200


def test_executive_summary(client, alice, tenant_a, feed):
    client.force_login(alice)
    response = client.get(url("executive", tenant_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Top risks" in body and "Dropbox" in body and "Proxy" in body
    assert "reports.css" in body  # the print stylesheet


def test_charlie_sees_nothing_of_tenant_a(client, charlie, tenant_a, tenant_b, feed):
    client.force_login(charlie)
    for name in ("dashboard", "apps", "users", "ips", "executive", "unrecognised"):
        assert client.get(url(name, tenant_a)).status_code == 404
    assert client.get(url("app", tenant_a, "dropbox")).status_code == 404
    # Under his own tenant, A's report id is no report.
    assert client.get(url("apps", tenant_b, report=feed.pk)).status_code == 404
    response = client.get(url("apps", tenant_b))
    assert list(response.context["page"]) == []
    assert client.get(url("users", tenant_b)).context["total"] == 0


def test_query_counts_stay_flat(client, alice, tenant_a, feed, django_assert_max_num_queries):
    client.force_login(alice)
    for n in range(30):
        data.write(
            tenant_a,
            feed,
            app="slack",
            days_ago=n % 20,
            down=n,
            user=f"u{n}@a.test",
            ip=f"10.1.0.{n}",
            domain=f"d{n}.slack.com",
        )
    for name in ("dashboard", "apps", "users", "ips", "unrecognised", "executive"):
        with django_assert_max_num_queries(20):
            assert client.get(url(name, tenant_a)).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(url("app", tenant_a, "slack")).status_code == 200


def test_custom_apps_are_listed_and_keyed(client, alice, charlie, tenant_a, tenant_b, feed):
    from apps.discovery.models import CustomApp

    with tenant_context(tenant_a):
        custom = CustomApp.objects.create(
            name="Payroll", category="human_resource_management", domains=["payroll.corp.test"]
        )
    data.write(tenant_a, feed, app=custom.key, domain="payroll.corp.test", up=10, user="x@a.test")
    client.force_login(alice)
    rows = {r.key: r for r in client.get(url("apps", tenant_a)).context["page"]}
    assert rows[custom.key].name == "Payroll" and rows[custom.key].custom
    assert rows[custom.key].score.total is None  # unscored unless overridden
    page = client.get(url("app", tenant_a, custom.key))
    assert page.status_code == 200 and "Payroll" in page.content.decode()
    # A data source's id selects its continuous report.
    by_source = client.get(url("apps", tenant_a, report=feed.data_source_id))
    assert by_source.context["scope"].report == feed
    client.force_login(charlie)  # another tenant's custom app key is no app of his
    assert client.get(url("app", tenant_b, custom.key)).status_code == 404


def test_executive_title(client, alice, tenant_a, feed):
    client.force_login(alice)
    body = client.get(url("executive", tenant_a, title="Board pack Q3")).content.decode()
    assert "<h1>Board pack Q3</h1>" in body
