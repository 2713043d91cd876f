"""Settings, read from the environment through django-environ only.

Every variable is documented in `.env.example`. Secure by default: DEBUG is off unless asked for,
and with DEBUG off the process refuses to start without a real SECRET_KEY, ALLOWED_HOSTS and a
master key.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

# Local state of the embedded default: SQLite file, filesystem broker, beat schedule.
VAR_DIR = Path(env.str("CASB_VAR_DIR", default=str(BASE_DIR / "var")))


def _secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = _secret("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

# Master keys wrap the per-tenant data keys (envelope encryption, see DESIGN.md).
# Format: "keyid:base64-of-32-bytes", comma separated; the first is current, the rest stay
# readable until a rotation has re-wrapped every tenant key.
CASB_MASTER_KEYS_RAW = _secret("CASB_MASTER_KEYS")

if DEBUG:
    SECRET_KEY = SECRET_KEY or "debug-only-secret-key-not-for-production-use-0123456789abcdef"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]
    # A fixed development key so the demo works out of the box; never used with DEBUG off.
    CASB_MASTER_KEYS_RAW = CASB_MASTER_KEYS_RAW or (
        "dev:" + base64.b64encode(b"casb-development-master-key-32b!").decode()
    )
else:
    _missing = [
        name
        for name, value in (
            ("SECRET_KEY", SECRET_KEY),
            ("ALLOWED_HOSTS", ALLOWED_HOSTS),
            ("CASB_MASTER_KEYS", CASB_MASTER_KEYS_RAW),
        )
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(
            "DEBUG is off and these settings are missing: "
            + ", ".join(_missing)
            + ". See .env.example."
        )
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters.")


def _parse_master_keys(raw: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key_id, sep, b64 = item.partition(":")
        try:
            key = base64.b64decode(b64, validate=True)
        except binascii.Error as exc:
            raise ImproperlyConfigured(f"CASB_MASTER_KEYS: key {key_id!r} is not base64") from exc
        if not sep or not key_id or len(key) != 32:
            raise ImproperlyConfigured(
                "CASB_MASTER_KEYS entries must be 'keyid:base64' of a 32-byte key"
            )
        keys[key_id] = key
    if not keys:
        raise ImproperlyConfigured("CASB_MASTER_KEYS holds no key")
    return keys


CASB_MASTER_KEYS = _parse_master_keys(CASB_MASTER_KEYS_RAW)
CASB_CURRENT_MASTER_KEY_ID = next(iter(CASB_MASTER_KEYS))
# Seconds a process trusts its memory of a tenant's newest data-key version. A tenant-key
# rotation waits this long before re-sealing, so no process still seals with an old version
# when the old versions are deleted.
CASB_KEY_CACHE_SECONDS = env.int("CASB_KEY_CACHE_SECONDS", default=60)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files (no CDN)
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "apps.tenants",
    "apps.connectors",
    "apps.accounts",
    "apps.activities",
    "apps.alerts",
    "apps.governance",
    "apps.discovery",
    "apps.dlp",
    "apps.compliance",
    "apps.integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.tenants.middleware.NoStoreMiddleware",
    # AxesMiddleware must be last: it turns lock-outs into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "casb.urls"
WSGI_APPLICATION = "casb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.tenants.context_processors.console",
            ],
        },
    }
]

# --- Databases and geo pinning -------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}

# geo -> database alias. Aliases other than "default" read DATABASE_URL_<ALIAS>.
GEO_DATABASES: dict[str, str] = env.dict(
    "GEO_DATABASES", default={"eu": "default", "uk": "default", "us": "default"}
)
if set(GEO_DATABASES) != {"eu", "uk", "us"}:
    raise ImproperlyConfigured("GEO_DATABASES must map exactly the geos eu, uk and us")
for _alias in sorted(set(GEO_DATABASES.values()) - {"default"}):
    DATABASES[_alias] = env.db(f"DATABASE_URL_{_alias.upper()}")

for _db in DATABASES.values():
    if _db["ENGINE"].endswith("postgresql"):
        # Persistent connections: a new connection per request costs ~3.6x here.
        _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        _db["CONN_HEALTH_CHECKS"] = True
    _db["ATOMIC_REQUESTS"] = False

DATABASE_ROUTERS = ["apps.tenants.routing.GeoRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://casb")}

# --- Authentication ------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out after repeated failed sign-ins (django-axes), per username and per address.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "tenants/auth/locked_out.html"
AXES_VERBOSE = False
# Same client address as the access gate and audit log (honours TRUSTED_PROXY_COUNT).
AXES_CLIENT_IP_CALLABLE = "apps.tenants.netaddr.client_ip"

OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="CASB")
OTP_TOTP_THROTTLE_FACTOR = 1

ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

# Number of reverse proxies in front of us that append to X-Forwarded-For. 0 = trust none,
# take REMOTE_ADDR (ASVS 4.1.3: the client cannot override what the proxy sets).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Sessions, cookies and transport security ----------------------------------------------
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that overwrites X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- Static files, i18n --------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="casb@localhost")

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.tenants.api.authentication.TenantTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.tenants.api.permissions.TenantActionPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.tenants.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_THROTTLE_RATE", default="600/min")},
    "DEFAULT_PAGINATION_CLASS": "apps.tenants.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "apps.tenants.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.tenants.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CASB API",
    "DESCRIPTION": (
        "Per-tenant REST API. Create a token under Settings > API tokens and send "
        "`Authorization: Token <key>`. A token belongs to one tenant and acts with its role, "
        "never more than its creator's current role. JSON only. Every error is "
        '`{"error": {"code", "message", "details"}}`. Lists are paginated (`page`, `page_size` '
        "up to 500); requests are throttled per token (429 with `Retry-After`). This schema and "
        "the docs page need a token or a signed-in session."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Schema generation only calls .none() on it; the default manager would (rightly) refuse
    # to build a queryset of tenant data with no tenant.
    "DEFAULT_QUERY_MANAGER": "_base_manager",
    # One name for a choice set used by several fields (IP category of ranges and activities).
    "ENUM_NAME_OVERRIDES": {
        "IpCategoryEnum": "apps.activities.models.IpCategory",
        "InstanceStatusEnum": "apps.connectors.models.InstanceStatus",  # connectors
        "VendorEnum": "apps.connectors.models.Vendor",  # connectors
        "AccountStatusEnum": "apps.accounts.models.AccountStatus",  # activitylog
        "PolicyKindEnum": "apps.alerts.models.PolicyKind",  # policies
        "RiskCategoryEnum": "apps.alerts.models.Category",  # policies (and alerts)
        "AlertStatusEnum": "apps.alerts.models.AlertStatus",  # alerts
        "GovernanceKindEnum": "apps.governance.models.GovernanceKind",  # governance
        "GovernanceStatusEnum": "apps.governance.models.GovernanceStatus",  # governance
        "GovernanceSourceEnum": "apps.governance.models.Source",  # governance
        # The activity's source keeps its name now that governance has a "source" field too.
        "SourceEnum": "apps.activities.models.ActivitySource",  # governance
        "IcapModeEnum": "apps.dlp.models.IcapMode",  # dlp (icap)
        "ModeEnum": "apps.alerts.models.MatchMode",  # policies (named before icap had a mode)
    },
}

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FILESYSTEM_DIR = VAR_DIR / "celery-broker"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Cloud Discovery -----------------------------------------------------------------------
# Uploaded logs wait here, encrypted with the tenant's key, until a worker has parsed them (then
# they are deleted). Web and worker processes must share it.
DISCOVERY_SPOOL_DIR = Path(env.str("DISCOVERY_SPOOL_DIR", default=str(VAR_DIR / "discovery-spool")))
# Largest upload accepted (all files together, as sent) and largest uncompressed volume one upload
# may expand to (a guard against compression bombs), in bytes.
DISCOVERY_MAX_UPLOAD_BYTES = env.int("DISCOVERY_MAX_UPLOAD_BYTES", default=5 * 1024**3)
DISCOVERY_MAX_UNCOMPRESSED_BYTES = env.int("DISCOVERY_MAX_UNCOMPRESSED_BYTES", default=20 * 1024**3)
# Log lines older than this many days are skipped (discovery keeps 90 days of data).
DISCOVERY_MAX_AGE_DAYS = env.int("DISCOVERY_MAX_AGE_DAYS", default=90)
# Log collector: the address its syslog listeners bind to (loopback unless told: set the
# interface your firewalls and proxies reach), and how many lines or seconds it gathers before
# handing a batch to the pipeline as one upload.
DISCOVERY_COLLECTOR_BIND = env.str("DISCOVERY_COLLECTOR_BIND", default="127.0.0.1")
DISCOVERY_COLLECTOR_BATCH_LINES = env.int("DISCOVERY_COLLECTOR_BATCH_LINES", default=50_000)
DISCOVERY_COLLECTOR_BATCH_SECONDS = env.int("DISCOVERY_COLLECTOR_BATCH_SECONDS", default=60)

# --- Connected apps (outbound HTTPS to SaaS vendors) ---------------------------------------
# Host names a connector may reach although they resolve to loopback/private/link-local
# addresses (e.g. a vendor reached through an internal gateway). Default: none.
CONNECTOR_ALLOWED_PRIVATE_HOSTS = [
    h.strip().lower() for h in env.list("CONNECTOR_ALLOWED_PRIVATE_HOSTS", default=[]) if h.strip()
]
# A PEM file of extra CA certificates trusted for connector HTTPS (besides the system's).
CONNECTOR_CA_BUNDLE = env.str("CONNECTOR_CA_BUNDLE", default="")
CONNECTOR_HTTP_TIMEOUT = env.float("CONNECTOR_HTTP_TIMEOUT", default=30.0)
CONNECTOR_POLL_MINUTES = env.int("CONNECTOR_POLL_MINUTES", default=5)
CONNECTOR_DIRECTORY_SYNC_MINUTES = env.int("CONNECTOR_DIRECTORY_SYNC_MINUTES", default=60)
CONNECTOR_INITIAL_LOOKBACK_HOURS = env.int("CONNECTOR_INITIAL_LOOKBACK_HOURS", default=24)

# --- Activity ingestion -------------------------------------------------------------------
# Activities are kept this many days; ingestion refuses events older than that.
ACTIVITY_RETENTION_DAYS = env.int("ACTIVITY_RETENTION_DAYS", default=180)
# Push API (POST /api/v1/activities/ingest/): larger bodies or batches are refused with 413.
INGEST_MAX_BODY_BYTES = env.int("INGEST_MAX_BODY_BYTES", default=10 * 1024 * 1024)
INGEST_MAX_EVENTS = env.int("INGEST_MAX_EVENTS", default=10000)

# --- Policies and governance -------------------------------------------------------------
# Evaluate policies and anomaly detections on ingested activities (off: nothing is queued).
POLICY_EVALUATION = env.bool("POLICY_EVALUATION", default=True)
# Governance actions: attempts before an action is marked failed (retries back off exponentially).
GOVERNANCE_MAX_ATTEMPTS = env.int("GOVERNANCE_MAX_ATTEMPTS", default=6)

# --- Privacy and data lifecycle (apps/compliance) -------------------------------------------
# Retention maxima of the deployment, in days, per data kind. A tenant may shorten a period on
# its retention page, never lengthen it past these. Activities use ACTIVITY_RETENTION_DAYS and
# discovery data DISCOVERY_MAX_AGE_DAYS (above).
ALERT_RETENTION_DAYS = env.int("ALERT_RETENTION_DAYS", default=180)
GOVERNANCE_RETENTION_DAYS = env.int("GOVERNANCE_RETENTION_DAYS", default=120)
# File records and their masked matches, counted from the file's last scan (a file still in its
# app is scanned again by the continuous scan).
FILE_RETENTION_DAYS = env.int("FILE_RETENTION_DAYS", default=180)
# Our copy of an account deleted in its app is removed this many days after the deletion was seen.
DELETED_ACCOUNT_RETENTION_DAYS = env.int("DELETED_ACCOUNT_RETENTION_DAYS", default=730)
# Rows deleted per transaction by the retention purge where it cannot drop a partition.
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=5000)
# Days between a tenant's cancellation and the deletion of all its data (and its keys).
TENANT_DELETION_GRACE_DAYS = env.int("TENANT_DELETION_GRACE_DAYS", default=30)

# --- Content inspection (apps/dlp) and the ICAP server ------------------------------------------
# `manage.py icapserver` listens here (RFC 3507's port); TLS when both files are set (TLS 1.2+).
ICAP_HOST = env.str("ICAP_HOST", default="127.0.0.1")
ICAP_PORT = env.int("ICAP_PORT", default=1344)
ICAP_TLS_CERT_FILE = env.str("ICAP_TLS_CERT_FILE", default="")
ICAP_TLS_KEY_FILE = env.str("ICAP_TLS_KEY_FILE", default="")
# Bounds of one ICAP request: header block, encapsulated body, idle seconds between reads.
ICAP_MAX_HEADER_BYTES = env.int("ICAP_MAX_HEADER_BYTES", default=65536)
ICAP_MAX_BODY_BYTES = env.int("ICAP_MAX_BODY_BYTES", default=50 * 1024 * 1024)
ICAP_IDLE_TIMEOUT = env.float("ICAP_IDLE_TIMEOUT", default=30.0)

# --- Integrations (apps/integrations) -------------------------------------------------------------
# The console's public address, for links in what we send out (webhooks, SIEM, e-mails).
CONSOLE_BASE_URL = env.str("CONSOLE_BASE_URL", default="http://localhost:8000")

# How much demo data seed_demo makes (1.0: a few hundred people, ~50k activities).
DEMO_SCALE = env.float("DEMO_SCALE", default=1.0)

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
