"""Reads of the activity log: the scoped queryset, keyset pages, one activity, a person's
activity aggregates, and the search-bar providers for IP addresses and object names.

Private activities (spec 1.6, `privacy.py`) are left out of every read here unless the caller
passes `include_private=True`, which it may only do for a reader who revealed them; outbound
paths use `shareable()` and never pass it.

Paging is keyset on (occurred_at DESC, id DESC), the order of the index
`activities_activity_log (tenant_id, occurred_at DESC, id DESC)`: a page is "the next N rows
after this position", so rows ingested while someone pages never shift a page (OFFSET would
skip or repeat rows) and the cost of a page does not grow with its depth.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from apps.tenants.permissions import Action
from apps.tenants.search import SearchHit, register

from . import privacy, query
from .categories import label as type_label
from .models import Activity, IpCategory

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
INSIGHT_DAYS = 30  # the window of a person's insights (spec 1.2.2, "User" tab)


# Every outbound path (CSV export, API, SIEM, webhooks) reads through this; see privacy.py.
shareable = privacy.shareable


def activities(*, include_private: bool = False) -> QuerySet[Activity]:
    """The current tenant's activities with the rows every list shows (no N+1); private ones
    only with `include_private` (a reader who revealed them)."""
    queryset = Activity.objects.select_related("app_instance", "account", "user")
    return privacy.visible(queryset, include_private=include_private)


# What lists, exports and the API list read of an activity's app, account and person.
_LIST_RELATED = (
    "app_instance__name",
    "app_instance__vendor",
    "account__username",
    "account__external_id",
    "user__identity",
    "user__display_name",
)


def activity_list(*, include_private: bool = False) -> QuerySet[Activity]:
    """`activities()` for lists and exports: every column but the raw record (only the detail
    shows it, and it can be kilobytes per row), and of the joined rows only what a list shows."""
    columns = [f.name for f in Activity._meta.concrete_fields if f.name != "raw"]
    return activities(include_private=include_private).only(*columns, *_LIST_RELATED)


def activity(activity_id: uuid.UUID, *, include_private: bool = False) -> Activity:
    """One activity of the current tenant, or 404 (the same for another tenant's, and for a
    private one not revealed to the reader: its existence is not confirmed)."""
    return get_object_or_404(activities(include_private=include_private), pk=activity_id)


def describe(item: Activity) -> str:
    """One line for the log's "Activity" column, e.g. "Download: FileDownloaded report.xlsx"."""
    text = f"{type_label(item.activity_type)}: {item.action_type}"
    return f"{text} {item.object_name}" if item.object_name else text


# --- Keyset pages ------------------------------------------------------------------------------


class InvalidCursor(ValueError):
    """A `cursor` parameter that was not made by `Page` (edited, truncated, or stale format)."""


@dataclass(frozen=True)
class Position:
    """Where a page starts: strictly after (or, going back, before) this row."""

    occurred_at: dt.datetime
    id: uuid.UUID
    backwards: bool = False  # True: the rows before this position (the previous page)

    def encode(self) -> str:
        payload = {"t": self.occurred_at.isoformat(), "i": self.id.hex, "b": int(self.backwards)}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            payload = json.loads(raw)
            moment = dt.datetime.fromisoformat(payload["t"])
            if timezone.is_naive(moment):
                raise ValueError("naive")
            return cls(moment, uuid.UUID(hex=payload["i"]), bool(payload.get("b", 0)))
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidCursor("This page link is not valid; start from the first page.") from exc


@dataclass
class Page:
    rows: list[Activity]
    next: str | None  # cursor of the following page (older rows when newest first)
    previous: str | None  # cursor of the page before (None on the first page)


def _after(position: Position, newest_first: bool) -> Q:
    """Rows strictly after `position` in the listing order, written so the index's leading
    column bounds the scan (`occurred_at <= t`) and the tie on time is broken by id."""
    t, i = position.occurred_at, position.id
    if newest_first:
        return Q(occurred_at__lte=t) & (Q(occurred_at__lt=t) | Q(id__lt=i))
    return Q(occurred_at__gte=t) & (Q(occurred_at__gt=t) | Q(id__gt=i))


def _order(newest_first: bool) -> tuple[str, str]:
    return ("-occurred_at", "-id") if newest_first else ("occurred_at", "id")


