"""The header search bar's provider for alerts: by number ("#12" or "12") or by title."""

from __future__ import annotations

import re

from django.urls import reverse

from apps.tenants.permissions import Action
from apps.tenants.search import SearchHit, register

from .models import Alert

_NUMBER = re.compile(r"^#?(\d{1,18})$")


@register("Alerts")
def search_alerts(request, text: str) -> list[SearchHit]:
    """An alert number opens that alert; other text matches titles, newest trigger first."""
    if Action.VIEW not in request.actions:
        return []
    number = _NUMBER.match(text.strip())
    if number:
        rows = list(Alert.objects.filter(number=int(number.group(1)))[:1])
        if not text.startswith("#"):  # "12" may also be part of a title
            rows += list(
                Alert.objects.filter(title__icontains=text).exclude(pk__in=[r.pk for r in rows])[
                    :19
                ]
            )
    else:
        rows = list(Alert.objects.filter(title__icontains=text).order_by("-last_triggered_at")[:20])
    slug = request.tenant.slug
    return [
        SearchHit(
            "Alerts",
            f"#{row.number} {row.title}",
            f"{row.get_severity_display()} · {row.get_status_display()} · "
            f"{row.last_triggered_at:%Y-%m-%d %H:%M} UTC",
            reverse("alerts:detail", args=[slug, row.pk]),
        )
        for row in rows
    ]
