"""Settings shared by every environment. Every value comes from the environment.

`.env.example` lists each variable with its default and meaning; the README's
configuration table is checked against it by the test suite.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_float, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    # Embedded default: a random key kept under var/ so that device hashes stay stable across restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# IMMEDIATE transactions take the write lock at BEGIN, so merges are serialised; WAL lets the
# web process read while a worker writes.
SQLITE_OPTIONS = {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}


def database_from_url(url: str | None) -> dict:
    """Map DATABASE_URL to a GeoDjango backend: PostGIS for postgres URLs, SpatiaLite otherwise."""
    if not url:
        return {
            "ENGINE": "django.contrib.gis.db.backends.spatialite",
            "NAME": str(VAR_DIR / "alcabala.sqlite3"),
            "OPTIONS": SQLITE_OPTIONS,
        }
    parsed = urlparse(url)
    if parsed.scheme in ("postgres", "postgresql", "postgis"):
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        return {
            "ENGINE": "django.contrib.gis.db.backends.postgis",
            "NAME": unquote(parsed.path.lstrip("/")) or "alcabala",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    if parsed.scheme in ("spatialite", "sqlite"):
        path = unquote(parsed.path)
        if not path:
            raise ImproperlyConfigured(
                "DATABASE_URL for SpatiaLite needs a file path: spatialite:///path/to/db.sqlite3"
            )
        return {
            "ENGINE": "django.contrib.gis.db.backends.spatialite",
            "NAME": path,
            "OPTIONS": SQLITE_OPTIONS,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL must start with postgres://, postgis:// or spatialite://, not {parsed.scheme!r}://"
    )


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "moderation.apps.AlcabalaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "leaflet",
    "csp",
    "geo",
    "incidents",
    "trust",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "consumers",
    "archive",
    "ogc",
    "moderation",
    "watch",
    "messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so that a refusal by a later middleware (413, 503) is readable by a page too; writes get nothing.
    "config.cors.PublicReadCorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.NoReferrerCsrfMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    # A DomainError from a plain Django view: the one JSON error shape (or the error page), as in the API.
    "config.errors.DomainErrorMiddleware",
    # Last, so that it sees a view's database error first: 503 with Retry-After, not a 500.
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASE_URL = env_url("DATABASE_URL", None, schemes=("postgres", "postgresql", "postgis", "spatialite", "sqlite"))
DATABASES = {"default": database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))

LANGUAGE_CODE = "es"
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "alc_lang"
LANGUAGE_COOKIE_SAMESITE: Literal["Lax", "Strict", "None", False] | None = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGES = [("es", "Español"), ("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
# Report photos: outside MEDIA_ROOT and never served by URL; moderators see them through a checked view.
PRIVATE_MEDIA_ROOT = VAR_DIR / "private"
# Behind nginx: the internal location serving PRIVATE_MEDIA_ROOT (deploy/nginx); unset: Django streams photos.
PRIVATE_MEDIA_X_ACCEL_PREFIX = env_str("PRIVATE_MEDIA_X_ACCEL_PREFIX") or ""

# Bodies larger than this are refused with 413 before they are read (photos get their own limit).
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],  # bounded nesting (config/parsers.py)
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.negotiation.StrictFormatNegotiation",  # `format=` is a 400
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

# --- The domain (read through incidents/conf.py, never directly) ---
DEPLOYMENT_AREA = env_str("DEPLOYMENT_AREA", "-73.40,0.60,-59.70,12.30")
PUBLISH_POLICY = env_choice("PUBLISH_POLICY", "corroborated", ("moderated", "corroborated", "open"))
PUBLIC_GRID_M = env_int("PUBLIC_GRID_M", 50, minimum=1, maximum=10_000)
PUBLIC_TIME_STEP_S = env_int("PUBLIC_TIME_STEP_S", 300, minimum=1, maximum=3600)
# Counted in independent sources (network groups), not devices (architecture §3). The old names, from when
# devices were counted, are read as the defaults of the new ones.
CORROBORATION_SOURCES = env_int("CORROBORATION_SOURCES", env_int("CORROBORATION_REPORTERS", 2, minimum=1), minimum=1)
GONE_SOURCES_TO_CLEAR = env_int("GONE_SOURCES_TO_CLEAR", env_int("GONE_VOTES_TO_CLEAR", 2, minimum=1), minimum=1)
# Distinct incidents one network group adds weight to in any hour; past it, what it sends is kept unweighted.
NETWORK_REACH_PER_HOUR = env_int("NETWORK_REACH_PER_HOUR", 3, minimum=1)
REPORT_MAX_AGE_HOURS = env_int("REPORT_MAX_AGE_HOURS", 24, minimum=1, maximum=24 * 7)
INCIDENT_KINDS = {
    "checkpoint": {
        "ttl_minutes": env_int("TTL_CHECKPOINT_MINUTES", 360, minimum=1),
        "merge_radius_m": env_float("MERGE_RADIUS_CHECKPOINT_M", 250, minimum=1),
    },
    "roadblock": {
        "ttl_minutes": env_int("TTL_ROADBLOCK_MINUTES", 720, minimum=1),
        "merge_radius_m": env_float("MERGE_RADIUS_ROADBLOCK_M", 250, minimum=1),
    },
    "militia": {
        "ttl_minutes": env_int("TTL_MILITIA_MINUTES", 120, minimum=1),
        "merge_radius_m": env_float("MERGE_RADIUS_MILITIA_M", 600, minimum=1),
    },
    "hazard": {
        "ttl_minutes": env_int("TTL_HAZARD_MINUTES", 180, minimum=1),
        "merge_radius_m": env_float("MERGE_RADIUS_HAZARD_M", 400, minimum=1),
    },
}

# --- Geocoding (geo/geocoding.py): place names to points and points to names ---
GEOCODER = env_choice("GEOCODER", "gazetteer", ("gazetteer", "nominatim", "chain"))
NOMINATIM_URL = env_url("NOMINATIM_URL", None, schemes=("https", "http"))
if GEOCODER != "gazetteer" and not NOMINATIM_URL:
    raise ImproperlyConfigured(f"GEOCODER={GEOCODER} needs NOMINATIM_URL, the address of a Nominatim service.")
NOMINATIM_USER_AGENT = env_str("NOMINATIM_USER_AGENT", "Alcabala/0.1")
NOMINATIM_RATE_PER_S = env_float("NOMINATIM_RATE_PER_S", 1, minimum=0.01)
NOMINATIM_MAX_WAIT_S = env_float("NOMINATIM_MAX_WAIT_S", 20, minimum=0)
NOMINATIM_TIMEOUT_S = env_float("NOMINATIM_TIMEOUT_S", 5, minimum=0.1)
NOMINATIM_LANGUAGE = env_str("NOMINATIM_LANGUAGE", "es")
GEOCODER_CACHE_TTL_S = env_int("GEOCODER_CACHE_TTL_S", 2592000, minimum=0)
GEOCODER_RETRIES = env_int("GEOCODER_RETRIES", 5, minimum=0, maximum=20)
GEOCODER_RETRY_BACKOFF_S = env_int("GEOCODER_RETRY_BACKOFF_S", 2, minimum=1)
GEOCODER_RETRY_BACKOFF_MAX_S = env_int("GEOCODER_RETRY_BACKOFF_MAX_S", 120, minimum=1)

# --- Celery (broker timeouts are short so that no web request hangs while Redis is down) ---
EXPIRE_INTERVAL_S = env_int("EXPIRE_INTERVAL_S", 60, minimum=1)
SWEEP_INTERVAL_S = env_int("SWEEP_INTERVAL_S", 60, minimum=1)
SWEEP_MIN_AGE_S = env_int("SWEEP_MIN_AGE_S", 60, minimum=0)
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits for Redis for as long as it is down
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
    "visibility_timeout": env_int("BROKER_VISIBILITY_TIMEOUT_S", 3600, minimum=10),
    "max_retries": 1,
}
CELERY_BROKER_POOL_LIMIT = 10
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "expire-incidents": {
        "task": "incidents.expire_incidents",
        "schedule": float(EXPIRE_INTERVAL_S),
        # A run still queued after its interval is dropped: the next one does the same work.
        "options": {"expires": max(1.0, EXPIRE_INTERVAL_S * 0.9)},
    },
    "sweep-received": {
        "task": "incidents.sweep_received",
        "schedule": float(SWEEP_INTERVAL_S),
        "options": {"expires": max(1.0, SWEEP_INTERVAL_S * 0.9)},
    },
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's request logger would print client details of failed requests; ours log ids only.
    "loggers": {"django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False}},
}

# --- The map's basemap (architecture §6.5) ---
# Default: vector tiles from our own PMTiles archive, built at install (manage.py build_basemap) or put there by
# the operator (an OpenStreetMap extract). MAP_TILE_URL, when set, replaces it with raster tiles from that server.
BASEMAP_FILE = Path(env_str("BASEMAP_FILE") or VAR_DIR / "basemap.pmtiles")
if not BASEMAP_FILE.is_absolute():
    BASEMAP_FILE = BASE_DIR / BASEMAP_FILE
# The archive's highest zoom: the browser over-zooms beyond it (10 for the embedded one, 15 for an OSM extract).
BASEMAP_MAX_ZOOM = env_int("BASEMAP_MAX_ZOOM", 10, minimum=0, maximum=16)
# Where the build finds Natural Earth (npm world-atlas, installed by `npm ci`).
BASEMAP_SOURCE = BASE_DIR / "node_modules" / "world-atlas"
BASEMAP_ATTRIBUTION = env_str(
    "BASEMAP_ATTRIBUTION",
    '<a href="https://www.naturalearthdata.com/">Natural Earth</a> · '
    '<a href="https://www.geonames.org/">GeoNames</a> (CC BY 4.0)',
)
# What the service worker keeps of the basemap for offline use, in bytes of the archive's ranges (oldest first out).
BASEMAP_OFFLINE_BYTES = env_int("BASEMAP_OFFLINE_BYTES", 4_000_000, minimum=0)
MAP_TILE_URL = env_url("MAP_TILE_URL", None, schemes=("https", "http")) or ""
MAP_TILE_ATTRIBUTION = env_str(
    "MAP_TILE_ATTRIBUTION", '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
)
# Seconds between the live map's polls of the changes feed (it also polls on focus and when back online).
MAP_POLL_INTERVAL_S = env_int("MAP_POLL_INTERVAL_S", 20, minimum=1, maximum=3600)


def _origin(url: str) -> list[str]:
    """The tile server's origin for the CSP; a {s} subdomain placeholder becomes a wildcard."""
    if not url:
        return []
    parsed = urlparse(url)
    return [f"{parsed.scheme}://{parsed.netloc.replace('{s}', '*')}"]


