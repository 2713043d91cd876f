"""CSV export of the activity log: streamed (flat memory), capped, formula-safe, by role (EXPORT,
not readers), audited, and never showing another tenant's rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.activities import export, partitions
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming, "rows are streamed, not built in memory"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def _api(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


@pytest.fixture
def data(tenant_a, tenant_b):
    crm = logdata.app(tenant_a, "CRM")
    bob = logdata.person(tenant_a, "bob@alpha.test", "Bob")
    now = logdata.base_time()
    names = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "plain.txt", "\tTAB"]
    rows = [
        logdata.activity_row(
            crm,
            now - dt.timedelta(minutes=i),
            user=bob if i < 3 else None,
            object_name=name,
            country="FR" if i % 2 == 0 else "DE",
            ip_tags=["Tor", "Exit"] if i == 0 else [],
        )
        for i, name in enumerate(names)
    ]
    logdata.add(tenant_a, rows)
    b_app = logdata.app(tenant_b, "Bravo app")
    logdata.add(tenant_b, [logdata.activity_row(b_app, now, object_name="bravo-only.txt")])
    return {"rows": rows, "bob": bob}


def test_admin_exports_the_filtered_view(client, sam, tenant_a, data):
    client.force_login(sam)
    url = reverse("activities:export", args=[tenant_a.slug])
    response = client.get(url, {"country": "FR"})
    assert 'attachment; filename="activities-alpha-' in response["Content-Disposition"]
    lines = _csv(response)
    assert lines[0] == export.COLUMNS
    assert len(lines) == 1 + 3
    countries = {line[export.COLUMNS.index("country")] for line in lines[1:]}
    assert countries == {"FR"}
    first = dict(zip(export.COLUMNS, lines[1], strict=True))
    assert first["app"] == "CRM" and first["person"] == "bob@alpha.test"
    assert first["ip_tags"] == "Tor;Exit"
    assert first["occurred_at_utc"].endswith("Z")


def test_cells_cannot_run_as_formulas(client, alice, tenant_a, data):
    client.force_login(alice)
    lines = _csv(client.get(reverse("activities:export", args=[tenant_a.slug])))
    names = [line[export.COLUMNS.index("object_name")] for line in lines[1:]]
    assert names == [
        '\'=HYPERLINK("http://evil")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "plain.txt",
        "'\tTAB",
    ]


def test_export_is_audited_with_filters_and_row_count(client, sam, tenant_a, data):
    client.force_login(sam)
    url = reverse("activities:export", args=[tenant_a.slug])
    _csv(client.get(url, {"country": "DE", "q": "sum"}))
    with tenant_context(tenant_a):
        event = AuditEvent.objects.filter(action="activities.exported").get()
    assert event.actor_label == "sam@alpha.test"
    assert event.details["filters"] == {"country": "DE", "q": "sum"}
    assert event.details["rows"] == 1 and event.details["capped"] is False


def test_person_export_from_the_entity_page(client, sam, tenant_a, data):
    client.force_login(sam)
    page = client.get(reverse("accounts:detail", args=[tenant_a.slug, data["bob"].id]))
    export_url = f"{reverse('activities:export', args=[tenant_a.slug])}?user={data['bob'].id}"
    assert export_url in page.content.decode()
    response = client.get(export_url)
    assert 'filename="person-activities-alpha-' in response["Content-Disposition"]
    lines = _csv(response)
    assert len(lines) == 1 + 3
    assert {line[export.COLUMNS.index("person")] for line in lines[1:]} == {"bob@alpha.test"}


def test_the_cap_is_stated_on_the_last_line(client, sam, tenant_a, data, monkeypatch):
    monkeypatch.setattr(export, "ROW_CAP", 4)
    client.force_login(sam)
    lines = _csv(client.get(reverse("activities:export", args=[tenant_a.slug])))
    assert len(lines) == 1 + 4 + 1
    assert lines[-1][0].startswith("# Export stopped at 4 rows")
    with tenant_context(tenant_a):
        event = AuditEvent.objects.filter(action="activities.exported").get()
    assert event.details["rows"] == 4 and event.details["capped"] is True


def test_readers_may_read_but_not_export(client, rita, tenant_a, data):
    client.force_login(rita)
    assert client.get(reverse("activities:list", args=[tenant_a.slug])).status_code == 200
    assert client.get(reverse("activities:export", args=[tenant_a.slug])).status_code == 403
    api = _api(rita, tenant_a, Role.SECURITY_READER)
    answer = api.get("/api/v1/activities/export/")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "permission_denied"
    page = client.get(reverse("accounts:detail", args=[tenant_a.slug, data["bob"].id]))
    assert "Export CSV" not in page.content.decode()
    with tenant_context(tenant_a):
        assert not AuditEvent.objects.filter(action="activities.exported").exists()


def test_invalid_filters_are_not_exported(client, sam, tenant_a, data):
    client.force_login(sam)
    response = client.get(reverse("activities:export", args=[tenant_a.slug]), {"ip": "nope"})
    assert response.status_code == 302 and "ip=nope" in response["Location"]
    api = _api(sam, tenant_a, Role.SECURITY_ADMIN)
    answer = api.get("/api/v1/activities/export/", {"ip": "nope"})
    assert answer.status_code == 400 and "ip" in answer.json()["error"]["details"]


def test_api_export_streams_csv_and_is_audited_with_the_token(sam, tenant_a, data):
    api = _api(sam, tenant_a, Role.SECURITY_ADMIN)
    response = api.get("/api/v1/activities/export/", {"country": "FR"}, HTTP_ACCEPT="text/csv")
    lines = _csv(response)
    assert len(lines) == 4
    with tenant_context(tenant_a):
        event = AuditEvent.objects.filter(action="activities.exported").get()
    assert "matrix" in event.actor_label  # the token's name: the token is the actor
    assert event.details["filters"] == {"country": "FR"}


def test_cross_tenant_rows_never_appear(client, charlie, tenant_a, tenant_b, data):
    client.force_login(charlie)
    assert client.get(reverse("activities:export", args=[tenant_a.slug])).status_code == 404
    own = _csv(client.get(reverse("activities:export", args=[tenant_b.slug])))
    assert [line[export.COLUMNS.index("object_name")] for line in own[1:]] == ["bravo-only.txt"]
    api = _api(charlie, tenant_b, Role.GLOBAL_ADMIN)
    by_api = _csv(api.get("/api/v1/activities/export/"))
    body = str(by_api)
    assert "bravo-only.txt" in body
    assert all(str(r.id) not in body for r in data["rows"])
    assert "HYPERLINK" not in body


def _peak_while_exporting(client, url) -> tuple[int, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        response = client.get(url)
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        # (the test client closes the response when the iteration ends)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, lines


def test_memory_does_not_grow_with_row_count(client, sam, tenant_a, monkeypatch):
    # Chunks of 500: both exports run many chunks, so the comparison is steady state against
    # steady state (with one chunk only, the small export would never hold two at once).
    monkeypatch.setattr(export, "CHUNK", 500)
    small_app = logdata.app(tenant_a, "Small")
    big_app = logdata.app(tenant_a, "Big")
    logdata.many(tenant_a, small_app, 2_000, object_name="small " + "x" * 80)
    logdata.many(tenant_a, big_app, 20_000, object_name="big " + "y" * 80)
    client.force_login(sam)
    url = reverse("activities:export", args=[tenant_a.slug])
    _peak_while_exporting(client, f"{url}?app={small_app.id}")  # warm caches and imports
    small_peak, small_lines = _peak_while_exporting(client, f"{url}?app={small_app.id}")
    big_peak, big_lines = _peak_while_exporting(client, f"{url}?app={big_app.id}")
    assert (small_lines, big_lines) == (2_001, 20_001)
    print(
        f"\nexport peak memory: 2k rows {small_peak / 1e6:.1f} MB, 20k rows {big_peak / 1e6:.1f} MB"
    )
    # Ten times the rows, about the same peak.
    assert big_peak < small_peak * 1.5


def test_export_reads_no_row_by_row(client, sam, tenant_a, django_assert_max_num_queries):
    """No N+1: the app, account and person of each row come with the row."""
    apps = [logdata.app(tenant_a, f"App {i}") for i in range(3)]
    logdata.one_per_person(tenant_a, apps, 40, "x")
    client.force_login(sam)
    url = reverse("activities:export", args=[tenant_a.slug])
    client.get(url)  # warm the session and permission caches
    with django_assert_max_num_queries(20):
        lines = _csv(client.get(url))
    assert len(lines) == 41
    assert {line[export.COLUMNS.index("account")] for line in lines[1:]} != {""}
