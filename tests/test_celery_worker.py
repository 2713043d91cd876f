"""Celery: the configuration that keeps tasks from being lost or run twice, and a real task run
by a real `celery worker` process on Redis against the test databases."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import connections

from apps.tenants import audit
from apps.tenants.models import AuditAnchor, Role
from casb.celery import BEAT_SCHEDULE, TASK_TIME_LIMIT, app
from tests.factories import make_tenant, member

pytestmark = pytest.mark.worker

WORKER_TIMEOUT = 90  # seconds for the worker to start and finish the task


def _product_tasks() -> dict:
    app.loader.import_default_modules()  # runs autodiscovery like a worker does
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_configuration_does_not_lose_tasks():
    conf = app.conf
    assert conf.broker_url.startswith("redis://"), "the test suite runs on Redis"
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_always_eager is False

    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_time_limit == TASK_TIME_LIMIT
    assert visibility >= 2 * conf.task_time_limit

    tasks = _product_tasks()
    assert tasks, "no product task is registered"
    for name, task in tasks.items():
        # A task longer than the visibility timeout is delivered again while still running.
        limit = task.time_limit or conf.task_time_limit
        assert limit and visibility >= 2 * limit, name
        assert task.acks_late and task.reject_on_worker_lost, name
        assert task.serializer == "json", name


def _gaps(schedule: crontab) -> dt.timedelta:
    """Shortest time between two runs of `schedule`, walking one week minute by minute."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # a Monday
    runs = [
        t
        for t in (start + dt.timedelta(minutes=m) for m in range(8 * 24 * 60))
        if t.minute in schedule.minute
        and t.hour in schedule.hour
        and (t.isoweekday() % 7) in schedule.day_of_week
        and t.day in schedule.day_of_month
        and t.month in schedule.month_of_year
    ]
    return min(b - a for a, b in itertools.pairwise(runs))


def test_beat_schedule_names_real_tasks_that_expire_before_their_next_run():
    assert app.conf.beat_schedule == BEAT_SCHEDULE
    tasks = _product_tasks()
    for name, entry in BEAT_SCHEDULE.items():
        assert entry["task"] in tasks, f"{name}: no task {entry['task']!r} is registered"
        expires = entry.get("options", {}).get("expires")
        assert expires is not None, f"{name}: every beat entry must expire"
        schedule = entry["schedule"]
        period = (
            _gaps(schedule)
            if isinstance(schedule, crontab)
            else dt.timedelta(seconds=float(getattr(schedule, "seconds", schedule)))
        )
        assert dt.timedelta(seconds=expires) < period, name


# --- A real worker --------------------------------------------------------------------------


def _database_url(alias: str) -> str:
    """URL of the pytest database behind `alias` (test_<name>), for the worker process."""
    s = connections[alias].settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = f"{auth}@" if auth else ""
    host += s["HOST"] or "127.0.0.1"
    if s["PORT"]:
        host += f":{s['PORT']}"
    return f"postgres://{host}/{s['NAME']}"


def _start_worker(log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "casb.test_settings",
        "DATABASE_URL": _database_url("default"),
        "DATABASE_URL_GEO_US": _database_url("geo_us"),
        "GEO_DATABASES": "eu=default,uk=default,us=geo_us",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "casb",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        f"--hostname=pytest-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("w") as log:
        return subprocess.Popen(
            command,
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # one process group: stopping it stops the whole worker
        )


def _stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_real_worker_runs_verify_audit_chains_across_geo_databases(tmp_path):
    """A committed EU and US tenant, each with an audit chain in its own geo database; the
    worker process runs tenants.verify_audit_chains from Redis and anchors both heads."""
    eu = make_tenant("Europa", geo="eu")
    us = make_tenant("Liberty", geo="us")
    member(eu, Role.GLOBAL_ADMIN, username="eve@europa.test")
    member(us, Role.GLOBAL_ADMIN, username="uma@liberty.test")
    audit.record(us, "settings.changed", details={"by": "test"})
    heads = {eu.id: audit.verify_chain(eu), us.id: audit.verify_chain(us)}
    assert heads[eu.id].ok and heads[us.id].ok
    assert AuditAnchor.objects.count() == 0

    app.control.purge()  # leftovers of an earlier run must not be what we observe
    log_path = tmp_path / "worker.log"
    proc = _start_worker(log_path)
    try:
        app.send_task("tenants.verify_audit_chains")
        deadline = time.monotonic() + WORKER_TIMEOUT
        anchors: dict = {}
        while len(anchors) < 2:
            assert proc.poll() is None, "worker died:\n" + log_path.read_text()
            assert time.monotonic() < deadline, "no result in time:\n" + log_path.read_text()
            time.sleep(0.5)
            anchors = dict(AuditAnchor.objects.values_list("tenant_id", "seq"))
    finally:
        _stop_worker(proc)

    assert anchors == {eu.id: heads[eu.id].head_seq, us.id: heads[us.id].head_seq}
    assert anchors[us.id] == 2  # member.added + settings.changed, read from geo_us
    output = log_path.read_text()
    assert "tenants.verify_audit_chains" in output and "succeeded" in output
    assert proc.returncode is not None
