"""DLP API: files (see apps/dlp/api/__init__.py)."""

ROUTES: list = []  # (prefix under /api/v1/, viewset, basename)
PATHS: list = []  # extra url patterns, with their full path under /api/v1/
