"""The pipelined path of ingestion: outside any transaction, on PostgreSQL, a writer thread
with its own connection stores chunk n while chunk n+1 is prepared. Same outcome as the inline
path: counts, ordered rejections, whole chunks only, actors resolved once."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from apps.accounts.models import Account
from apps.activities import ingestion, partitions
from apps.activities.ingestion import ingest
from tests.activities.ingest_factories import activities, event, make_app

# Real commits: the writer thread's connection cannot see a test transaction.
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def test_pipelined_ingestion_matches_the_inline_one(tenant_a):
    app = make_app(tenant_a)
    assert ingestion._may_pipeline(tenant_a.db_alias)
    threads = []
    original = ingestion._write_pipelined

    def spy(run, chunks):
        threads.append(threading.active_count())
        return original(run, chunks)

    ingestion._write_pipelined = spy
    try:
        batch = [event(n, actor=f"u{n % 7}@alpha.test") for n in range(40)]
        batch[5] = event(5, ip="nope")
        batch[33] = event(33, activity_type="teleport")
        result = ingest(
            tenant=tenant_a, app_instance=app, events=batch, source="push", chunk_size=6
        )
        again = ingest(tenant=tenant_a, app_instance=app, events=batch, source="push", chunk_size=6)
    finally:
        ingestion._write_pipelined = original
    assert threads, "the pipelined path was not taken"
    assert (result.accepted, result.duplicates) == (38, 0)
    assert [r.index for r in result.rejected] == [5, 33]
    assert (again.accepted, again.duplicates) == (0, 38)
    assert len(activities(tenant_a)) == 38
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_account WHERE tenant_id = %s", [tenant_a.id])
        assert cursor.fetchone()[0] == 7
    app.refresh_from_db()
    assert app.latest_event_at is not None


def test_a_broken_source_leaves_whole_chunks_only(tenant_a):
    app = make_app(tenant_a)

    def events():
        for n in range(1, 30):
            if n == 20:
                raise RuntimeError("source broke")
            yield event(n)

    with pytest.raises(RuntimeError, match="source broke"):
        ingest(tenant=tenant_a, app_instance=app, events=events(), source="push", chunk_size=4)
    # 1-16 are four whole chunks; 17-19 (a partial chunk) were never handed to the writer.
    assert [a.source_event_id for a in activities(tenant_a)] == sorted(
        f"evt-{n}" for n in range(1, 17)
    )
    assert Account.unscoped_objects.filter(tenant_id=tenant_a.id).count() == 1


def test_a_database_failure_in_the_writer_reaches_the_caller(tenant_a):
    app = make_app(tenant_a)
    with connections["default"].cursor() as cursor:
        # Not a data problem of one event: the table refuses everything (a lost permission,
        # a full disk would look alike). It must surface, not be swallowed by the thread.
        cursor.execute(
            "CREATE FUNCTION refuse_all() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'read only' USING ERRCODE = 'read_only_sql_transaction'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_all BEFORE INSERT ON {partitions.TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_all()"
        )
    try:
        with pytest.raises(Exception, match="read only"):
            ingest(
                tenant=tenant_a,
                app_instance=app,
                events=[event(n) for n in range(20)],
                source="push",
                chunk_size=5,
            )
    finally:
        with connections["default"].cursor() as cursor:
            cursor.execute(f"DROP TRIGGER refuse_all ON {partitions.TABLE}")
            cursor.execute("DROP FUNCTION refuse_all()")
    assert activities(tenant_a) == []
