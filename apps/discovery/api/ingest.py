"""Discovery API: ingest."""

ROUTES: list = []
PATHS: list = []
