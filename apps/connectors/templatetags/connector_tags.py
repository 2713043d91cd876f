"""Template filters of the connected-apps pages."""

from __future__ import annotations

from datetime import timedelta

from django import template

from ..status import duration

register = template.Library()


@register.filter
def duration_words(value: timedelta | None) -> str:
    """A duration in short words ("3 min", "2 h 5 min")."""
    return duration(value) if isinstance(value, timedelta) else ""
