"""The Cloud Discovery API under /api/v1/discovery/: one module per group, each declaring
`ROUTES` (prefix, viewset, basename) for the router and `PATHS` (extra url patterns)."""

from . import ingest, manage, reports

ROUTES = [*reports.ROUTES, *ingest.ROUTES, *manage.ROUTES]
PATHS = [*reports.PATHS, *ingest.PATHS, *manage.PATHS]
