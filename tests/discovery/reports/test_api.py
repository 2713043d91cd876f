"""The discovery reports API: reports list, discovered apps (filters, one app, categories),
users and addresses; tenant isolation, bad parameters and query counts."""

from __future__ import annotations

import pytest

from apps.tenants.models import Role
from tests.discovery.helpers import run_snapshot, squid_line
from tests.discovery.reports import data
from tests.role_matrix import token_key

LINES = [
    squid_line(user="alice@a.test", url="https://www.dropbox.com/x", size=1000),
    squid_line(user="bob@a.test", src="10.0.0.6", url="https://www.dropbox.com/y", size=500),
    squid_line(user="alice@a.test", url="https://app.box.com/", size=200),
    squid_line(url="https://files.unknown-thing.example.org/", size=30),
]
BASE = "/api/v1/discovery"


@pytest.fixture
def feed(tenant_a):
    return data.continuous(tenant_a, "\n".join(LINES) + "\n")


@pytest.fixture
def api(api_client, rita, tenant_a):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(rita, tenant_a, Role.SECURITY_READER)}"
    )
    return api_client


def test_reports_list_has_global_continuous_and_snapshots(api, tenant_a, feed):
    upload = run_snapshot(tenant_a, squid_line(url="https://slack.com/") + "\n", name="Q3 firewall")
    body = api.get(f"{BASE}/reports/").json()
    by_id = {r["id"]: r for r in body["results"]}
    assert by_id["global"]["kind"] == "global"
    assert by_id[str(feed.pk)]["kind"] == "continuous"
    assert by_id[str(feed.pk)]["last_upload_status"] == "done"
    assert by_id[str(upload.report.pk)]["name"] == "Q3 firewall"


def test_discovered_apps_filters_and_paging(api, feed):
    body = api.get(f"{BASE}/discovered-apps/").json()
    rows = {r["app"]: r for r in body["results"]}
    assert set(rows) == {"dropbox", "box"}
    assert (rows["dropbox"]["users"], rows["dropbox"]["ips"], rows["dropbox"]["traffic"]) == (
        2,
        2,
        1500,
    )
    assert rows["dropbox"]["score"] is not None and rows["dropbox"]["tags"] == []
    only = api.get(f"{BASE}/discovered-apps/", {"min_users": 2}).json()["results"]
    assert [r["app"] for r in only] == ["dropbox"]
    paged = api.get(f"{BASE}/discovered-apps/", {"page_size": 1}).json()
    assert paged["count"] == 2 and len(paged["results"]) == 1


def test_bad_parameters_name_the_field(api, feed):
    response = api.get(f"{BASE}/discovered-apps/", {"risk_min": "abc", "period": "5"})
    assert response.status_code == 400
    assert "period" in str(response.json())
    response = api.get(f"{BASE}/discovered-apps/", {"risk_min": "abc"})
    assert response.status_code == 400 and "risk_min" in str(response.json())
    response = api.get(f"{BASE}/discovered-apps/", {"factor": "soc2:maybe"})
    assert response.status_code == 400 and "factor" in str(response.json())


def test_one_app_and_categories(api, feed):
    body = api.get(f"{BASE}/discovered-apps/dropbox/").json()
    assert body["transactions"] == 2
    assert [d["domain"] for d in body["domains"]] == ["dropbox.com"]
    assert {g["key"] for g in body["facts"]} == {"general", "security", "compliance", "legal"}
    assert sum(d["bytes_down"] for d in body["daily"]) == 1500
    assert {u["name"] for u in body["top_users"]} == {"alice@a.test", "bob@a.test"}
    assert api.get(f"{BASE}/discovered-apps/slack/").status_code == 404  # not seen
    assert api.get(f"{BASE}/discovered-apps/nope/").status_code == 404
    cats = api.get(f"{BASE}/discovered-apps/categories/").json()
    assert cats == [{"id": "cloud_storage", "label": "Cloud storage", "total": 2, "traffic": 1700}]


def test_users_and_ips(api, tenant_a, feed):
    data.tag(tenant_a, "box", "Unsanctioned", "unsanctioned")
    users = {r["name"]: r for r in api.get(f"{BASE}/discovered-users/").json()["results"]}
    assert users["alice@a.test"]["apps"] == 2 and users["alice@a.test"]["used_unsanctioned_apps"]
    assert not users["bob@a.test"]["used_unsanctioned_apps"]
    ips = api.get(f"{BASE}/discovered-ips/", {"unsanctioned": "true"}).json()["results"]
    assert [r["name"] for r in ips] == ["10.0.0.5"]


def test_charlie_sees_only_his_tenant(api_client, charlie, tenant_a, tenant_b, feed):
    data.continuous(tenant_b, squid_line(url="https://slack.com/") + "\n", name="B proxy")
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(charlie, tenant_b, Role.GLOBAL_ADMIN)}"
    )
    apps = api_client.get(f"{BASE}/discovered-apps/").json()["results"]
    assert [r["app"] for r in apps] == ["slack"]
    reports = api_client.get(f"{BASE}/reports/").json()["results"]
    assert str(feed.pk) not in {r["id"] for r in reports}
    assert api_client.get(f"{BASE}/discovered-apps/", {"report": feed.pk}).status_code == 404
    assert api_client.get(f"{BASE}/discovered-apps/dropbox/").status_code == 404
    users = api_client.get(f"{BASE}/discovered-users/").json()["results"]
    assert users == []


def test_query_counts(api, tenant_a, feed, django_assert_max_num_queries):
    for n in range(20):
        data.write(tenant_a, feed, app="slack", days_ago=n, down=n, user=f"u{n}@a.test")
    for path in (
        "reports/",
        "discovered-apps/",
        "discovered-apps/slack/",
        "discovered-users/",
        "discovered-ips/",
        "discovered-apps/categories/",
    ):
        with django_assert_max_num_queries(16):
            assert api.get(f"{BASE}/{path}").status_code == 200
