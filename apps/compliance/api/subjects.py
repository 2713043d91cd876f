"""Privacy API: subjects (under /api/v1/privacy/)."""

ROUTES: list = []  # (prefix, viewset, basename)
PATHS: list = []  # extra url patterns