LEAFLET_CONFIG = {
    # django-leaflet's widgets (admin, moderation forms) draw raster tiles only: none unless MAP_TILE_URL is set.
    "TILES": [("", MAP_TILE_URL, {"attribution": MAP_TILE_ATTRIBUTION, "maxZoom": 19})] if MAP_TILE_URL else [],
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
}

from csp.constants import NONCE, NONE, SELF  # noqa: E402 -- kept beside the policy it builds

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # A nonce is sent only by pages that ask for one (django-leaflet's map widgets); never 'unsafe-inline'.
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:", *_origin(MAP_TILE_URL)],
        "connect-src": [SELF],
        "font-src": [SELF],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
PERMISSIONS_POLICY = (
    "geolocation=(self), camera=(self), microphone=(), payment=(), usb=(), interest-cohort=(), "
    "browsing-topics=(), accelerometer=(), gyroscope=(), magnetometer=()"
)

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# The token check is what protects forms (see NoReferrerCsrfMiddleware): the cookie never leaves on a cross-site post.
CSRF_COOKIE_SAMESITE = "Strict"

# Debian 12 ships GDAL 3.6, which cannot block file and network access from spatial reference
# strings; we never build spatial references from user input, only from SRID 4326.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- Abuse resistance (architecture §6.1; read through incidents/conf.py, applied by incidents/abuse.py) ---


