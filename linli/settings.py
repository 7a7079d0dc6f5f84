"""Linli settings: one module, configured by environment variables with safe embedded defaults.

Embedded mode (the default) keeps everything under ``LINLI_HOME`` (``./var``): an SQLite database,
DuckDB files and a generated secret key. Production sets ``LINLI_DATABASE_URL`` to PostgreSQL,
``LINLI_SECRET_KEY``, ``LINLI_ALLOWED_HOSTS`` and ``LINLI_DEBUG=false``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


LINLI_HOME = Path(os.environ.get("LINLI_HOME") or BASE_DIR / "var").resolve()
LINLI_HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Production passes LINLI_SECRET_KEY; embedded mode keeps a generated key in LINLI_HOME."""
    configured = os.environ.get("LINLI_SECRET_KEY")
    if configured:
        return configured
    key_file = LINLI_HOME / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("LINLI_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("LINLI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("LINLI_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

DATABASE_URL = os.environ.get("LINLI_DATABASE_URL") or f"sqlite:///{LINLI_HOME / 'linli.sqlite3'}"
try:
    _default_db = dj_database_url.parse(DATABASE_URL, conn_max_age=_env_int("LINLI_DB_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(f"LINLI_DATABASE_URL is not a database URL: {exc}") from exc
if _default_db["ENGINE"] not in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
    raise ImproperlyConfigured("LINLI_DATABASE_URL must be a sqlite:// or postgres:// URL")
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while an import writes; the timeout rides out short write locks.
    _default_db["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
    }
    _default_db["CONN_MAX_AGE"] = 0
else:
    # a kept connection is tested before a request uses it, so a database restart costs no request
    _default_db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "ninja",  # the API docs from local static files, not a CDN (and within the CSP)
    "core",
    "geo",
    "people",
    "cases",
    "feeds",
    "tasks",
    "tracing",
    "risk",
    "healthcode",
    "gates",
    "campaigns",
    "assistance",
    "care",
    "beds",
    "supplies",
    "dispatch",
    "ewarn",
    "dashboard",
    "reopening",
    "relief",
    "workforce",
    "renovation",
    "residents",
    "synth",
]

MIDDLEWARE = [
    "core.middleware.ObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "linli" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.linli",
            ],
        },
    },
]

