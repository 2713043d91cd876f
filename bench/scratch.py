"""What the benchmarks share: Django set up against a scratch PostgreSQL database."""

from __future__ import annotations

import os


def scratch_urls(base: str, name: str) -> tuple[str, str]:
    """The server's maintenance database URL and the scratch database's URL, from `base`."""
    head, _, _ = base.rpartition("/")
    return f"{head}/postgres", f"{head}/{name}"


def setup_django(url: str) -> None:
    """Point Django at the scratch database `url` (all geos in it) and set it up."""
    os.environ["DATABASE_URL"] = url
    os.environ["GEO_DATABASES"] = "eu=default,uk=default,us=default"
    os.environ.setdefault("DEBUG", "true")  # a scratch run: no production secrets needed
    os.environ["DATABASE_CONN_MAX_AGE"] = "600"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casb.settings")
    import django

    django.setup()


def timed(owner, attribute: str, phase: str, phases: dict) -> None:
    """Wrap `owner.attribute` so its time adds up in `phases[phase]` (printed breakdowns)."""
    import time

    original = getattr(owner, attribute)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            phases[phase] += time.perf_counter() - started

    setattr(owner, attribute, wrapper)
