"""Linli's configuration variables, and the start-up check of a production configuration.

Every ``LINLI_*`` environment variable the code reads is listed in :data:`VARIABLES` (a test keeps
the list, the code and the README's table in step). ``linli serve`` calls
:func:`production_problems` before it starts a worker: a missing secret key, SQLite, no Redis,
static files not collected, migrations not applied or a misspelt variable stop it with every
problem named at once, instead of a server that starts and misbehaves.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass

# name → what it sets (the README's configuration table says more, with defaults)
VARIABLES: dict[str, str] = {
    "LINLI_HOME": "folder for the embedded database, DuckDB files, generated secret key",
    "LINLI_DATABASE_URL": "the database (postgres:// in production)",
    "LINLI_DB_CONN_MAX_AGE": "seconds a PostgreSQL connection is kept",
    "LINLI_SECRET_KEY": "Django's signing key",
    "LINLI_DEBUG": "Django debug mode",
    "LINLI_ALLOWED_HOSTS": "host names served",
    "LINLI_CSRF_TRUSTED_ORIGINS": "origins trusted for forms",
    "LINLI_TRUSTED_PROXIES": "reverse proxies whose X-Forwarded-For/Proto are believed",
    "LINLI_SECURE_COOKIES": "HTTPS-only cookies and HSTS",
    "LINLI_HSTS_SECONDS": "HSTS max-age",
    "LINLI_SESSION_HOURS": "staff session length",
    "LINLI_CSP": "Content-Security-Policy",
    "LINLI_PERMISSIONS_POLICY": "Permissions-Policy",
    "LINLI_MAX_UPLOAD_MB": "largest import file",
    "LINLI_COLLECTED_STATIC": "static files collected (hashed names, long caching)",
    "LINLI_REDIS_URL": "Redis for the job queue",
    "LINLI_JOB_WORKERS": "worker threads of linli run_huey",
    "LINLI_JOB_LEASE_MINUTES": "how long a job on another host may run before it is taken as abandoned",
    "LINLI_JOBS_IMMEDIATE": "run jobs inside the caller (tests, demo)",
    "LINLI_MEDIA_DIR": "uploaded photos and evidence",
    "LINLI_PRESENCE_DIR": "the presence store",
    "LINLI_SPARK_MASTER": "Spark master for --engine spark",
    "LINLI_SPARK_DRIVER_MEMORY": "Spark driver memory",
    "LINLI_SMS_SENDER": "class sending residents' sign-in codes",
    "LINLI_NOTIFY_SENDERS": "classes delivering task notifications",
    "LINLI_PDF_FONT": "CJK font for PDF reports",
    "LINLI_GATE_BATCH_MS": "group commit window of gate checks",
    "LINLI_WRITE_BEHIND": "verification log written by a thread",
    "LINLI_FASTPATH": "device fast path in front of Django",
    "LINLI_HOST": "linli serve address",
    "LINLI_PORT": "linli serve port",
    "LINLI_WORKERS": "linli serve worker processes",
    "LINLI_THREADS": "linli serve threads per worker",
    "LINLI_LOG_LEVEL": "root log level",
    "LINLI_LOG_FORMAT": "json or plain",
    "LINLI_ACCESS_LOG": "one log line per request",
    "LINLI_METRICS_ALLOW": "addresses that may scrape /metrics",
    "LINLI_METRICS_TOKEN": "bearer token for /metrics",
}
# read only by the test suite, CI and the benchmarks
TESTING_VARIABLES = frozenset(
    {
        "LINLI_TEST_POSTGRES_URL",
        "LINLI_TEST_REDIS_URL",
        "LINLI_REQUIRE_R",
        "LINLI_SCREENSHOTS",
        "LINLI_BENCH_PG_ADMIN_URL",
        "LINLI_BENCH_REDIS_URL",
        "LINLI_IMPORT_PAUSE_AT",
    }
)
MIN_SECRET_KEY_LENGTH = 50


@dataclass(frozen=True)
class Problem:
    variable: str
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


def unknown_variables(environ: Mapping[str, str]) -> list[Problem]:
    """``LINLI_*`` variables nobody reads: a misspelt ``LINLI_SECURE_COOKIE`` would otherwise leave
    cookies insecure without a word."""
    known = set(VARIABLES) | TESTING_VARIABLES
    problems = []
    for name in sorted(n for n in environ if n.startswith("LINLI_") and n not in known):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(Problem(name, f"unknown variable{hint}"))
    return problems


def production_problems(environ: Mapping[str, str] | None = None, *, connect: bool = True) -> list[Problem]:
    """What stands between this configuration and a production server; fatal ones stop the start."""
    from django.conf import settings

    environ = os.environ if environ is None else environ
    problems = unknown_variables(environ)
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append(Problem("LINLI_DATABASE_URL", "production runs on PostgreSQL (postgres://…), not SQLite"))
    secret = environ.get("LINLI_SECRET_KEY", "")
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        problems.append(Problem("LINLI_SECRET_KEY", f"set a random key of at least {MIN_SECRET_KEY_LENGTH} characters"))
    if settings.DEBUG:
        problems.append(Problem("LINLI_DEBUG", "debug mode shows settings and code to anyone who causes an error"))
    if not environ.get("LINLI_ALLOWED_HOSTS"):
        problems.append(Problem("LINLI_ALLOWED_HOSTS", "name the host names this server answers for"))
    if not settings.LINLI_REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        problems.append(Problem("LINLI_REDIS_URL", "the job queue needs Redis (redis://host:6379/0)"))
    if not settings.LINLI_COLLECTED_STATIC:
        problems.append(Problem("LINLI_COLLECTED_STATIC", "run `linli collectstatic --noinput`, then set it to true"))
    elif not (settings.STATIC_ROOT / "staticfiles.json").exists():
        problems.append(Problem("LINLI_COLLECTED_STATIC", f"no collected files in {settings.STATIC_ROOT}"))
    if settings.HUEY.get("immediate"):
        problems.append(Problem("LINLI_JOBS_IMMEDIATE", "jobs would run inside web requests"))
    if not settings.SESSION_COOKIE_SECURE:
        problems.append(
            Problem("LINLI_SECURE_COOKIES", "cookies may travel over plain HTTP; set true behind HTTPS", fatal=False)
        )
    if connect:
        problems += _services()
    return problems


def _services() -> list[Problem]:
    from core.health import CHECKS

    problems = []
    for name, variable in (("database", "LINLI_DATABASE_URL"), ("redis", "LINLI_REDIS_URL")):
        try:
            problem = CHECKS[name]()
        except Exception as error:  # any failure to reach it is the problem to report
            problem = f"cannot reach it: {type(error).__name__}: {error}"[:300]
        if problem:
            if "migrations not applied" in problem:
                problem += " (run `linli migrate`)"
            problems.append(Problem(variable, problem))
    return problems
