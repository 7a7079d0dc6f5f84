"""Liveness and readiness for process managers and load balancers (issue #11, production mode).

``/healthz`` answers 200 while the process can serve at all, touching nothing else, so a restart is
never triggered by a database outage. ``/readyz`` answers 200 only when this process can do its
work: the database answers and has every migration applied, Redis answers when the job queue is on
Redis, and the presence store's folder is writable; 503 otherwise, with each check's result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

_migrated = False  # once every migration is applied it stays so for this process's code


def _database() -> str:
    global _migrated
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if _migrated:
        return ""
    # loading the migration graph takes about a second: done until it finds nothing pending
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    _migrated = not pending
    return f"{len(pending)} migrations not applied" if pending else ""


def _redis() -> str:
    if not settings.LINLI_REDIS_URL:
        return ""
    import redis

    redis.Redis.from_url(settings.LINLI_REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    return ""


def _presence_store() -> str:
    folder = settings.LINLI_PRESENCE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return "" if os.access(folder, os.W_OK) else f"{folder} is not writable"


CHECKS: dict[str, Callable[[], str]] = {"database": _database, "redis": _redis, "presence_store": _presence_store}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            problem = check()
        except Exception as error:  # any failure of a dependency makes this process not ready
            problem = f"{type(error).__name__}: {error}"[:300]
        results[name] = {"ok": not problem, "ms": round((time.perf_counter() - started) * 1000, 1)}
        if problem:
            results[name]["problem"] = problem
    ready = all(result["ok"] for result in results.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": results}, status=200 if ready else 503)
