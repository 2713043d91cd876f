"""Ingestion: validation with plain reasons, bulk write, dedupe, idempotence, streaming, actors,
geo pinning. Real PostgreSQL (both geo databases), no mocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from apps.accounts.models import Account, AccountStatus, CloudUser
from apps.activities import partitions
from apps.activities.ingestion import ingest
from apps.activities.models import Activity
from apps.connectors.models import AppInstance
from apps.tenants.scoping import tenant_context
from tests.activities.ingest_factories import activities, event, make_app, recent
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


@pytest.fixture
def app(tenant_a):
    return make_app(tenant_a)


def run(tenant, app, events, **kwargs):
    return ingest(tenant=tenant, app_instance=app, events=events, source="push", **kwargs)


def test_valid_events_land_enriched(tenant_a, app):
    result = run(tenant_a, app, [event(1), event(2)])
    assert (result.accepted, result.duplicates, result.rejected) == (2, 0, [])
    first = activities(tenant_a)[0]
    assert first.source_event_id == "evt-1"
    assert first.tenant_id == tenant_a.id and first.app_instance_id == app.id
    assert first.country == "US" and first.isp == "GOOGLE"
    assert (first.device_type, first.browser) == ("pc", "Chrome 120")
    assert first.os == "Windows 10"
    assert first.raw == {"Id": "evt-1"} and first.ip_tags == []
    assert first.ingested_at >= first.occurred_at


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"source_event_id": ""}, "source_event_id is missing"),
        ({"source_event_id": "   "}, "source_event_id is missing"),
        ({"occurred_at": datetime(2026, 1, 1, 12, 0)}, "occurred_at has no time zone"),  # noqa: DTZ001
        ({"occurred_at": "2026-01-01T00:00:00Z"}, "occurred_at is missing or not a date"),
        ({"occurred_at": datetime(2001, 1, 1, tzinfo=UTC)}, "older than the 180-day"),
        (
            {"occurred_at": datetime.now(UTC) + timedelta(days=2)},
            "more than 1 day in the future",
        ),
        ({"ip": "999.1.1.1"}, "ip '999.1.1.1' is not an IPv4 or IPv6 address"),
        ({"ip": "not an ip"}, "is not an IPv4 or IPv6 address"),
        ({"ip": 12345}, "is not an IPv4 or IPv6 address"),
        ({"actor": "a" * 255}, "actor is longer than 254 characters"),
        ({"object_name": "x" * 501}, "object_name is longer than 500 characters"),
        ({"source_event_id": "e" * 201}, "source_event_id is longer than 200 characters"),
        ({"activity_type": "teleport"}, "activity_type 'teleport' is unknown"),
        ({"action_type": ""}, "action_type is missing"),
        ({"succeeded": "yes"}, "succeeded must be true, false or null"),
        ({"is_admin": None}, "is_admin must be true or false"),
        ({"raw": ["not", "an", "object"]}, "raw must be a JSON object"),
        ({"raw": {"x": float("nan")}}, "raw cannot be stored as JSON"),
        ({"raw": {"blob": "x" * 70000}}, "raw is larger than 64 KB"),
        ({"actor": 42}, "actor must be text"),
    ],
)
def test_each_bad_event_gets_a_plain_reason(tenant_a, app, fields, reason):
    result = run(tenant_a, app, [event(1), event(2, **fields), event(3)])
    assert result.accepted == 2
    assert len(result.rejected) == 1
    assert result.rejected[0].index == 1
    assert reason in result.rejected[0].reason
    assert [a.source_event_id for a in activities(tenant_a)] == ["evt-1", "evt-3"]


def test_not_an_event_is_rejected(tenant_a, app):
    result = run(tenant_a, app, [{"source_event_id": "x"}, event(1)])
    assert result.accepted == 1
    assert (result.rejected[0].index, result.rejected[0].reason) == (0, "not an event")


def test_a_retry_of_the_same_events_adds_nothing(tenant_a, app):
    batch = [event(n) for n in range(1, 6)]
    assert run(tenant_a, app, batch).accepted == 5
    again = run(tenant_a, app, batch)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 5, [])
    assert len(activities(tenant_a)) == 5


def test_overlapping_batches_are_deduplicated(tenant_a, app):
    first = run(tenant_a, app, [event(n) for n in range(1, 7)])
    second = run(tenant_a, app, [event(n) for n in range(4, 11)])
    assert (first.accepted, first.duplicates) == (6, 0)
    assert (second.accepted, second.duplicates) == (4, 3)
    assert len(activities(tenant_a)) == 10


def test_duplicates_within_one_batch_are_counted(tenant_a, app):
    result = run(tenant_a, app, [event(1), event(1), event(2)])
    assert (result.accepted, result.duplicates) == (2, 1)


def test_same_event_id_in_another_app_is_not_a_duplicate(tenant_a, app):
    other = make_app(tenant_a, "Other app")
    run(tenant_a, app, [event(1)])
    result = run(tenant_a, other, [event(1)])
    assert result.accepted == 1


def test_chunks_stream_and_each_commits_whole(tenant_a, app):
    read = []

    def events():
        for n in range(1, 11):
            read.append(n)
            if n == 8:
                raise RuntimeError("source broke")
            yield event(n)

    with pytest.raises(RuntimeError):
        run(tenant_a, app, events(), chunk_size=3)
    # Chunks 1-3 and 4-6 were written before the source broke; 7 (half a chunk) was not.
    assert [a.source_event_id for a in activities(tenant_a)] == [f"evt-{n}" for n in range(1, 7)]
    assert read == list(range(1, 9))  # read lazily, never ahead of the chunk being written


def test_rejection_indexes_count_across_chunks(tenant_a, app):
    batch = [event(n) for n in range(10)]
    batch[7] = event(7, ip="bad")
    result = run(tenant_a, app, batch, chunk_size=3)
    assert [r.index for r in result.rejected] == [7]
    assert result.accepted == 9


def test_latest_event_at_moves_forward_only(tenant_a, app):
    newest = recent(0)
    run(tenant_a, app, [event(1, occurred_at=newest), event(2, occurred_at=recent(30))])
    assert app.latest_event_at == newest
    run(tenant_a, app, [event(3, occurred_at=recent(90))])
    with tenant_context(tenant_a):
        assert AppInstance.objects.get(pk=app.pk).latest_event_at == newest


def test_text_the_database_refuses_is_cleaned(tenant_a, app):
    result = run(
        tenant_a,
        app,
        [event(1, object_name="bad\x00name", raw={"k": "nul\x00here", "s": "\ud800lone"})],
    )
    assert result.accepted == 1
    stored = activities(tenant_a)[0]
    assert stored.object_name == "bad\ufffdname"
    assert stored.raw["k"] == "nul\ufffdhere"
    assert "\ud800" not in stored.raw["s"]


def test_actors_first_seen_become_accounts_once(tenant_a, app):
    run(tenant_a, app, [event(1, actor="Bob@Alpha.test", actor_display_name="Bob B")])
    run(tenant_a, app, [event(2, actor="bob@alpha.test"), event(3, actor="bob@alpha.test")])
    with tenant_context(tenant_a):
        accounts = list(Account.objects.filter(app_instance=app))
        users = list(CloudUser.objects.all())
    assert len(accounts) == 1 and len(users) == 1
    account, person = accounts[0], users[0]
    assert account.status == AccountStatus.NA
    assert (account.username, account.email) == ("Bob@Alpha.test", "bob@alpha.test")
    assert account.user_id == person.id and person.identity == "bob@alpha.test"
    assert account.last_seen == recent(1)  # the newest of its events (event 1)
    assert person.first_seen is not None and person.last_seen == recent(1)
    assert {(a.account_id, a.user_id) for a in activities(tenant_a)} == {(account.id, person.id)}


def test_actors_resolve_to_directory_accounts(tenant_a, app):
    with tenant_context(tenant_a):
        person = CloudUser.objects.create(identity="carol@alpha.test", display_name="Carol")
        by_id = Account.objects.create(
            app_instance=app, external_id="guid-1", username="carol@alpha.test", user=person
        )
        by_name = Account.objects.create(
            app_instance=app, external_id="guid-2", username="DAVE@alpha.test"
        )
    run(
        tenant_a,
        app,
        [
            event(1, actor="whatever", actor_external_id="guid-1"),
            event(2, actor="dave@alpha.test"),
            event(3, actor="", actor_external_id="", ip=None),
        ],
    )
    rows = activities(tenant_a)
    assert (rows[0].account_id, rows[0].user_id) == (by_id.id, person.id)
    assert rows[1].account_id == by_name.id
    assert (rows[2].account_id, rows[2].user_id) == (None, None)
    with tenant_context(tenant_a):
        assert Account.objects.count() == 2  # nobody new: both were in the directory
        # The directory account had no person; the activity is still joined by identity.
        dave = CloudUser.objects.get(identity="dave@alpha.test")
    assert rows[1].user_id == dave.id


def test_actor_resolution_is_bulk(tenant_a, app, django_assert_max_num_queries):
    batch = [event(n, actor=f"user{n % 50}@alpha.test") for n in range(500)]
    # A handful of statements per chunk, however many events and actors.
    with django_assert_max_num_queries(40):
        result = run(tenant_a, app, batch)
    assert result.accepted == 500
    with tenant_context(tenant_a):
        assert Account.objects.filter(app_instance=app).count() == 50


def test_us_tenant_rows_land_in_the_us_database(app):
    us = make_tenant("Yankee", geo="us")
    us_app = make_app(us, "US app")
    result = run(us, us_app, [event(1), event(2)])
    assert result.accepted == 2
    assert len(activities(us)) == 2
    table = partitions.TABLE

    def count(alias: str) -> int:
        with connections[alias].cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [us.id])  # noqa: S608
            return cursor.fetchone()[0]

    assert (count("geo_us"), count("default")) == (2, 0)
    with tenant_context(us):
        assert Account.objects.count() == 1  # the actor's account, also in the US database
    assert Account.unscoped_objects.using("default").filter(tenant_id=us.id).count() == 0


def test_wrong_tenant_or_source_is_a_programming_error(tenant_a, tenant_b, app):
    with pytest.raises(ValueError, match="another tenant"):
        ingest(tenant=tenant_b, app_instance=app, events=[], source="push")
    with pytest.raises(ValueError, match="Unknown activity source"):
        ingest(tenant=tenant_a, app_instance=app, events=[], source="carrier-pigeon")


def test_missing_partition_cache_recovers(tenant_a, app):
    """A stale partition cache (a rolled-back CREATE) must not lose a chunk."""
    day = recent(1).date()
    partitions._known[tenant_a.db_alias] = {day}  # claims the day exists; it does not
    result = run(tenant_a, app, [event(1)])
    assert result.accepted == 1
    with tenant_context(tenant_a):
        assert Activity.objects.count() == 1


def test_an_event_the_database_refuses_is_isolated_and_rejected(tenant_a, app):
    """The database refuses one row (here a trigger, as a constraint or a limit would): the
    chunk is split until that row is found; every other event lands, nothing half-written."""
    with connections[tenant_a.db_alias].cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.source_event_id = 'evt-6' THEN "
            "RAISE EXCEPTION 'poisoned row' USING ERRCODE = 'data_exception'; END IF; "
            "RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_poison BEFORE INSERT ON {partitions.TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
        )
    result = run(tenant_a, app, [event(n, actor=f"p{n}@alpha.test") for n in range(10)])
    assert result.accepted == 9
    assert [(r.index, r.reason) for r in result.rejected] == [
        (6, "the database refused this event: poisoned row")
    ]
    assert "evt-6" not in {a.source_event_id for a in activities(tenant_a)}
    with tenant_context(tenant_a):
        # The refused event's actor got no account: its chunk piece rolled back whole.
        assert not Account.objects.filter(username="p6@alpha.test").exists()
        assert Account.objects.count() == 9
