"""A governance action survives the death of the worker running it.

A real `celery worker` (prefork, one pool process) on Redis and the test databases runs
"suspend user" against the fake Okta. Okta applies the suspension and then holds its answer; the
test kills the pool process (SIGKILL) while it waits. With late acks and reject-on-worker-lost
the message goes back to the queue, a fresh pool process takes it, takes over the abandoned
in-progress action (its lock died with the killed process's database session), sees that Okta
already suspended the user, and records success: two attempts, one change at Okta.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections

from apps.governance.models import GovernanceAction, GovernanceKind, GovernanceStatus
from apps.tenants.scoping import tenant_context
from casb.celery import app

from .helpers import account, request

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, databases="__all__")]

TIMEOUT = 45  # seconds for each wait (worker start, redelivery)


def _database_url(alias: str) -> str:
    """URL of the test database behind `alias`, for the worker process."""
    s = connections[alias].settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = (f"{auth}@" if auth else "") + (s["HOST"] or "127.0.0.1")
    if s["PORT"]:
        host += f":{s['PORT']}"
    return f"postgres://{host}/{s['NAME']}"


def _start_worker(log_path: Path, ca_bundle: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "casb.test_settings",
        "DATABASE_URL": _database_url("default"),
        "DATABASE_URL_GEO_US": _database_url("geo_us"),
        "GEO_DATABASES": "eu=default,uk=default,us=geo_us",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CONNECTOR_CA_BUNDLE": ca_bundle,  # trusts the fake Okta's certificate
        "CONNECTOR_HTTP_TIMEOUT": "30",
    }
    command = [
        *(sys.executable, "-m", "celery", "-A", "casb", "worker"),
        *("--pool=prefork", "--concurrency=1", "--loglevel=INFO"),
        f"--hostname=gov-kill-{uuid.uuid4().hex[:8]}@%h",
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log_path.open("w") as log:
        return subprocess.Popen(
            command,
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # one process group: stopping it stops the pool too
        )


def _pool_children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # nothing to finish cleanly: kill the whole group
    proc.wait(timeout=10)


def _action(tenant, pk) -> GovernanceAction:
    with tenant_context(tenant):
        return GovernanceAction.objects.get(pk=pk)


def test_a_killed_worker_leaves_an_action_that_is_delivered_again(
    tenant_a, okta, okta_app, tls_files, tmp_path
):
    okta.add_user("00u1", "ann@acme.test")
    ann = account(tenant_a, okta_app, "00u1", "ann@acme.test")
    okta.hold = threading.Event()
    app.control.purge()  # leftovers of other tests must not be what the worker runs
    log_path = tmp_path / "worker.log"
    proc = _start_worker(log_path, str(tls_files.ca_bundle))
    try:
        action = request(tenant_a, GovernanceKind.SUSPEND_USER, account=ann)  # committed, sent
        assert okta.holding.wait(TIMEOUT), "the worker never called Okta:\n" + log_path.read_text()
        running = _action(tenant_a, action.pk)
        assert (running.status, running.attempts) == (GovernanceStatus.IN_PROGRESS, 1)
        children = _pool_children(proc.pid)
        assert len(children) == 1, f"expected one pool process, found {children}"
        os.kill(children[0], signal.SIGKILL)  # mid-request: Okta acted, the answer is lost

        deadline = time.monotonic() + TIMEOUT
        while _action(tenant_a, action.pk).status != GovernanceStatus.SUCCEEDED:
            assert proc.poll() is None, "the worker died:\n" + log_path.read_text()
            assert time.monotonic() < deadline, "not delivered again:\n" + log_path.read_text()
            time.sleep(0.3)
    finally:
        okta.hold.set()  # let the held request thread finish
        _stop(proc)

    done = _action(tenant_a, action.pk)
    assert done.attempts == 2
    assert done.result == "ann@acme.test was already suspended"
    assert done.error == ""
    assert okta.changes == [("suspend", "00u1")]  # the vendor's state changed once
    assert okta.users[0]["status"] == "SUSPENDED"
    output = log_path.read_text()
    assert "signal 9" in output or "WorkerLostError" in output, output
