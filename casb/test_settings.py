"""Settings for the test suite: real PostgreSQL and Redis on 127.0.0.1 unless told otherwise.

Two geo databases are configured so geo pinning is exercised for real: EU and UK tenants live in
"default", US tenants in "geo_us" (a second PostgreSQL database).
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casb")
os.environ.setdefault("DATABASE_URL_GEO_US", "postgres://postgres@127.0.0.1:5432/casb_us")
os.environ.setdefault("GEO_DATABASES", "eu=default,uk=default,us=geo_us")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CACHE_URL", "locmemcache://tests")
# Live-server threads would otherwise keep connections open past the test database teardown.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# Tests that seed the demo want its shape, not its bulk (one test runs it at full scale).
os.environ.setdefault("DEMO_SCALE", "0.1")
# The fake vendor servers of tests/fakes listen on loopback under this name (connectors).
os.environ.setdefault("CONNECTOR_ALLOWED_PRIVATE_HOSTS", "localhost")

from casb.settings import *  # noqa: F403

# Hashing passwords with PBKDF2 costs ~1 s per sign-in on this machine; tests sign in a lot.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