def keyset_page(
    queryset: QuerySet[Activity],
    *,
    cursor: str | None = None,
    size: int = PAGE_SIZE,
    newest_first: bool = True,
) -> Page:
    """One page of `queryset` in (occurred_at, id) order; raises InvalidCursor."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    position = Position.decode(cursor) if cursor else None
    if position is None:
        rows = list(queryset.order_by(*_order(newest_first))[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return Page(rows, _cursor(rows[-1], False) if more else None, None)
    # Going back means walking the other way from the position, then restoring the order.
    direction = newest_first != position.backwards
    window = queryset.filter(_after(position, direction)).order_by(*_order(direction))
    rows = list(window[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if position.backwards:
        rows.reverse()
        next_cursor = _cursor(rows[-1], False) if rows else None
        previous = _cursor(rows[0], True) if more else None
        return Page(rows, next_cursor, previous)
    return Page(
        rows,
        _cursor(rows[-1], False) if more else None,
        _cursor(rows[0], True) if rows else None,
    )


def _cursor(row: Activity, backwards: bool) -> str:
    return Position(row.occurred_at, row.id, backwards).encode()


# --- A person's activity aggregates (entity page) ----------------------------------------------


@dataclass
class PersonInsights:
    since: dt.datetime
    total: int
    ips: list[dict]  # {"ip", "count", "last", "country"}
    countries: list[dict]  # {"country", "count", "last"}
    recent: list[Activity]


def person_insights(
    user_id: uuid.UUID, *, recent: int = 20, top: int = 20, include_private: bool = False
) -> PersonInsights:
    """The latest activities of one person and the IPs and countries of the last 30 days
    (private activities counted and listed only with `include_private`)."""
    since = timezone.now() - dt.timedelta(days=INSIGHT_DAYS)
    mine = privacy.visible(
        Activity.objects.filter(user_id=user_id), include_private=include_private
    )
    window = mine.filter(occurred_at__gte=since)
    ips = list(
        window.exclude(ip__isnull=True)
        .values("ip")
        .annotate(count=Count("id"), last=Max("occurred_at"), country=Max("country"))
        .order_by("-count", "ip")[:top]
    )
    countries = list(
        window.exclude(country="")
        .values("country")
        .annotate(count=Count("id"), last=Max("occurred_at"))
        .order_by("-count", "country")[:top]
    )
    return PersonInsights(
        since=since,
        total=window.count(),
        ips=ips,
        countries=countries,
        recent=list(
            activity_list(include_private=include_private)
            .filter(user_id=user_id)
            .order_by("-occurred_at", "-id")[:recent]
        ),
    )


def log_url(tenant_slug: str, **filters) -> str:
    """The activity log filtered on `filters` (the "show similar" and "see all" links)."""
    url = reverse("activities:list", args=[tenant_slug])
    params = {k: str(v) for k, v in filters.items() if v not in (None, "")}
    return f"{url}?{urlencode(params)}" if params else url


def ip_category_label(value: int | None) -> str:
    return IpCategory(value).label if value else ""


# --- Search bar --------------------------------------------------------------------------------


@register("IP addresses")
def search_ip(request, text: str) -> list[SearchHit]:
    """An exact IP address -> the log filtered on it, when the tenant has activity from it."""
    if Action.VIEW not in request.actions:
        return []
    try:
        address = query.normalise_ip(text)
    except ValueError:
        return []
    seen = privacy.visible(
        Activity.objects.filter(ip=address), include_private=privacy.is_revealed(request)
    )
    latest = seen.order_by("-occurred_at").values_list("occurred_at", "country").first()
    if latest is None:
        return []
    when, country = latest
    subtitle = f"last seen {when:%Y-%m-%d %H:%M} UTC" + (f" · {country}" if country else "")
    return [SearchHit("IP addresses", address, subtitle, log_url(request.tenant.slug, ip=address))]


SEARCH_WINDOW_DAYS = 30


@register("Activities")
def search_objects(request, text: str) -> list[SearchHit]:
    """Recent activities whose object name holds the words searched (last 30 days)."""
    if Action.VIEW not in request.actions or not query.parse_text(text):
        return []
    since = timezone.now() - dt.timedelta(days=SEARCH_WINDOW_DAYS)
    rows = list(
        activity_list(include_private=privacy.is_revealed(request))
        .filter(occurred_at__gte=since)
        .filter(query.text_q(text, columns=("object_name",)))
        .order_by("-occurred_at", "-id")[:5]
    )
    if not rows:
        return []
    slug = request.tenant.slug
    hits = [
        SearchHit(
            "Activities",
            row.object_name,
            f"{describe(row)} · {row.actor or 'unknown user'} · {row.occurred_at:%Y-%m-%d %H:%M}",
            reverse("activities:detail", args=[slug, row.id]),
        )
        for row in rows
    ]
    hits.append(
        SearchHit(
            "Activities",
            f"All activities mentioning “{text}”",
            "the activity log, filtered",
            log_url(slug, q=text),
        )
    )
    return hits
