"""The privacy and data lifecycle API under /api/v1/privacy/: one module per group, each
declaring `ROUTES` (prefix, viewset, basename) for the router and `PATHS` (extra url patterns,
already prefixed with privacy/)."""

from . import location, offboarding, retention, scope, subjects

_GROUPS = (retention, subjects, scope, location, offboarding)
ROUTES = [route for group in _GROUPS for route in group.ROUTES]
PATHS = [pattern for group in _GROUPS for pattern in group.PATHS]
