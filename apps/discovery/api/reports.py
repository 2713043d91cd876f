"""Discovery API: reports."""

ROUTES: list = []
PATHS: list = []