# Argon2id for new and re-hashed passwords (OWASP's first choice); PBKDF2 hashes of earlier
# installations still verify and are upgraded at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# password sign-ins are throttled (core.login): too many failures lock the account or the address
AUTHENTICATION_BACKENDS = ["core.login.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Chinese first, English too.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"  # store UTC, show Asia/Shanghai

STATIC_URL = "static/"
STATIC_ROOT = LINLI_HOME / "static"
# uploads (help-request photos): served only through views that check who asks, never as static files
MEDIA_ROOT = Path(os.environ.get("LINLI_MEDIA_DIR") or LINLI_HOME / "media")
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "linli" / "static"]
# Embedded mode serves static files straight from the source tree. Production runs collectstatic:
# file names carry a content hash, so browsers may cache them for a year, and WhiteNoise serves
# the pre-compressed copies it wrote.
LINLI_COLLECTED_STATIC = _env_bool("LINLI_COLLECTED_STATIC", False)
WHITENOISE_USE_FINDERS = not LINLI_COLLECTED_STATIC
if LINLI_COLLECTED_STATIC:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # no page script reads it: forms carry the token, the API uses bearer tokens
SESSION_COOKIE_AGE = _env_int("LINLI_SESSION_HOURS", 12) * 3600  # a working day, not Django's two weeks
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Scripts only from this origin (the gate app's QR decoder compiles WebAssembly); styles may be inline
# (style attributes in templates), which cannot run code. Nothing may frame a page.
LINLI_CSP = os.environ.get(
    "LINLI_CSP",
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
# the gate app reads QR codes with the camera; nothing else needs a device
LINLI_PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"
SESSION_COOKIE_SECURE = _env_bool("LINLI_SECURE_COOKIES", False)
# Reverse proxies in front of Linli (comma-separated addresses): their X-Forwarded-For names the
# client (core.middleware.client_ip) and their X-Forwarded-Proto says whether it came over HTTPS.
LINLI_TRUSTED_PROXIES = frozenset(
    p.strip() for p in os.environ.get("LINLI_TRUSTED_PROXIES", "").split(",") if p.strip()
)
if LINLI_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if SESSION_COOKIE_SECURE:  # served over HTTPS: browsers must keep to it
    SECURE_HSTS_SECONDS = _env_int("LINLI_HSTS_SECONDS", 31536000)

# Uploads: files above this size are refused before any row is read.
LINLI_MAX_UPLOAD_BYTES = _env_int("LINLI_MAX_UPLOAD_MB", 200) * 1024 * 1024
# The presence store of venue scans and its tracing index (tracing.store); Spark for --engine spark.
LINLI_PRESENCE_DIR = Path(os.environ.get("LINLI_PRESENCE_DIR") or LINLI_HOME / "presence")
LINLI_SPARK_MASTER = os.environ.get("LINLI_SPARK_MASTER", "")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LINLI_PAGE_SIZE = 50
# Gate checks arriving within this many milliseconds share one database write (gates.batching);
# 0 writes each request's records in its own thread. `linli serve` sets 2 unless configured.
LINLI_GATE_BATCH_MS = _env_int("LINLI_GATE_BATCH_MS", 0)
# Logs written behind the request by a thread (the verification log); `linli serve` turns it on.
LINLI_WRITE_BEHIND = _env_bool("LINLI_WRITE_BEHIND", False)
# The bearer-token fast path for verification and gate checks (linli.fastpath); off: Django serves them.
LINLI_FASTPATH = _env_bool("LINLI_FASTPATH", True)

# Where task notifications go besides nobody: the in-app inbox and the log; an SMS or WeChat sender
# is a class with send(user, message, task) named here.
LINLI_NOTIFY_SENDERS = [
    s.strip()
    for s in os.environ.get("LINLI_NOTIFY_SENDERS", "tasks.notify.InboxSender,tasks.notify.ConsoleSender").split(",")
    if s.strip()
]

# Background jobs: Huey on SQLite in the embedded mode, on Redis when LINLI_REDIS_URL is set.
# Tests run jobs synchronously (LINLI_JOBS_IMMEDIATE, set by the test settings hook in conftest).
LINLI_REDIS_URL = os.environ.get("LINLI_REDIS_URL", "")
_jobs_immediate = _env_bool("LINLI_JOBS_IMMEDIATE", False)
if LINLI_REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "linli",
        "url": LINLI_REDIS_URL,
        "immediate": _jobs_immediate,
        "consumer": {"workers": _env_int("LINLI_JOB_WORKERS", 2), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "linli",
        "filename": str(LINLI_HOME / "jobs.sqlite3"),
        "immediate": _jobs_immediate,
        "consumer": {"workers": _env_int("LINLI_JOB_WORKERS", 2), "worker_type": "thread"},
    }

# Logs: JSON lines (`linli serve`'s default) or plain text, identity and phone numbers masked in both
# (core.logs); the access log writes one line per request.
LINLI_LOG_FORMAT = os.environ.get("LINLI_LOG_FORMAT", "plain").strip().lower()
LINLI_ACCESS_LOG = _env_bool("LINLI_ACCESS_LOG", False)
from core.logs import logging_config  # noqa: E402 - needs the values above

LOGGING = logging_config(LINLI_LOG_FORMAT, os.environ.get("LINLI_LOG_LEVEL", "WARNING").upper(), LINLI_ACCESS_LOG)

# Prometheus scrapes /metrics from these addresses, or anywhere with this bearer token (core.metrics).
LINLI_METRICS_ALLOW = frozenset(
    a.strip() for a in os.environ.get("LINLI_METRICS_ALLOW", "127.0.0.1,::1").split(",") if a.strip()
)
LINLI_METRICS_TOKEN = os.environ.get("LINLI_METRICS_TOKEN", "")
