"""What the built-in detections share: grouping a batch, learning periods, counting bursts.

Times in detector memory are POSIX seconds (JSON numbers: small, and comparable without
parsing); days are whole POSIX days. Every list kept in memory has a cap.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

from apps.activities.models import IpCategory

from .base import Option, Row

DAY = 86400
# Address ranges the tenant declared as its own (spec 9.2): activity from them is "safe".
SAFE_CATEGORIES = frozenset({int(IpCategory.CORPORATE), int(IpCategory.VPN)})
RISKY_CATEGORY = int(IpCategory.RISKY)
CLOUD_CATEGORY = int(IpCategory.CLOUD_PROVIDER)


def group(
    rows: Iterable[Row],
    keep: Callable[[Row], bool],
    key: Callable[[Row], str] | None = None,
) -> dict[str, list[Row]]:
    """key (by default the subject) -> its kept rows, in the batch's (time) order."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        if keep(row):
            subject = row.subject if key is None else key(row)
            if subject in groups:
                groups[subject].append(row)
            else:
                groups[subject] = [row]
    return groups


def seconds(row: Row) -> float:
    return row.occurred_at.timestamp()


def learning(state: dict, moment: float, days: int) -> bool:
    """Remember when we first knew the subject; True while `moment` is inside its first days.

    `since` only ever moves back (a late activity shows we knew them earlier), so a subject
    that has finished learning never starts again.
    """
    since = state.get("since")
    if since is None or moment < since:
        state["since"] = since = int(moment)
    return moment < since + days * DAY


def learning_option(default: int = 7) -> Option:
    return Option(
        "learning_days",
        "Learning period (days)",
        "int",
        default,
        minimum=0,
        maximum=90,
        help="No alert for a person until we have known them this long (their first "
        "activity seen by this detection).",
    )


def safe_ip_option(default: bool = True) -> Option:
    return Option(
        "ignore_safe_ips",
        "Ignore corporate and VPN addresses",
        "bool",
        default,
        help="Activity from IP ranges categorised Corporate or VPN never alerts.",
    )


def duration(span: float) -> str:
    """A short human duration: "40 minutes", "3 hours 5 minutes", "2 days"."""
    minutes = round(abs(span) / 60)
    if minutes < 1:
        return f"{int(abs(span))} seconds"
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        text = f"{hours} hour{'s' if hours != 1 else ''}"
        return f"{text} {minutes} minute{'s' if minutes != 1 else ''}" if minutes else text
    return f"{hours // 24} days"


def who(row: Row) -> str:
    return row.actor or "an unknown actor"


def line(row: Row) -> str:
    """One evidence line: when, what, from where."""
    where = " ".join(
        part for part in (row.ip or "", row.country, row.isp and f"({row.isp})") if part
    )
    return f"{row.occurred_at:%Y-%m-%d %H:%M:%S} {row.action_type} {where}".rstrip()


class Burst:
    """ "More than `limit` events within `span` seconds" for one key, across batches.

    Keeps the key's recent times sorted in `state["t"]` (late and out-of-order times are
    inserted where they belong, and every window holding the new time is judged) and the
    windows that already fired in `state["a"]`: a window overlapping one of them does not fire
    again, so a long burst fires once per more-than-`limit` new events. Memory: at most
    `2 * (limit + 1)` times, none older than `max(2 * span, 6 h)` before the newest, and the
    last five fired windows.
    """

    def __init__(self, state: dict, *, limit: int, span: float):
        self.state = state
        self.limit = limit
        self.span = span
        self.times: list[float] = state.setdefault("t", [])

    def add(self, moment: float) -> tuple[float, float, int] | None:
        """Count one event; (window start, window end, count) when it completes a burst."""
        times, span = self.times, self.span
        fired: list = self.state.setdefault("a", [])
        index = bisect.bisect_right(times, moment)
        times.insert(index, moment)
        if index == len(times) - 1:  # in order: only windows ending now can have grown
            first = bisect.bisect_left(times, moment - span)
            if fired:  # start after the last fired window
                first = max(first, bisect.bisect_right(times, max(e for _, e in fired)))
            best, start = index + 1 - first, moment if first > index else times[first]
        else:  # a late event: try every window that holds it and has not fired
            best, start = 0, moment
            for j in range(bisect.bisect_left(times, moment - span), index + 1):
                end = bisect.bisect_right(times, times[j] + span) - 1
                if any(times[j] <= e and times[end] >= s for s, e in fired):
                    continue
                if end + 1 - j > best:
                    best, start = end + 1 - j, times[j]
        if best <= self.limit:
            return None
        end = times[bisect.bisect_right(times, start + span) - 1]
        fired.append([start, end])
        del fired[:-5]
        return start, end, best

    def trim(self) -> None:
        """Forget what no future window can use (call once per batch)."""
        times = self.times
        if not times:
            return
        horizon = times[-1] - max(2 * self.span, 6 * 3600)
        keep = max(2 * (self.limit + 1), 1)
        del times[: max(bisect.bisect_left(times, horizon), len(times) - keep)]
        fired = [window for window in self.state.get("a", ()) if window[1] >= horizon]
        if fired:
            self.state["a"] = fired
        else:
            self.state.pop("a", None)
