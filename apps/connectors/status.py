"""An app instance's status in plain words, and the colour of its badge.

"healthy, 3 min behind", "rate limited, retrying at 10:42", "credentials rejected: ...",
"audit log disabled in the app: ...". Times are UTC, like the rest of the console.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from .models import AppInstance, InstanceStatus

S = InstanceStatus


def duration(delta: timedelta) -> str:
    """Short words for a duration: "45 s", "3 min", "2 h 5 min", "4 days"."""
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def at(moment: datetime, now: datetime) -> str:
    moment, now = moment.astimezone(UTC), now.astimezone(UTC)
    return f"{moment:%H:%M}" if moment.date() == now.date() else f"{moment:%Y-%m-%d %H:%M}"


def lag_words(instance: AppInstance) -> str:
    lag = instance.lag
    if instance.latest_event_at is None:
        return "no events yet"
    if lag is None or lag < timedelta(minutes=1):
        return "up to date"
    return f"{duration(lag)} behind"


def words(instance: AppInstance, now: datetime | None = None) -> str:
    """The status of `instance` as one short sentence."""
    now = now or timezone.now()
    detail = instance.status_detail
    retry = f", retrying at {at(instance.retry_at, now)}" if instance.retry_at else ""
    status = instance.status
    if not instance.enabled or status == S.PAUSED:
        return "paused"
    if status == S.NEW:
        return detail or "not polled yet"
    if status == S.HEALTHY:
        return f"healthy, {lag_words(instance)}"
    if status == S.RATE_LIMITED:
        return f"rate limited{retry}"
    if status == S.UNAVAILABLE:
        return f"app unavailable ({detail}){retry}" if detail else f"app unavailable{retry}"
    if status == S.CREDENTIALS_REJECTED:
        return f"credentials rejected: {detail}" if detail else "credentials rejected"
    if status == S.AUDIT_DISABLED:
        return (
            f"audit log disabled in the app: {detail}"
            if detail
            else "audit log disabled in the app"
        )
    return f"error: {detail}{retry}" if detail else f"error{retry}"


def health(instance: AppInstance) -> str:
    """Badge colour: ok (green), warn (amber), bad (red) or "" (grey)."""
    if not instance.enabled or instance.status in (S.PAUSED, S.NEW):
        return ""
    if instance.status == S.HEALTHY:
        lag = instance.lag
        return "warn" if lag is not None and lag > timedelta(hours=6) else "ok"
    if instance.status in (S.RATE_LIMITED, S.UNAVAILABLE):
        return "warn"
    return "bad"