def _ip_networks(name: str, value: str | None) -> list[str]:
    """Comma-separated IP addresses or CIDR networks, each checked at start-up."""
    import ipaddress

    entries = [entry.strip() for entry in (value or "").split(",") if entry.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must list IP addresses or CIDR networks, not {entry!r}.") from None
    return entries


def _rate_limits(name: str, value: str | None) -> list[tuple[int, int]]:
    """'20/10m,60/1h' -> [(20, 600), (60, 3600)]: at most 20 in any 10 minutes and 60 in any hour. 'off': none."""
    import re

    if value is None or value.strip().lower() == "off":
        return []
    limits = []
    for part in value.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([smh])\s*", part)
        if match is None or int(match.group(1)) < 1 or (match.group(2) and int(match.group(2)) < 1):
            raise ImproperlyConfigured(
                f"{name} must be counts per window such as 20/10m,60/1h (windows in s, m or h), or off; not {value!r}."
            )
        count, amount, unit = match.groups()
        limits.append((int(count), int(amount or 1) * {"s": 1, "m": 60, "h": 3600}[unit]))
    return limits


TRUSTED_PROXIES = _ip_networks("TRUSTED_PROXIES", env_str("TRUSTED_PROXIES"))
RATE_LIMIT_REPORTS_PER_NETWORK = _rate_limits(
    "RATE_LIMIT_REPORTS_PER_NETWORK", env_str("RATE_LIMIT_REPORTS_PER_NETWORK", "20/10m,60/1h")
)
RATE_LIMIT_REPORTS_PER_DEVICE = _rate_limits(
    "RATE_LIMIT_REPORTS_PER_DEVICE", env_str("RATE_LIMIT_REPORTS_PER_DEVICE", "10/10m,30/1h")
)
RATE_LIMIT_VOTES_PER_NETWORK = _rate_limits(
    "RATE_LIMIT_VOTES_PER_NETWORK", env_str("RATE_LIMIT_VOTES_PER_NETWORK", "60/10m,200/1h")
)
RATE_LIMIT_VOTES_PER_DEVICE = _rate_limits(
    "RATE_LIMIT_VOTES_PER_DEVICE", env_str("RATE_LIMIT_VOTES_PER_DEVICE", "30/10m,100/1h")
)
# Reads of /api/v1 and /ogc/ per network (anonymous: the map itself, many people behind one address) and
# per API key (consumers/); an answer 304 to an unchanged poll is not counted.
API_READ_RATE_ANON = _rate_limits("API_READ_RATE_ANON", env_str("API_READ_RATE_ANON", "300/1m,6000/1h"))
API_READ_RATE_KEY = _rate_limits("API_READ_RATE_KEY", env_str("API_READ_RATE_KEY", "1200/1m"))
BURST_WINDOW_MINUTES = env_int("BURST_WINDOW_MINUTES", 10, minimum=1, maximum=24 * 60)
BURST_MIN_REPORTERS = env_int("BURST_MIN_REPORTERS", 3, minimum=2)
BURST_CONFIDENCE_FACTOR = env_float("BURST_CONFIDENCE_FACTOR", 0.5, minimum=0)
if BURST_CONFIDENCE_FACTOR > 1:
    raise ImproperlyConfigured(f"BURST_CONFIDENCE_FACTOR must be between 0 and 1, not {BURST_CONFIDENCE_FACTOR}.")

# --- Report photos (architecture §6.3; read through incidents/photos.py) ---
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 8 * 1024 * 1024, minimum=1024)
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 40_000_000, minimum=1_000_000, maximum=200_000_000)
PHOTO_MAX_EDGE_PX = env_int("PHOTO_MAX_EDGE_PX", 2048, minimum=256, maximum=8192)
if PHOTO_MAX_BYTES >= MAX_REQUEST_BODY_BYTES:
    raise ImproperlyConfigured(
        f"PHOTO_MAX_BYTES ({PHOTO_MAX_BYTES}) must be below MAX_REQUEST_BODY_BYTES ({MAX_REQUEST_BODY_BYTES}), "
        "which also holds the report's other fields."
    )
