"""The audit page: global admins only, filters, pagination, a query-count guard, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from apps.tenants import audit
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context


def _url(tenant, name="tenants:audit"):
    return reverse(name, args=[tenant.slug])


def _rows(response) -> int:
    return max(response.content.decode().count("<tr>") - 1, 0)  # minus the header row


@pytest.fixture
def events(tenant_a, alice):
    """A mixed log: 120 events of several actions, actors and addresses."""
    for i in range(120):
        audit.record(
            tenant_a,
            ["auth.login", "auth.failed", "token.created"][i % 3],
            actor=["alice@alpha.test", "sam@alpha.test"][i % 2],
            ip=["192.0.2.1", "2001:db8::7"][i % 2],
            target=alice if i == 0 else None,
            details={"i": i},
        )


def test_global_admin_sees_the_log_newest_first(client, alice, tenant_a, events):
    client.force_login(alice)
    response = client.get(_url(tenant_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert _rows(response) == 50
    assert "Page 1 of 3" in body
    # alice's own member.added (from the fixture) + 120; newest first.
    assert body.index("i: 119") < body.index("i: 118")
    assert "Export CSV" in body


def test_pagination_keeps_filters(client, alice, tenant_a, events):
    client.force_login(alice)
    response = client.get(_url(tenant_a), {"action": "auth.", "page": 2})
    body = response.content.decode()
    assert _rows(response) == 30  # 80 auth.* events: 50 + 30
    assert "Page 2 of 2" in body
    assert "action=auth." in body  # the "Newer" link keeps the filter


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "token.created"}, 40),
        ({"action": "AUTH"}, 80),  # prefix, case-insensitive
        ({"actor": "SAM@"}, 60),
        ({"ip": "2001:DB8::7"}, 60),
        ({"object_type": "auth.user"}, 2),  # alice's member.added + event 0
        ({"actor": "sam", "action": "auth.failed"}, 20),
    ],
)
def test_filters(client, alice, tenant_a, events, params, expected):
    client.force_login(alice)
    with tenant_context(tenant_a):
        queryset = AuditEvent.objects.all()
        from apps.tenants.filtersets import AuditEventFilterSet

        assert AuditEventFilterSet(params, queryset=queryset).qs.count() == expected
    response = client.get(_url(tenant_a), params)
    assert response.status_code == 200
    assert _rows(response) == min(expected, 50)


def test_date_filter_is_inclusive_utc_days(client, alice, tenant_a, events):
    client.force_login(alice)
    today = dt.datetime.now(dt.UTC).date()
    yesterday = today - dt.timedelta(days=1)
    assert _rows(client.get(_url(tenant_a), {"date_from": today, "date_to": today})) == 50
    empty = client.get(_url(tenant_a), {"date_to": yesterday})
    assert _rows(empty) == 0
    assert "No events match these filters" in empty.content.decode()


@pytest.mark.parametrize(
    "params", [{"ip": "not-an-ip"}, {"date_from": "2024-13-45"}, {"page": "x; drop"}]
)
def test_bad_filter_input_is_a_clear_error_not_a_500(client, alice, tenant_a, events, params):
    client.force_login(alice)
    response = client.get(_url(tenant_a), params)
    assert response.status_code == 200
    if "page" not in params:
        assert 'class="error"' in response.content.decode()
        assert _rows(response) == 0


def test_query_count_does_not_grow_with_rows(
    client, alice, tenant_a, events, django_assert_max_num_queries
):
    client.force_login(alice)
    client.get(_url(tenant_a))  # warm caches (permission checker, content types)
    with django_assert_max_num_queries(10):
        response = client.get(_url(tenant_a), {"page": 2})
    assert _rows(response) == 50


def test_other_tenants_events_never_show(client, alice, tenant_a, tenant_b):
    audit.record(tenant_b, "bravo.secret", actor="charlie@bravo.test")
    client.force_login(alice)
    response = client.get(_url(tenant_a), {"action": "bravo"})
    assert _rows(response) == 0
    assert "bravo.secret" not in client.get(_url(tenant_a)).content.decode()


@pytest.mark.parametrize("who", ["sam", "rita"])
def test_non_global_admins_get_403(client, tenant_a, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(_url(tenant_a)).status_code == 403
    assert client.get(_url(tenant_a, "tenants:audit-export")).status_code == 403
    assert (
        'href="/t/alpha/audit/"'
        not in client.get(reverse("tenants:dashboard", args=[tenant_a.slug])).content.decode()
    )


def test_other_tenant_admin_gets_404(client, charlie, tenant_a):
    client.force_login(charlie)
    assert client.get(_url(tenant_a)).status_code == 404
    assert client.get(_url(tenant_a, "tenants:audit-export")).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, tenant_a):
    for name in ("tenants:audit", "tenants:audit-export"):
        response = client.get(_url(tenant_a, name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def _csv(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_streams_the_filtered_log_and_is_audited(client, alice, tenant_a, events):
    client.force_login(alice)
    response = client.get(_url(tenant_a, "tenants:audit-export"), {"action": "token."})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit-alpha-' in response["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 40
    assert {r["action"] for r in rows} == {"token.created"}
    assert [int(r["seq"]) for r in rows] == sorted((int(r["seq"]) for r in rows), reverse=True)
    with tenant_context(tenant_a):
        exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_label == "alice@alpha.test"
    assert exported.details == {"filters": {"action": "token."}}
    assert audit.verify_chain(tenant_a).ok


def test_csv_export_neutralises_formulas(client, alice, tenant_a):
    audit.record(tenant_a, "auth.failed", actor='=HYPERLINK("http://x")', details={"u": "@x"})
    client.force_login(alice)
    rows = _csv(client.get(_url(tenant_a, "tenants:audit-export"), {"action": "auth.failed"}))
    assert rows[0]["actor"] == '\'=HYPERLINK("http://x")'


def test_csv_export_with_bad_filters_goes_back_to_the_page(client, alice, tenant_a):
    client.force_login(alice)
    response = client.get(_url(tenant_a, "tenants:audit-export"), {"ip": "nope"})
    assert response.status_code == 302
    assert response["Location"].startswith(_url(tenant_a))
    with tenant_context(tenant_a):
        assert not AuditEvent.objects.filter(action="audit.exported").exists()
