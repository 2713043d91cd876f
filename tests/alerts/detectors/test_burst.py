"""The sliding-window counter behind mass download, mass deletion and failed sign-ins."""

from __future__ import annotations

import json
import random

from apps.alerts.detectors.common import Burst


def feed(state: dict, moments, limit=3, span=60.0) -> list:
    burst = Burst(state, limit=limit, span=span)
    hits = [hit for m in moments if (hit := burst.add(m)) is not None]
    burst.trim()
    return hits


def test_more_than_the_limit_within_the_span_fires_once():
    state: dict = {}
    assert feed(state, [0, 10, 20]) == []  # exactly the limit: no
    assert feed(state, [30]) == [(0, 30, 4)]  # limit + 1
    assert feed(state, [40, 50, 61]) == []  # the burst goes on: not yet 4 new ones
    assert feed(state, [62]) == [(40, 62, 4)]  # 4 more after the fired window: fires again
    assert feed(state, [200, 201, 202]) == []
    assert feed(state, [203]) == [(200, 203, 4)]


def test_spread_out_events_never_fire():
    state: dict = {}
    assert feed(state, [n * 21.0 for n in range(50)]) == []


def test_a_late_event_completes_a_window_in_the_past():
    state: dict = {}
    assert feed(state, [0, 10, 500]) == []
    assert feed(state, [5]) == []
    assert feed(state, [20]) == [(0, 20, 4)]  # arrives after 500, belongs before it


def test_a_late_event_in_the_middle_of_a_window_counts():
    state: dict = {}
    assert feed(state, [0, 10, 50, 55], limit=4) == []
    assert feed(state, [30], limit=4) == [(0, 55, 5)]


def test_memory_is_bounded_and_json():
    state: dict = {}
    moments = [n * 0.5 for n in range(5000)]
    random.Random(7).shuffle(moments[:100])
    feed(state, moments, limit=10, span=60)
    assert len(state["t"]) <= 22
    assert len(state["a"]) <= 5
    assert json.loads(json.dumps(state)) == state


def test_old_times_are_forgotten_after_the_horizon():
    state: dict = {}
    feed(state, [0, 1, 2])
    feed(state, [7 * 3600])
    assert state["t"] == [7 * 3600]
