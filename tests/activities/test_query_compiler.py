"""The JSON filter language (spec 7.2 operators on the 7.4 fields), compiled to SQL and run on
PostgreSQL: every operator, the spec's semantics, and clear errors for what it does not know."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.activities import partitions, query, selectors
from apps.activities.models import IpCategory
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def rows(tenant_a):
    crm = logdata.app(tenant_a, "CRM")
    drive = logdata.app(tenant_a, "Drive", vendor="google_workspace")
    bob = logdata.person(tenant_a, "bob@alpha.test", "Bob")
    bob_crm = logdata.account(tenant_a, crm, bob)
    sales = logdata.group(tenant_a, "Sales", [bob_crm])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    made = {
        "a": logdata.activity_row(
            crm,
            now,
            user=bob,
            account=bob_crm,
            actor="bob@alpha.test",
            ip="10.1.2.3",
            country="FR",
            ip_category=IpCategory.CORPORATE,
            ip_tags=["Head office", "Paris"],
            object_name="virus_malware_file.exe",
            user_agent="Mozilla/5.0 (Windows NT 10.0)",
            device_type="PC",
            isp="Orange",
            succeeded=True,
        ),
        "b": logdata.activity_row(
            crm,
            now - dt.timedelta(days=3),
            actor="svc-backup",
            action_type="UserLoginFailed",
            activity_type="failed_login",
            ip="10.10.9.9",
            country="DE",
            object_name="malwarevirusfile.exe",
            succeeded=False,
            source="push",
        ),
        "c": logdata.activity_row(
            drive,
            now - dt.timedelta(days=10),
            actor="eve@partner.test",
            action_type="change_acl",
            activity_type="share",
            is_admin=True,
            ip=None,
            country="",
            object_name="Quarterly Report 2026.pdf",
            device_type="MOBILE",
        ),
    }
    logdata.add(tenant_a, list(made.values()))
    return {"rows": made, "now": now, "group": sales, "crm": crm, "bob": bob}


def _match(tenant, filters) -> set[str]:
    with tenant_context(tenant):
        queryset = selectors.activities()
        condition = query.compile_filters(filters, using=queryset.db)
        return set(queryset.filter(condition).values_list("object_name", flat=True))


def _names(rows, *keys) -> set[str]:
    return {rows["rows"][k].object_name for k in keys}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, "abc"),
        ({"ip.address": {"eq": ["10.1.2.3"]}}, "a"),
        ({"ip.address": {"eq": ["10.1.2.3", "10.10.9.9"]}}, "ab"),  # values ORed
        ({"ip.address": {"startswith": ["10.1"]}}, "ab"),  # text prefix, as the spec says
        ({"ip.address": {"startswith": ["10.1."]}}, "a"),
        ({"ip.address": {"doesnotstartwith": ["10.1."]}}, "bc"),  # keeps c: no IP
        # neq keeps activities without the attribute (spec 1.3)...
        ({"ip.address": {"neq": ["10.1.2.3"]}}, "bc"),
        # ...unless isset is added to the same field.
        ({"ip.address": {"neq": ["10.1.2.3"], "isset": True}}, "b"),
        ({"ip.address": {"isnotset": True}}, "c"),
        ({"location.country": {"eq": ["fr", "DE"]}}, "ab"),
        ({"location.country": {"neq": ["FR"]}}, "bc"),
        ({"location.country": {"isnotset": True}}, "c"),
        ({"ip.category": {"eq": [1]}}, "a"),
        ({"ip.category": {"neq": [1]}}, "bc"),
        ({"ip.tags": {"eq": ["Paris"]}}, "a"),
        ({"ip.tags": {"neq": ["Paris"]}}, "bc"),
        ({"activity.eventType": {"eq": ["failed_login", "share"]}}, "bc"),
        ({"activity.eventType": {"neq": ["download"]}}, "bc"),
        ({"actionType": {"eq": ["userloginfailed"]}}, "b"),  # case-insensitive
        ({"actionType": {"contains": ["acl"]}}, "c"),
        ({"activity.type": {"eq": True}}, "c"),
        ({"activity.type": {"eq": False}}, "ab"),
        ({"activity.succeeded": {"eq": False}}, "b"),
        ({"activity.succeeded": {"isnotset": True}}, "c"),
        ({"user.username": {"startswith": ["BOB"]}}, "a"),
        ({"user.username": {"isnotset": True}}, ""),
        ({"user.domain": {"eq": ["partner.test"]}}, "c"),
        ({"user.domain": {"neq": ["partner.test"]}}, "ab"),
        ({"device.type": {"eq": ["pc"]}}, "a"),
        ({"device.type": {"neq": ["PC"]}}, "bc"),
        ({"userAgent.userAgent": {"contains": ["windows"]}}, "a"),
        ({"userAgent.userAgent": {"ncontains": ["windows"]}}, "bc"),
        ({"location.organizations": {"contains": ["ran"]}}, "a"),
        ({"source": {"eq": ["push"]}}, "b"),
        ({"service": {"eq": ["google_workspace"]}}, "c"),
        ({"service": {"neq": ["google_workspace"]}}, "ab"),
        # Whole words (spec 1.3): malware matches virus_malware_file.exe only.
        ({"text": {"text": "malware"}}, "a"),
        ({"text": {"text": "MALWARE"}}, "a"),
        ({"text": {"text": "malware quarterly"}}, "ac"),  # unquoted terms ORed
        ({"text": {"text": '"quarterly report"'}}, "c"),  # a quoted phrase
        ({"text": {"text": '"report quarterly"'}}, ""),
        ({"text": {"text": "2026"}}, "c"),
        ({"text": {"text": "svc"}}, "b"),  # the actor's word "svc" of "svc-backup"
        ({"text": {"eq": ["svc-backup"]}}, "b"),
        ({"text": {"startswithsingle": "quarter"}}, "c"),
        ({"date": {"gte_ndays": 5}}, "ab"),
        ({"date": {"lte_ndays": 5}}, "c"),
        ({"ip.address": {"eq": ["::ffff:10.1.2.3"]}}, "a"),  # one spelling per address
    ],
)
def test_operators(tenant_a, rows, filters, expected):
    assert _match(tenant_a, filters) == _names(rows, *expected)


def test_people_accounts_groups_and_dates(tenant_a, rows):
    now = rows["now"]
    assert _match(tenant_a, {"entity": {"eq": [str(rows["bob"].id)]}}) == _names(rows, "a")
    assert _match(tenant_a, {"entity": {"isnotset": True}}) == _names(rows, "b", "c")
    assert _match(tenant_a, {"entity": {"neq": [str(rows["bob"].id)]}}) == _names(rows, "b", "c")
    assert _match(tenant_a, {"user.tags": {"eq": [str(rows["group"].id)]}}) == _names(rows, "a")
    assert _match(tenant_a, {"user.tags": {"neq": [str(rows["group"].id)]}}) == _names(
        rows, "b", "c"
    )
    assert _match(tenant_a, {"instance": {"eq": [str(rows["crm"].id)]}}) == _names(rows, "a", "b")
    day = dt.timedelta(days=1)
    assert _match(tenant_a, {"date": {"gte": _ms(now - 4 * day)}}) == _names(rows, "a", "b")
    assert _match(tenant_a, {"date": {"lte": _ms(now - 4 * day)}}) == _names(rows, "c")
    assert _match(tenant_a, {"date": {"gt": _ms(now)}}) == set()
    ranges = [
        {"start": _ms(now - 11 * day), "end": _ms(now - 9 * day)},
        {"start": _ms(now - dt.timedelta(minutes=1)), "end": _ms(now)},
    ]
    assert _match(tenant_a, {"date": {"range": ranges}}) == _names(rows, "a", "c")
    iso = (now - 4 * day).isoformat()
    assert _match(tenant_a, {"date": {"gte": iso}}) == _names(rows, "a", "b")
    assert _match(tenant_a, {"activity.id": {"eq": [str(rows["rows"]["b"].id)]}}) == _names(
        rows, "b"
    )


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        ({"colour": {"eq": ["red"]}}, "colour"),
        ({"ip.address": {"like": ["10.%"]}}, "ip.address.like"),
        ({"ip.address": {"eq": ["999.1.1.1"]}}, "ip.address.eq"),
        ({"ip.address": {"startswith": ["10.*"]}}, "ip.address.startswith"),
        ({"ip.address": {"isset": False}}, "ip.address.isset"),
        ({"ip.address": ["10.1.2.3"]}, "ip.address"),
        ({"ip.category": {"eq": [9]}}, "ip.category.eq"),
        ({"ip.category": {"eq": ["1"]}}, "ip.category.eq"),
        ({"location.country": {"eq": ["France"]}}, "location.country.eq"),
        ({"activity.eventType": {"eq": ["coffee"]}}, "activity.eventType.eq"),
        ({"activity.type": {"eq": "yes"}}, "activity.type.eq"),
        ({"entity": {"eq": ["bob"]}}, "entity.eq"),
        ({"date": {"gte": "yesterday"}}, "date.gte"),
        ({"date": {"gte": 10**20}}, "date.gte"),
        ({"date": {"gte": True}}, "date.gte"),
        ({"date": {"range": [{"start": 2, "end": 1}]}}, "date.range"),
        ({"date": {"range": [{"from": 1}]}}, "date.range"),
        ({"date": {"gte_ndays": -1}}, "date.gte_ndays"),
        ({"text": {"text": "nul\x00byte"}}, "text.text"),
        ({"actionType": {"eq": []}}, "actionType.eq"),
        ({"actionType": {"eq": ["x"] * 101}}, "actionType.eq"),
        ({"actionType": {"eq": [3]}}, "actionType.eq"),
    ],
)
def test_what_it_does_not_know_is_named(tenant_a, filters, where):
    with tenant_context(tenant_a), pytest.raises(query.FilterError) as caught:
        query.compile_filters(filters)
    assert where in caught.value.errors
    assert all(caught.value.errors.values())


def test_every_problem_is_reported_at_once():
    with pytest.raises(query.FilterError) as caught:
        query.compile_filters(
            {"colour": {"eq": ["red"]}, "date": {"gte": "x", "sooner": 1}, "ip.tags": {}}
        )
    assert set(caught.value.errors) == {"colour", "date.gte", "date.sooner", "ip.tags"}
    assert "Known fields" in caught.value.errors["colour"][0]
    assert "gte" in caught.value.errors["date.sooner"][0]  # lists the operators it takes


def test_filters_must_be_an_object():
    with pytest.raises(query.FilterError):
        query.compile_filters(["ip.address"])


def test_whole_word_pattern_is_literal():
    """Regex characters in a search term are matched literally, not interpreted."""
    assert query.parse_text('a.b* "c (d" e') == ["a.b*", "c (d", "e"]
    import re

    pattern = query.word_pattern("a.b*")
    assert re.search(pattern, "x a.b* y", re.I)
    assert not re.search(pattern, "x aXbbb y", re.I)
