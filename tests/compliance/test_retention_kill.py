"""A purge killed half-way loses nothing and the next run finishes it.

A real `manage.py purge_retention` process runs against the test database. The test holds a
row lock on the first row of the *second* batch (the purge deletes oldest first, so which rows
each batch takes is known): the first batch commits with its record, the second blocks on
that row. Then the process gets SIGKILL, its half-done batch rolls back, and a new run
completes the same record.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connections

from apps.compliance.models import PurgeStatus
from apps.compliance.retention import purge_all
from apps.governance.models import GovernanceAction
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.compliance import retention_kit as kit
from tests.factories import make_tenant

ROOT = Path(__file__).resolve().parents[2]
BATCH = 5
ROWS = 12


def _url(alias: str) -> str:
    s = connections[alias].settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


@pytest.mark.django_db(transaction=True, databases=["default", "geo_us"])
def test_a_killed_purge_keeps_what_it_committed_and_the_next_run_finishes(settings):
    tenant = make_tenant("Killed", geo="eu")
    app = logdata.app(tenant)
    account = logdata.account(tenant, app, None)
    actions = [kit.governance(tenant, app, account, 200 - i, "succeeded") for i in range(ROWS)]
    first_of_second_batch = actions[BATCH]  # oldest first: rows BATCH.. are batch two
    url = _url("default")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "casb.test_settings",
        "DATABASE_URL": url,
        "DATABASE_URL_GEO_US": _url("geo_us"),
        "RETENTION_BATCH_SIZE": str(BATCH),
    }
    with psycopg.connect(url, autocommit=True) as watcher, psycopg.connect(url) as locker:
        locker.execute(
            "SELECT 1 FROM governance_governanceaction WHERE id = %s FOR UPDATE",
            [first_of_second_batch.pk],
        )
        process = subprocess.Popen(
            [sys.executable, "manage.py", "purge_retention"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:

            def first_batch_committed():
                row = watcher.execute(
                    "SELECT removed FROM compliance_purgerun WHERE tenant_id = %s",
                    [tenant.id],
                ).fetchone()
                return row and row[0] == BATCH

            def blocked_backend():
                row = watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE 'DELETE%%'"
                ).fetchone()
                return row and row[0]

            _wait(first_batch_committed)
            pid = _wait(blocked_backend)  # the second batch is deleting, not committed
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
        locker.rollback()  # let the orphaned session go on: it rolls back when it cannot reply
        _wait(
            lambda: (
                not watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
                ).fetchone()
            )
        )

    with tenant_context(tenant):
        assert GovernanceAction.objects.count() == ROWS - BATCH  # batch two rolled back whole
    [run] = kit.runs(tenant, kind="governance")
    assert (run.status, run.removed) == (PurgeStatus.RUNNING, BATCH)

    settings.RETENTION_BATCH_SIZE = BATCH
    purge_all()

    with tenant_context(tenant):
        assert GovernanceAction.objects.count() == 0
    [finished] = kit.runs(tenant, kind="governance")  # the same record, continued
    assert finished.pk == run.pk
    assert (finished.status, finished.removed) == (PurgeStatus.DONE, ROWS)
    assert finished.details["by_table"] == {"governance.GovernanceAction": ROWS}
