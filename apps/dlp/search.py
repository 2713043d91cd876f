"""The header search bar's provider for files: by part of the name, newest scan first."""

from __future__ import annotations

from django.urls import reverse

from apps.tenants.permissions import Action
from apps.tenants.search import SearchHit, register

from . import selectors


@register("Files")
def search_files(request, text: str) -> list[SearchHit]:
    if Action.VIEW not in request.actions:
        return []
    rows = list(selectors.files().filter(name__icontains=text[:200])[:20])
    slug = request.tenant.slug
    return [
        SearchHit(
            "Files",
            row.name,
            " · ".join(
                part
                for part in (
                    row.app_instance.name if row.app_instance else row.get_source_display(),
                    row.owner,
                    row.status_text,
                    f"{row.match_count} match{'es' if row.match_count != 1 else ''}",
                )
                if part
            ),
            reverse("dlp:file", args=[slug, row.pk]),
        )
        for row in rows
    ]
