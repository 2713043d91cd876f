"""Celery tasks of the activities app (thin wrappers; the work is in `partitions`)."""

from __future__ import annotations

import logging

from apps.tenants.routing import geo_aliases
from apps.tenants.tasking import platform_task

from . import partitions

log = logging.getLogger(__name__)

DAYS_AHEAD = 7


@platform_task("activities.ensure_partitions")
def ensure_partitions(days_ahead: int = DAYS_AHEAD) -> dict[str, int]:
    """Create the day partitions of yesterday to `days_ahead` days ahead in every geo database
    (beat, daily). Idempotent; ingestion also creates a missing day on demand."""
    created = {}
    for alias in sorted(geo_aliases()):
        # Read the catalogue afresh: another process may have created or dropped days.
        partitions.forget()
        created[alias] = partitions.ensure_ahead(alias, days_ahead)
    if any(created.values()):
        log.info("activity partitions created: %s", created)
    return created
