"""Impossible travel: two activities of one person from countries too far apart for the time.

Country level, as in spec 2.4: the distance is between the two countries' reference points
(`geo`, population-weighted, from GeoNames); the same country or two countries sharing a land
border never alert. A pair alerts when covering `distance - distance_slack_km` at `speed_kmh`
(default 900 km/h, an airliner's cruise) takes longer than the time between the activities.
The slack forgives that a trip starts and ends anywhere in two countries, not at their
reference points (London to Paris is 340 km, the UK and French points are 676 km apart).

Ignored, as the spec says: failed activities (`succeeded is False`), activities without a
known country, and by default activities from Cloud provider ranges (automation, not a person's
location). Learning period: no alert until the person has been known `learning_days`
(default 7) to this detection (`since`, the earliest activity it has seen of them).

Sensitivity (spec 2.4: Low = system + tenant + user suppressions, Medium = system + user,
High = system only). Our reading of the three kinds of suppression:
- system (always): the rules above (same or bordering countries, unknown places, failed
  activities, learning period, cloud-provider addresses);
- both addresses safe (Corporate or VPN range): suppressed unless sensitivity is High; one
  safe side still alerts;
- user (Medium and Low): both countries are usual for the person, i.e. seen on at least
  `usual_days` distinct days (someone who works from two countries through a VPN that exits
  in either is not travelling);
- tenant (Low only): each country of the pair is usual for the person or common in the tenant
  (usual for at least `tenant_common_people` people), or the same pair of countries already
  alerted in the tenant in the last 30 days ("previously alerted on").

Memory per person: `since`, up to 16 runs of consecutive activities in one country of at most
two hours each (first and last time, address and whether it was safe, so late activities are
compared with the runs around them; a run's end that moved on by less than 10 minutes is not
written back, to spare a write per person and batch) and up to 20 countries with first/last
day and number of days seen. One memory for the tenant (subject "tenant"): how many people each
country is usual for, and up to 200 recently alerted pairs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from apps.activities.categories import ActivityType

from ..models import Severity
from . import geo, register
from .base import Context, Detector, Finding, Option, Row
from .common import CLOUD_CATEGORY, DAY, SAFE_CATEGORIES, duration, group, learning_option

TENANT = "tenant"
MAX_RUNS = 16
RUN_SPAN = 2 * 3600  # a run covers at most two hours, so its ends stay close to its middle
STALE = 10 * 60  # a run's end moving on by less than this is not written back
MAX_COUNTRIES = 20
MAX_PAIRS = 200
PAIR_MEMORY = 30 * DAY
LOGIN = ActivityType.LOGIN.value

# A run: [first time, last time, country, first safe, last safe, first ip, last ip]
FIRST, LAST, CC, FIRST_SAFE, LAST_SAFE, FIRST_IP, LAST_IP = range(7)


@register
class ImpossibleTravel(Detector):
    key = "impossible_travel"
    name = "Impossible travel"
    description = (
        "Two activities of the same person from distant countries with less time between them "
        "than travelling would take."
    )
    tactic = "Initial access"
    severity = Severity.HIGH
    options = (
        Option(
            "sensitivity",
            "Sensitivity",
            "choice",
            "medium",
            choices=(
                ("low", "Low: system, tenant and user suppressions"),
                ("medium", "Medium: system and user suppressions"),
                ("high", "High: system suppressions only"),
            ),
        ),
        learning_option(),
        Option("speed_kmh", "Fastest travel (km/h)", "int", 900, minimum=100, maximum=5000),
        Option(
            "distance_slack_km",
            "Distance forgiven (km)",
            "int",
            500,
            minimum=0,
            maximum=5000,
            help="Subtracted from the distance between the countries' reference points: a "
            "trip can start and end anywhere in them.",
        ),
        Option(
            "usual_days",
            "A country is usual for a person after (days seen)",
            "int",
            3,
            minimum=1,
            maximum=90,
        ),
        Option(
            "tenant_common_people",
            "A country is common in the tenant when usual for (people)",
            "int",
            5,
            minimum=1,
            maximum=100000,
        ),
        Option("ignore_cloud_provider", "Ignore cloud provider addresses", "bool", True),
    )

    def detect(self, rows: list[Row], ctx: Context) -> Iterable[Finding]:
        ignore_cloud = ctx.options["ignore_cloud_provider"]

        def counted(row: Row) -> bool:
            return (
                row.succeeded is not False
                and bool(row.country)
                and not (ignore_cloud and row.ip_category == CLOUD_CATEGORY)
                and geo.known(row.country)
            )

        groups = group(rows, counted)
        if not groups:
            return []
        ctx.prefetch([*groups, TENANT])
        trip = _Trip(ctx)
        for subject, subject_rows in groups.items():
            trip.person(subject, subject_rows)
        return list(trip.findings.values())


class _Trip:
    """The work of one batch: each person's rows against their runs."""

    def __init__(self, ctx: Context):
        options = ctx.options
        self.ctx = ctx
        self.sensitivity = options["sensitivity"]
        self.learning = options["learning_days"] * DAY
        self.speed = options["speed_kmh"]
        self.slack = options["distance_slack_km"]
        self.usual_days = options["usual_days"]
        self.common_people = options["tenant_common_people"]
        # Beyond this gap no pair of countries on Earth is too far apart.
        self.horizon = (20040 - self.slack) / self.speed * 3600 + 3600
        self.tenant = ctx.peek(TENANT)
        self.findings: dict[tuple[str, str], Finding] = {}

    def person(self, subject: str, rows: list[Row]) -> None:
        # Read without marking changed: most activities only move the end of the current run
        # on, and writing every person's memory every batch would cost more than judging.
        state = self.ctx.peek(subject)
        runs: list[list] = state.setdefault("r", [])
        countries: dict[str, list[int]] = state.setdefault("c", {})
        stored_end = runs[-1][LAST] if runs else None
        changed = stored_end is None
        by_moment = {}  # (time, country) -> this batch's row, to link both sides of a pair
        for row in rows:
            moment = int(row.occurred_at.timestamp())
            since = state.get("since")
            if since is None or moment < since:
                state["since"] = moment
                changed = True
            by_moment[(moment, row.country)] = row
            changed |= self._count_country(countries, row.country, moment // DAY)
            point = (moment, row.country, row.ip_category in SAFE_CATEGORIES, row.ip or "")
            pairs, reshaped = _place(runs, point)
            changed |= reshaped
            for earlier, later in pairs:
                self._judge(subject, state, earlier, later, row, by_moment)
        newest = runs[-1][LAST]
        kept = [run for run in runs if run[LAST] >= newest - self.horizon][-MAX_RUNS:]
        if len(kept) != len(runs):
            runs[:] = kept
            changed = True
        # A run's end that moved on less than STALE is not worth a write; the memory then
        # lags by at most that, which can only make a later comparison more lenient.
        if changed or newest - stored_end >= STALE:
            self.ctx.state(subject)

    def _count_country(self, countries: dict, country: str, day: int) -> bool:
        """Count a day seen in `country`; True when the person's memory changed."""
        entry = countries.get(country)
        if entry is None:
            countries[country] = [day, day, 1]
            if len(countries) > MAX_COUNTRIES:
                del countries[min(countries, key=lambda c: countries[c][1])]
            grew = self.usual_days == 1
        elif day > entry[1] or day < entry[0]:
            entry[0], entry[1] = min(entry[0], day), max(entry[1], day)
            entry[2] += 1
            grew = entry[2] == self.usual_days
        else:
            return False
        if grew:  # one more person for whom this country is usual
            self.tenant = self.ctx.state(TENANT)
            common = self.tenant.setdefault("c", {})
            common[country] = common.get(country, 0) + 1
        return True

    def _judge(self, subject, state, earlier, later, row, by_moment) -> None:
        (t1, c1, safe1, ip1), (t2, c2, safe2, ip2) = earlier, later
        if c1 == c2 or geo.bordering(c1, c2):
            return
        distance = geo.distance_km(c1, c2)
        if distance is None or distance - self.slack <= 0:
            return
        needed = (distance - self.slack) / self.speed * 3600
        if t2 - t1 >= needed:
            return
        if t2 < state["since"] + self.learning:
            return
        if safe1 and safe2 and self.sensitivity != "high":
            return
        countries = state["c"]

        def usual(country: str) -> bool:
            return countries.get(country, (0, 0, 0))[2] >= self.usual_days

        if self.sensitivity != "high" and usual(c1) and usual(c2):
            return
        pair = "-".join(sorted((c1, c2)))
        if self.sensitivity == "low":
            common = self.tenant.get("c", {})

            def ordinary(country: str) -> bool:
                return usual(country) or common.get(country, 0) >= self.common_people

            if ordinary(c1) and ordinary(c2):
                return
            if t2 - self.tenant.get("p", {}).get(pair, -PAIR_MEMORY) < PAIR_MEMORY:
                return
        self._remember_pair(pair, t2)
        linked = [r for r in (by_moment.get((t1, c1)), by_moment.get((t2, c2))) if r]
        found = self.findings.get((subject, pair))
        if found is not None:  # one finding per person and pair per batch
            found.rows.extend(r for r in linked if r not in found.rows)
            return
        gap = duration(t2 - t1)
        later_row = by_moment.get((t2, c2))
        verb = (
            "Sign-in" if later_row is not None and later_row.activity_type == LOGIN else "Activity"
        )
        one_safe = ""
        if safe1 or safe2:
            one_safe = " One of the two addresses is in a Corporate or VPN range."
        self.findings[(subject, pair)] = Finding(
            subject=subject,
            key=pair,
            title=f"{verb} from {c2} {gap} after {c1} ({distance:,.0f} km)",
            description=(
                f"{row.actor or 'An unknown actor'} was active in {geo.name(c1)} "
                f"({ip1 or 'no address'}) at {_when(t1)} and in {geo.name(c2)} "
                f"({ip2 or 'no address'}) at {_when(t2)}, {gap} later. The two countries are "
                f"{distance:,.0f} km apart; at {self.speed} km/h, forgiving {self.slack} km, "
                f"the trip takes at least {duration(needed)}.{one_safe}"
            ),
            rows=linked or [row],
            evidence=[
                f"{_when(t1)} {c1} {ip1}".rstrip(),
                f"{_when(t2)} {c2} {ip2}".rstrip(),
                f"{distance:,.0f} km in {gap} (needs {duration(needed)})",
            ],
        )

    def _remember_pair(self, pair: str, moment: int) -> None:
        self.tenant = self.ctx.state(TENANT)
        pairs = self.tenant.setdefault("p", {})
        pairs[pair] = max(pairs.get(pair, moment), moment)
        if len(pairs) > MAX_PAIRS:
            del pairs[min(pairs, key=pairs.__getitem__)]


def _place(runs: list[list], point: tuple) -> tuple[list[tuple[tuple, tuple]], bool]:
    """Put `point` into the time-ordered runs: the (earlier, later) pairs it must be judged in,
    and whether the runs changed shape (more than a run's last activity moving on).

    A run collapses consecutive activities in one country, over at most `RUN_SPAN`, to its first
    and last. A point in a run of its own country changes nothing; between runs it extends a
    neighbouring run of its country (while that stays within `RUN_SPAN`) or starts a new one;
    inside a run of another country it splits it (both halves keep only the run's outer end,
    at most `RUN_SPAN` away: comparing with those is weaker than with the true neighbours, so
    it may miss a pair, never invent one).
    """
    moment, country, safe, ip = point
    index = 0
    while index < len(runs) and runs[index][FIRST] <= moment:
        index += 1
    before = runs[index - 1] if index else None
    after = runs[index] if index < len(runs) else None
    if before is not None and before[LAST] > moment:  # inside `before`
        if before[CC] == country:
            return [], False
        head = [before[FIRST], before[FIRST], before[CC], before[FIRST_SAFE], before[FIRST_SAFE],
                before[FIRST_IP], before[FIRST_IP]]  # fmt: skip
        tail = [before[LAST], before[LAST], before[CC], before[LAST_SAFE], before[LAST_SAFE],
                before[LAST_IP], before[LAST_IP]]  # fmt: skip
        runs[index - 1 : index] = [head, [moment, moment, country, safe, safe, ip, ip], tail]
        return [(_end(head, LAST), point), (point, _end(tail, FIRST))], True
    pairs = []
    joined = None
    reshaped = True
    if before is not None:
        if before[CC] != country:
            pairs.append((_end(before, LAST), point))
        elif moment - before[FIRST] <= RUN_SPAN:
            before[LAST], before[LAST_SAFE], before[LAST_IP] = moment, safe, ip
            joined, reshaped = before, False
    if after is not None:
        if after[CC] != country:
            pairs.append((point, _end(after, FIRST)))
        elif joined is None and after[LAST] - moment <= RUN_SPAN:
            after[FIRST], after[FIRST_SAFE], after[FIRST_IP] = moment, safe, ip
            joined, reshaped = after, True
        elif joined is not None and after[LAST] - joined[FIRST] <= RUN_SPAN:
            # The point bridges two runs of its country that fit in one.
            joined[LAST], joined[LAST_SAFE], joined[LAST_IP] = (
                after[LAST],
                after[LAST_SAFE],
                after[LAST_IP],
            )
            del runs[index]
            reshaped = True
    if joined is None:
        runs.insert(index, [moment, moment, country, safe, safe, ip, ip])
    return pairs, reshaped


def _end(run: list, which: int) -> tuple:
    if which == FIRST:
        return (run[FIRST], run[CC], run[FIRST_SAFE], run[FIRST_IP])
    return (run[LAST], run[CC], run[LAST_SAFE], run[LAST_IP])


def _when(moment: int) -> str:
    return f"{datetime.fromtimestamp(moment, UTC):%Y-%m-%d %H:%M} UTC"
