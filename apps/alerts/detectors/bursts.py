"""Base of the "more than N of something within T minutes" detections (spec 3.9 templates)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar

from .base import Context, Detector, Finding, Option, Row
from .common import Burst, duration, group, line, seconds, who

MAX_LINKED = 200  # activities linked to one finding; the count says how many there were


class BurstDetector(Detector):
    """Counts matching activities per person (or per person and app) in a sliding window.

    Subclasses set `noun` ("downloads"), the defaults and `matches(row)`. The window's memory
    lives in the detector state of each counted key, so bursts that span batches, and
    activities that arrive late or out of order, are counted where they belong.
    """

    noun: ClassVar[str]
    per_app: ClassVar[bool] = False
    default_limit: ClassVar[int]
    default_minutes: ClassVar[int]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.options = cls.burst_options()

    @classmethod
    def burst_options(cls) -> tuple[Option, ...]:
        return (
            Option(
                "limit",
                f"Alert on more than this many {cls.noun}",
                "int",
                cls.default_limit,
                minimum=1,
                maximum=1000,
            ),
            Option(
                "minutes",
                "Within (minutes)",
                "int",
                cls.default_minutes,
                minimum=1,
                maximum=1440,
            ),
        )

    def matches(self, row: Row) -> bool:
        raise NotImplementedError

    def detect(self, rows: list[Row], ctx: Context) -> Iterable[Finding]:
        limit, span = ctx.options["limit"], ctx.options["minutes"] * 60
        key = (lambda row: f"{row.subject}@{row.app_instance_id}") if self.per_app else None
        groups = group(rows, self.matches, key)
        ctx.prefetch(groups)
        findings: list[Finding] = []
        for counted, keyed_rows in groups.items():
            burst = Burst(ctx.state(counted), limit=limit, span=span)
            moments: list[float] = []
            for row in keyed_rows:
                moment = seconds(row)
                moments.append(moment)
                hit = burst.add(moment)
                if hit is not None:
                    start, end, count = hit
                    window = keyed_rows[
                        bisect.bisect_left(moments, start) : bisect.bisect_right(moments, end)
                    ]
                    findings.append(self._finding(row, window, start, end, count, limit, span))
            burst.trim()
        return findings

    def _finding(self, row, window, start, end, count, limit, span) -> Finding:
        first = datetime.fromtimestamp(start, UTC)
        last = datetime.fromtimestamp(end, UTC)
        shown = window[:3] + (window[-2:] if len(window) > 5 else window[3:])
        return Finding(
            subject=row.subject,
            key=str(row.app_instance_id) if self.per_app else "",
            title=f"{count} {self.noun} within {duration(span)}",
            description=(
                f"{who(row)}: {count} {self.noun} between {first:%Y-%m-%d %H:%M:%S} and "
                f"{last:%H:%M:%S} UTC ({duration(end - start)}); this detection alerts on more "
                f"than {limit} within {duration(span)}."
            ),
            rows=window[-MAX_LINKED:] or [row],
            evidence=[line(r) for r in shown],
        )
