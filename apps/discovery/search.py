"""The header search bar's provider for Cloud Discovery: discovered apps and reports.

An app is found by name or by one of its domains, among the catalog and custom apps this
tenant's discovery data has seen in the last 90 days (the catalog itself is not a search
target: a hit must lead to a page with data). Snapshot reports and data sources by name.
"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from apps.tenants.permissions import Action
from apps.tenants.search import SearchHit, register

from .catalog import apps as catalog_apps
from .models import UNRECOGNISED, AppDay, CustomApp, DataSource, Report, ReportKind

LIMIT = 20


@register("Discovered apps")
def search_discovered_apps(request, text: str) -> list[SearchHit]:
    if Action.VIEW not in request.actions:
        return []
    needle = text.strip().lower()
    since = timezone.now().date() - timedelta(days=90)
    seen = set(
        AppDay.objects.filter(day__gte=since)
        .exclude(app=UNRECOGNISED)
        .values_list("app", flat=True)
        .distinct()
    )
    if not seen:
        return []
    catalog = catalog_apps()
    custom = {app.key: app for app in CustomApp.objects.all()}
    hits: list[SearchHit] = []
    for key in sorted(seen):
        app = catalog.get(key) or custom.get(key)
        if app is None:
            continue
        if needle in app.name.lower() or any(needle in d for d in app.domains):
            category = getattr(app, "category_label", None) or app.category
            hits.append(
                SearchHit(
                    "Discovered apps",
                    app.name,
                    f"{category} · {', '.join(list(app.domains)[:3])}",
                    reverse("discovery:app", args=[request.tenant.slug, key]),
                )
            )
            if len(hits) >= LIMIT:
                break
    return hits


@register("Discovery reports")
def search_reports(request, text: str) -> list[SearchHit]:
    if Action.VIEW not in request.actions:
        return []
    slug = request.tenant.slug
    hits = [
        SearchHit(
            "Discovery reports",
            report.name,
            f"{report.get_kind_display()} · created {report.created_at:%Y-%m-%d}",
            reverse("discovery:dashboard", args=[slug]) + f"?report={report.pk}",
        )
        for report in Report.objects.filter(name__icontains=text, kind=ReportKind.SNAPSHOT)[:LIMIT]
    ]
    hits += [
        SearchHit(
            "Discovery reports",
            source.name,
            f"Data source · {source.get_receiver_display()}",
            reverse("discovery:source", args=[slug, source.pk]),
        )
        for source in DataSource.objects.filter(name__icontains=text)[:LIMIT]
    ]
    return hits
