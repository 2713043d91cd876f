"""Discovery API: manage."""

ROUTES: list = []
PATHS: list = []
