"""Stable paging while ingestion runs: keyset pages on (occurred_at DESC, id DESC).

Rows that arrive between two page fetches, newer or older than the page being read, never
make a row of the original set appear twice or not at all (OFFSET paging would do both)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from apps.activities import partitions, selectors
from apps.activities.models import Activity
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def crm(tenant_a):
    return logdata.app(tenant_a, "CRM")


def _with_ties(tenant, crm, count: int) -> list[Activity]:
    """`count` rows, three per second: paging must break ties on time by id."""
    start = logdata.base_time()
    rows = [
        logdata.activity_row(crm, start - dt.timedelta(seconds=i // 3), object_name=f"orig-{i}")
        for i in range(count)
    ]
    return logdata.add(tenant, rows)


def _arrivals(tenant, crm, batch: int, seconds_before_start: list[int]) -> None:
    """New rows, some newer than everything, some in the middle of what is being paged."""
    start = logdata.base_time()
    rows = [
        logdata.activity_row(crm, start - dt.timedelta(seconds=s), object_name=f"new-{batch}-{n}")
        for n, s in enumerate(seconds_before_start)
    ]
    logdata.add(tenant, rows)


def test_selector_pages_skip_nothing_and_repeat_nothing(tenant_a, crm):
    original = {row.id for row in _with_ties(tenant_a, crm, 95)}
    seen: list = []
    cursor = None
    batch = 0
    with tenant_context(tenant_a):
        while True:
            page = selectors.keyset_page(selectors.activities(), cursor=cursor, size=10)
            seen.extend(row.id for row in page.rows)
            # Ingestion keeps writing between fetches: a row newer than all, one in the middle.
            batch += 1
            _arrivals(tenant_a, crm, batch, [-60, 10])
            if page.next is None:
                break
            cursor = page.next
    seen_original = [i for i in seen if i in original]
    assert len(seen_original) == len(set(seen_original)), "no row repeated"
    assert set(seen_original) == original, "no row skipped"


def test_offset_paging_would_have_repeated_rows(tenant_a, crm):
    """The control: the same story with OFFSET pages shows why keyset paging is used."""
    original = {row.id for row in _with_ties(tenant_a, crm, 30)}
    seen: list = []
    with tenant_context(tenant_a):
        for number in range(3):
            ordered = Activity.objects.order_by("-occurred_at", "-id")
            seen.extend(ordered.values_list("id", flat=True)[number * 10 : number * 10 + 10])
            _arrivals(tenant_a, crm, number, [-60])
    repeated = [i for i in seen if i in original]
    assert len(repeated) != len(set(repeated)) or set(repeated) != original


def test_going_back_returns_the_same_page(tenant_a, crm):
    _with_ties(tenant_a, crm, 35)
    with tenant_context(tenant_a):
        first = selectors.keyset_page(selectors.activities(), size=10)
        second = selectors.keyset_page(selectors.activities(), cursor=first.next, size=10)
        third = selectors.keyset_page(selectors.activities(), cursor=second.next, size=10)
        back = selectors.keyset_page(selectors.activities(), cursor=third.previous, size=10)
        assert [r.id for r in back.rows] == [r.id for r in second.rows]
        back_again = selectors.keyset_page(selectors.activities(), cursor=back.previous, size=10)
        assert [r.id for r in back_again.rows] == [r.id for r in first.rows]
        assert back_again.previous is None, "the first page has no page before it"
        last = selectors.keyset_page(selectors.activities(), cursor=third.next, size=10)
        assert len(last.rows) == 5 and last.next is None


def test_oldest_first_order(tenant_a, crm):
    rows = _with_ties(tenant_a, crm, 12)
    with tenant_context(tenant_a):
        first = selectors.keyset_page(selectors.activities(), size=5, newest_first=False)
        second = selectors.keyset_page(
            selectors.activities(), cursor=first.next, size=5, newest_first=False
        )
    ids = [r.id for r in first.rows + second.rows]
    expected = sorted(rows, key=lambda r: (r.occurred_at, r.id))[:10]
    assert ids == [r.id for r in expected]


def test_console_pages_with_cursor_links(client, rita, tenant_a, crm):
    _with_ties(tenant_a, crm, 120)
    client.force_login(rita)
    url = reverse("activities:list", args=[tenant_a.slug])
    names: list[str] = []
    response = client.get(url)
    pages = 0
    while True:
        pages += 1
        body = response.content.decode()
        names += re.findall(r"FileDownloaded (orig-\d+)</a>", body)
        _arrivals(tenant_a, crm, pages, [-30, 5])
        older = re.search(r'href="\?cursor=([^"]+)">Older</a>', body)
        if older is None:
            break
        response = client.get(url, {"cursor": older.group(1)})
    assert pages == 3
    assert sorted(names) == sorted(f"orig-{i}" for i in range(120))


def test_a_tampered_cursor_is_refused_clearly(client, rita, tenant_a, crm, api_client):
    _with_ties(tenant_a, crm, 3)
    client.force_login(rita)
    response = client.get(reverse("activities:list", args=[tenant_a.slug]), {"cursor": "bogus"})
    assert response.status_code == 200
    assert "This page link is not valid" in response.content.decode()
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(rita, tenant_a, Role.SECURITY_READER)}"
    )
    answer = api_client.get("/api/v1/activities/", {"cursor": "bogus"})
    assert answer.status_code == 400
    assert "cursor" in answer.json()["error"]["details"]


def test_api_get_pages_are_stable_too(tenant_a, rita, crm, api_client):
    original = {str(row.id) for row in _with_ties(tenant_a, crm, 45)}
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(rita, tenant_a, Role.SECURITY_READER)}"
    )
    url = "/api/v1/activities/?page_size=10"
    seen: list[str] = []
    batch = 0
    while url:
        body = api_client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        batch += 1
        _arrivals(tenant_a, crm, batch, [-100, 3])
        url = body["next"]
    kept = [i for i in seen if i in original]
    assert len(kept) == len(set(kept)) and set(kept) == original


def test_api_post_pages_with_next_cursor(tenant_a, rita, crm, api_client):
    original = {str(row.id) for row in _with_ties(tenant_a, crm, 25)}
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(rita, tenant_a, Role.SECURITY_READER)}"
    )
    body = {"filters": {"text": {"text": "FileDownloaded"}}, "limit": 10}
    seen: list[str] = []
    batch = 0
    while True:
        answer = api_client.post("/api/v1/activities/", body, format="json").json()
        seen += [row["id"] for row in answer["data"]]
        batch += 1
        _arrivals(tenant_a, crm, batch, [-100, 2])
        if not answer["hasNext"]:
            break
        body = {**body, "cursor": answer["nextCursor"]}
    kept = [i for i in seen if i in original]
    assert len(kept) == len(set(kept)) and set(kept) == original