# Uploads stay in memory and never touch the disk: no handler spools to a temporary file, and a body
# too large to keep in memory (a photo at the limit plus room for the form) is refused with 413.
FILE_UPLOAD_HANDLERS = ["incidents.photos.MemoryOnlyUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = PHOTO_MAX_BYTES + 256 * 1024

# --- Moderators' accounts and the audit log's retention (read through moderation/conf.py) ---
# Raw report data (text, device hashes, photos) of incidents ended this long ago is purged (architecture §6.8).
RETENTION_DAYS = env_int("RETENTION_DAYS", 30, minimum=1)
RETENTION_INTERVAL_S = env_int("RETENTION_INTERVAL_S", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["purge-retained"] = {
    "task": "moderation.purge_retained",
    "schedule": float(RETENTION_INTERVAL_S),
    "options": {"expires": max(1.0, RETENTION_INTERVAL_S * 0.9)},
}
# Archive exports for API keys (archive/; read through archive/conf.py): files kept this long after they
# are built, purged by the job above; the longest date range one export may cover.
EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 72, minimum=1)
EXPORT_MAX_DAYS = env_int("EXPORT_MAX_DAYS", 366, minimum=1)
EXPORT_DIR = VAR_DIR / "exports"
# A moderator's session ends after this long without a request, and when the browser closes.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 60, minimum=1, maximum=24 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Strict"
# Failed log-ins counted per account and network, per network, and per account from networks it has not
# logged in from today (keyed hashes, never addresses) before a lockout (moderation/throttle.py).
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_NETWORK = env_int("LOGIN_FAILURES_PER_NETWORK", 20, minimum=1)
LOGIN_FAILURES_PER_ACCOUNT_ANYWHERE = env_int("LOGIN_FAILURES_PER_ACCOUNT_ANYWHERE", 100, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
LOGIN_URL = "moderation:login"
# Moderation API tokens expire this long after they are issued; enrolment codes this long after theirs.
MODERATION_TOKEN_TTL_HOURS = env_int("MODERATION_TOKEN_TTL_HOURS", 12, minimum=1, maximum=24 * 90)
ENROLMENT_TTL_HOURS = env_int("ENROLMENT_TTL_HOURS", 24, minimum=1, maximum=24 * 30)
# A trusted reporter's one-time code (trust/services.py) can be redeemed this long after it is issued.
TRUST_ENROLMENT_TTL_HOURS = env_int("TRUST_ENROLMENT_TTL_HOURS", 24, minimum=1, maximum=24 * 30)
OTP_TOTP_ISSUER = "Alcabala"

# --- Webhooks for API consumers (read through watch/conf.py, sent by watch/tasks.py) ---
# Failed tries in a row (across deliveries) after which a webhook is disabled until switched on again.
WEBHOOK_MAX_FAILURES = env_int("WEBHOOK_MAX_FAILURES", 10, minimum=1)
WEBHOOK_RETRIES = env_int("WEBHOOK_RETRIES", 5, minimum=0, maximum=20)
WEBHOOK_RETRY_BACKOFF_S = env_float("WEBHOOK_RETRY_BACKOFF_S", 30, minimum=0.01)
WEBHOOK_RETRY_BACKOFF_MAX_S = env_float("WEBHOOK_RETRY_BACKOFF_MAX_S", 3600, minimum=0.01)
WEBHOOK_TIMEOUT_S = env_float("WEBHOOK_TIMEOUT_S", 5, minimum=0.1)
# Off: URLs that resolve to loopback, private or link-local addresses are refused (SSRF); tests turn it on.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
CELERY_BEAT_SCHEDULE["sweep-webhooks"] = {
    "task": "watch.sweep",
    "schedule": float(SWEEP_INTERVAL_S),
    "options": {"expires": max(1.0, SWEEP_INTERVAL_S * 0.9)},
}

# --- Reports by SMS and Telegram (messaging/; read through messaging/conf.py) ---
# Each channel's secret; while one is unset, its path answers 404.
SMSSYNC_SECRET = env_str("SMSSYNC_SECRET")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TELEGRAM_WEBHOOK_SECRET = env_str("TELEGRAM_WEBHOOK_SECRET")
RATE_LIMIT_MESSAGES_PER_SENDER = _rate_limits(
    "RATE_LIMIT_MESSAGES_PER_SENDER", env_str("RATE_LIMIT_MESSAGES_PER_SENDER", "10/10m,30/1h")
)
RATE_LIMIT_MESSAGES_PER_GATEWAY = _rate_limits(
    "RATE_LIMIT_MESSAGES_PER_GATEWAY", env_str("RATE_LIMIT_MESSAGES_PER_GATEWAY", "300/10m,1000/1h")
)
# The country calling code a number written the national way ("0414 555 1234") is read in, so that every
# way of writing one SIM gives one sender.
MESSAGING_COUNTRY_CODE = env_str("MESSAGING_COUNTRY_CODE", "58")
if not re.fullmatch(r"[1-9]\d{0,2}", MESSAGING_COUNTRY_CODE):
    raise ImproperlyConfigured(
        f"MESSAGING_COUNTRY_CODE must be a country calling code without + (e.g. 58), not {MESSAGING_COUNTRY_CODE!r}."
    )

# --- OpenAPI (drf-spectacular); the docs page's assets come from drf-spectacular-sidecar, served by us ---
SPECTACULAR_SETTINGS = {
    "TITLE": "Alcabala API",
    "DESCRIPTION": "Road checkpoints and dangers reported by the public: reports, incidents (GeoJSON), a changes feed.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The kinds appear as a report's `kind` and as a webhook's `kinds`: one component for both.
    "ENUM_NAME_OVERRIDES": {"KindEnum": "incidents.conf.KINDS"},
    "PREPROCESSING_HOOKS": ["consumers.docs.public_api_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "consumers.docs.token_auth",
        "consumers.docs.common_errors",
        "consumers.docs.text_without_nul",
    ],
}
