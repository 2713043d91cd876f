"""Base of the "activity from a country new for this person" detections.

Per person it remembers up to `MAX_COUNTRIES` countries with the first and last time seen
(`c`), and when it first saw them (`since`, for the learning period). A country is new when it
is not remembered, or (when the detection forgets) was last seen more than `forget_days` before.
A visit's times are written back when they move to another day, not at every activity (the
memory lags by less than a day). Late activities are judged against the same memory: one
inside a remembered visit, or up to `forget_days` before it, is not new; one much older than
anything remembered is ignored (it is history, not news). Each new country alerts once per
visit (`Finding.key` is the country).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar

from . import geo
from .base import Context, Detector, Finding, Option, Row
from .common import (
    CLOUD_CATEGORY,
    DAY,
    SAFE_CATEGORIES,
    group,
    learning,
    learning_option,
    line,
    safe_ip_option,
    who,
)

MAX_COUNTRIES = 30
FOREVER = 100 * 365 * DAY


def ignore_countries_option() -> Option:
    return Option(
        "ignore_countries",
        "Countries that never alert",
        "words",
        [],
        help="ISO country codes (e.g. FR, DE), one per line or comma separated.",
    )


class NewCountryDetector(Detector):
    """Subclasses set `counts(row)`, `what` ("Activity", "Administrative activity") and
    whether countries are forgotten after `forget_days` (`forgets`)."""

    what: ClassVar[str]
    forgets: ClassVar[bool] = True

    def counts(self, row: Row) -> bool:
        raise NotImplementedError

    def detect(self, rows: list[Row], ctx: Context) -> Iterable[Finding]:
        options = ctx.options
        forget = options["forget_days"] * DAY if self.forgets else FOREVER
        ignored = {code.upper() for code in options["ignore_countries"]}
        skip_safe = options["ignore_safe_ips"]

        def kept(row: Row) -> bool:
            return (
                bool(row.country)
                and row.succeeded is not False
                and row.ip_category != CLOUD_CATEGORY
                and self.counts(row)
            )

        groups = group(rows, kept)
        ctx.prefetch(groups)
        findings: dict[tuple[str, str], Finding] = {}
        for subject, subject_rows in groups.items():
            # Read without marking changed: a person active again from a known country on the
            # same day changes nothing worth a write (see `_moved`).
            state = ctx.peek(subject)
            seen: dict[str, list[int]] = state.setdefault("c", {})
            changed = False
            for row in subject_rows:
                moment = int(row.occurred_at.timestamp())
                since = state.get("since")
                still_learning = learning(state, moment, options["learning_days"])
                changed |= state["since"] != since
                country = row.country
                entry = seen.get(country)
                if entry is not None and entry[0] - forget <= moment <= entry[1] + forget:
                    changed |= _moved(entry, moment)
                    continue
                if entry is not None and moment < entry[0]:
                    continue  # far older than what we know: history, not news
                before = entry[1] if entry is not None else None
                seen[country] = [moment, moment]
                changed = True
                if len(seen) > MAX_COUNTRIES:
                    del seen[min(seen, key=lambda c: seen[c][1])]
                if (
                    still_learning
                    or country in ignored
                    or (skip_safe and row.ip_category in SAFE_CATEGORIES)
                ):
                    continue
                found = findings.get((subject, country))
                if found is not None:
                    found.rows.append(row)
                    continue
                findings[(subject, country)] = self._finding(subject, row, before, seen)
            if changed:
                ctx.state(subject)
        return list(findings.values())

    def _finding(self, subject: str, row: Row, before: int | None, seen: dict) -> Finding:
        country = row.country
        place = f"{geo.name(country)} ({country})"
        if before is None:
            history = "no such activity from this country was seen for them before"
        else:
            history = f"the last one from this country was on {_day(before)}"
        usual = sorted((c for c in seen if c != country), key=lambda c: -seen[c][1])[:5]
        usual_text = f" Other countries seen: {', '.join(usual)}." if usual else ""
        return Finding(
            subject=subject,
            key=country,
            title=f"{self.what} from {self.adjective} country {place}",
            description=(
                f"{who(row)}: {self.what.lower()} from {place}"
                f"{f' ({row.ip}, {row.isp})' if row.isp else f' ({row.ip})' if row.ip else ''}"
                f" at {row.occurred_at:%Y-%m-%d %H:%M} UTC; {history}.{usual_text}"
            ),
            rows=[row],
            evidence=[line(row)],
        )

    adjective: ClassVar[str] = "an infrequent"

    @classmethod
    def country_options(cls) -> tuple[Option, ...]:
        return (
            learning_option(),
            safe_ip_option(),
            ignore_countries_option(),
        )


def _moved(entry: list[int], moment: int) -> bool:
    """Widen a visit to `moment`; True when that is worth writing back.

    Moving the last (or first) time within the same UTC day is not: the stored time then lags
    the truth by less than a day, which only makes `forget_days` count from a little earlier.
    """
    first, last = entry
    if moment > last:
        entry[1] = moment
        return moment // DAY != last // DAY
    if moment < first:
        entry[0] = moment
        return moment // DAY != first // DAY
    return False


def _day(moment: int) -> str:
    return f"{datetime.fromtimestamp(moment, UTC):%Y-%m-%d}"
