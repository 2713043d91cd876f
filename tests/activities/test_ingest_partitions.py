"""Partitions created ahead by beat: the daily task covers the coming week in every geo
database, and the schedule declares it once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.activities import partitions
from apps.activities.tasks import ensure_partitions
from casb.celery import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def _forget_partitions():
    partitions.forget()
    yield
    partitions.forget()


def test_task_creates_the_next_week_in_every_geo_database():
    created = ensure_partitions.apply().get()
    assert set(created) == {"default", "geo_us"}
    today = datetime.now(UTC).date()
    week = {today + timedelta(days=n) for n in range(-1, 8)}
    for alias in ("default", "geo_us"):
        assert week <= partitions.existing_days(alias), alias
    # Idempotent: a second run (a redelivery, the next day's run) creates nothing new.
    assert ensure_partitions.apply().get() == {"default": 0, "geo_us": 0}


def test_beat_runs_it_daily_and_it_expires_before_the_next_run():
    entry = BEAT_SCHEDULE["activities.ensure_partitions"]
    assert entry["task"] == "activities.ensure_partitions"
    assert entry["schedule"].hour == {0}
    assert entry["options"]["expires"] < 24 * 3600
