"""The content inspection API: one module per group, each declaring `ROUTES` (prefix under
/api/v1/, viewset, basename) for the router and `PATHS` (extra url patterns, full paths)."""

from . import files, icap, policies, settings

_GROUPS = (files, policies, settings, icap)
ROUTES = [route for group in _GROUPS for route in group.ROUTES]
PATHS = [pattern for group in _GROUPS for pattern in group.PATHS]
