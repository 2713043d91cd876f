"""Reads of outbound integrations for the console and the API: destinations with their backlog,
their dead letters and their delivery history.

The backlog of a destination is the number of outbox events after its cursor (the tenant's
current number minus the cursor) and the time the oldest of them was recorded: both come from
one query for the whole list (a subquery per row, no query per destination).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from django.db.models import OuterRef, QuerySet, Subquery

from .models import DeadLetter, Delivery, Destination, DestinationKind, EventKind, OutboxEvent
from .outbox import current_seq

DATA_KIND_LABELS = {EventKind.ALERT: "Alerts", EventKind.ACTIVITIES: "Activities"}
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class Backlog:
    events: int  # outbox events after the cursor
    oldest_at: datetime | None  # when the oldest of them was recorded


def with_oldest_waiting(queryset: QuerySet) -> QuerySet:
    """Annotate each destination with `oldest_waiting_at` (the first event after its cursor)."""
    first = OutboxEvent.objects.filter(seq__gt=OuterRef("cursor")).order_by("seq")
    return queryset.annotate(oldest_waiting_at=Subquery(first.values("created_at")[:1]))


def destinations() -> QuerySet:
    """The current tenant's destinations, by name, with `oldest_waiting_at`."""
    return with_oldest_waiting(Destination.objects.defer("secret_sealed").order_by("name", "pk"))


def backlog(destination: Destination, seq: int) -> Backlog:
    """`seq` is `current_seq()`, read once per request. Nothing waits for a destination that
    is turned off (what happens meanwhile is not kept for it)."""
    if not destination.enabled:
        return Backlog(0, None)
    events = max(seq - destination.cursor, 0)
    oldest = getattr(destination, "oldest_waiting_at", None) if events else None
    return Backlog(events, oldest)


def data_kind_labels(destination: Destination) -> list[str]:
    return [DATA_KIND_LABELS.get(kind, kind) for kind in destination.data_kinds or []]


def display_url(url: str) -> str:
    """The URL without its query string and fragment (a flow's callback URL carries its
    signature there): what the console and the API show."""
    parts = urlsplit(url or "")
    if not parts.scheme:
        return url or ""
    hidden = "…" if parts.query or parts.fragment else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) + (
        f"?{hidden}" if hidden else ""
    )


def target(destination: Destination) -> str:
    """Where it sends, in words: `host:port (TLS)` or the (shown part of the) URL."""
    config = destination.config or {}
    if destination.kind == DestinationKind.WEBHOOK:
        return display_url(str(config.get("url", "")))
    transport = str(config.get("transport", "tcp")).upper()
    return f"{config.get('host', '')}:{config.get('port', '')} ({transport})"


def dead_letters(destination: Destination) -> QuerySet:
    return DeadLetter.objects.filter(destination=destination).order_by("-created_at", "pk")


def deliveries(destination: Destination) -> QuerySet:
    return Delivery.objects.filter(destination=destination).order_by("-attempted_at", "pk")


__all__ = [
    "Backlog",
    "backlog",
    "current_seq",
    "data_kind_labels",
    "dead_letters",
    "deliveries",
    "destinations",
    "display_url",
    "target",
]
