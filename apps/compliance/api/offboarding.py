"""Privacy API: offboarding (under /api/v1/privacy/)."""

ROUTES: list = []  # (prefix, viewset, basename)
PATHS: list = []  # extra url patterns
