"""Alert feeds: Graph security alert shape (spec 12.2), pages with a resume token that never
skips or repeats a change, JSON lines, clear 400s, and another tenant's alerts never shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import Alert, AlertStatus, Resolution, Severity
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.activities.test_query_api import client_for
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db

FEED = "/api/v1/alerts/feed/"


@pytest.fixture
def rita_api(rita, tenant_a):
    return client_for(token_key(rita, tenant_a, Role.SECURITY_READER))


@pytest.fixture
def charlie_api(charlie, tenant_b):
    return client_for(token_key(charlie, tenant_b, Role.GLOBAL_ADMIN))


def _alert(tenant, n: int, *, changed: datetime, **fields) -> Alert:
    with tenant_context(tenant):
        alert = Alert.objects.create(
            number=n,
            title=f"Alert {n}",
            alert_type="activity_policy",
            severity=fields.pop("severity", Severity.MEDIUM),
            category="threat_detection",
            first_triggered_at=changed - timedelta(minutes=5),
            last_triggered_at=changed,
            **fields,
        )
        Alert.objects.filter(pk=alert.pk).update(updated_at=changed)
        alert.refresh_from_db()
        return alert


def _earlier(minutes: int) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)


def test_alerts_come_in_the_graph_shape(tenant_a, rita_api):
    alert = _alert(
        tenant_a,
        1,
        changed=_earlier(10),
        severity=Severity.HIGH,
        status=AlertStatus.RESOLVED,
        resolution=Resolution.BENIGN_TRUE_POSITIVE,
        ips=["198.51.100.7"],
    )
    response = rita_api.get(FEED)
    assert response.status_code == 200
    [item] = response.json()["value"]
    assert item["id"] == item["providerAlertId"] == str(alert.pk)
    assert item["severity"] == "high" and item["status"] == "resolved"
    assert item["classification"] == "informationalExpectedActivity"
    assert item["tenantId"] == str(tenant_a.id)
    assert item["alertWebUrl"].endswith(f"/t/{tenant_a.slug}/alerts/{alert.pk}/")
    assert item["evidence"] == [
        {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "198.51.100.7"}
    ]
    assert item["lastUpdateDateTime"].endswith("Z")


def test_pages_and_the_resume_token_give_every_change_once(tenant_a, rita_api):
    alerts = [_alert(tenant_a, n, changed=_earlier(60 - n)) for n in range(1, 6)]
    seen, url = [], f"{FEED}?top=2"
    while url:
        body = rita_api.get(url).json()
        seen += [item["id"] for item in body["value"]]
        url = body.get("@odata.nextLink")
        token = body["@casb.resumeToken"]
    assert seen == [str(a.pk) for a in alerts]
    # Later: one alert changes; asking from the resume token gives it, and only it.
    with tenant_context(tenant_a):
        Alert.objects.filter(pk=alerts[1].pk).update(updated_at=_earlier(5))
    body = rita_api.get(FEED, {"skiptoken": token}).json()
    assert [item["id"] for item in body["value"]] == [str(alerts[1].pk)]


def test_changes_younger_than_the_settle_time_wait(tenant_a, rita_api):
    _alert(tenant_a, 1, changed=timezone.now())
    assert rita_api.get(FEED).json()["value"] == []


def test_since_filters_by_change_time(tenant_a, rita_api):
    _alert(tenant_a, 1, changed=_earlier(120))
    recent = _alert(tenant_a, 2, changed=_earlier(10))
    body = rita_api.get(FEED, {"since": _earlier(30).astimezone(UTC).isoformat()}).json()
    assert [item["id"] for item in body["value"]] == [str(recent.pk)]


def test_json_lines(tenant_a, rita_api):
    alerts = [_alert(tenant_a, n, changed=_earlier(60 - n)) for n in range(1, 4)]
    response = rita_api.get(f"{FEED}jsonl/", {"top": 2})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = response.content.decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [str(a.pk) for a in alerts[:2]]
    assert 'rel="next"' in response["Link"] and response["X-Resume-Token"]
    rest = rita_api.get(f"{FEED}jsonl/", {"skiptoken": response["X-Resume-Token"]})
    assert [json.loads(line)["id"] for line in rest.content.decode().splitlines()] == [
        str(alerts[2].pk)
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"skiptoken": "not-a-token"}, "skiptoken"),
        ({"top": "0"}, "top"),
        ({"top": "1001"}, "top"),
        ({"top": "ten"}, "top"),
        ({"since": "2026-11-20T12:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_parameters_are_400_with_the_field(rita_api, query, field):
    response = rita_api.get(FEED, query)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_another_tenants_alerts_never_appear(tenant_a, tenant_b, charlie_api):
    _alert(tenant_a, 1, changed=_earlier(10))
    theirs = _alert(tenant_b, 1, changed=_earlier(10))
    for url in (FEED, f"{FEED}jsonl/"):
        response = charlie_api.get(url)
        assert response.status_code == 200
        assert str(theirs.pk) in response.content.decode()
    assert len(charlie_api.get(FEED).json()["value"]) == 1


def test_the_feed_answers_in_few_queries(tenant_a, rita_api, django_assert_max_num_queries):
    for n in range(1, 30):
        _alert(tenant_a, n, changed=_earlier(60 - n))
    with django_assert_max_num_queries(12):
        assert len(rita_api.get(FEED).json()["value"]) == 29


def test_the_feed_documents_no_page_size(rita_api):
    # It pages by top/skiptoken; an unknown page_size is simply not a parameter of it.
    schema = rita_api.get("/api/v1/schema/", {"format": "json"}).json()
    names = {p["name"] for p in schema["paths"]["/api/v1/alerts/feed/"]["get"]["parameters"]}
    assert names == {"since", "top", "skiptoken"}
