"""Unit-test kit of the detections: build `Row`s and run a detection over batches.

`Run` keeps the detection's memory between batches the way evaluation does: each batch gets a
fresh `Context` and the states it changed go through JSON (what `DetectorState.data` stores).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from apps.alerts.detectors import all_detectors
from apps.alerts.detectors.base import Context, Finding, Row

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # a Monday morning
APP = uuid.UUID(int=1)
OTHER_APP = uuid.UUID(int=2)
# Public addresses whose country the shipped geo database knows (checked in test_geo).
IPS = {
    "FR": "80.12.0.1",
    "AU": "1.120.0.1",
    "US": "8.8.8.8",
    "GB": "81.2.69.142",
    "DE": "5.9.0.1",
    "BE": "195.0.0.1",
    "JP": "110.0.0.1",
    "BR": "200.160.2.3",
    "ES": "213.0.0.1",
}


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def user_of(actor: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_DNS, actor)


def row(when: dt.datetime, *, actor: str = "ann@a.example", country: str = "FR", **fields) -> Row:
    values = {
        "id": uuid.uuid4(),
        "occurred_at": when,
        "app_instance_id": APP,
        "account_id": None,
        "user_id": user_of(actor),
        "actor": actor,
        "action_type": "UserLoggedIn",
        "activity_type": "login",
        "is_admin": False,
        "succeeded": True,
        "ip": IPS.get(country, "192.0.2.1"),
        "country": country,
        "city": "",
        "isp": "",
        "ip_category": None,
        "ip_tags": [],
        "object_name": "",
        "object_type": "",
        "object_id": "",
        "is_private": False,
        "raw": {},
    }
    values.update(fields)
    return Row(**values)


class Run:
    """One detection with its memory, fed batch after batch."""

    def __init__(self, key: str, **tuning):
        self.detector = all_detectors()[key]
        options, errors = self.detector.clean_options({**self.detector.defaults(), **tuning})
        assert not errors, errors
        self.options = options
        self.states: dict[str, dict] = {}

    def batch(self, *rows: Row) -> list[Finding]:
        ordered = sorted(rows, key=lambda r: (r.occurred_at, str(r.id)))  # as evaluation does
        states = json.loads(json.dumps(self.states))
        ctx = Context(
            tenant=None, detector=self.detector.key, options=self.options, now=T0, states=states
        )
        findings = list(self.detector().detect(ordered, ctx))
        self.written = set(ctx.dirty)  # the memories evaluation would write back
        for subject in ctx.dirty:
            self.states[subject] = json.loads(json.dumps(states[subject]))
        return findings

    def each(self, *rows: Row) -> list[Finding]:
        """One batch per row, in the order given (late arrivals included)."""
        return [finding for r in rows for finding in self.batch(r)]

    def state(self, subject: str) -> dict:
        return self.states.get(subject, {})


def subject(actor: str = "ann@a.example") -> str:
    return f"u:{user_of(actor)}"
