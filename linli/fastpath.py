"""The two hottest endpoints, served in front of Django's request stack for bearer-token devices.

A gate device verifies a code and uploads its checks many times a second. These two calls go to
the same service functions as the documented API (``POST /api/healthcode/verify`` and
``POST /api/gates/checks``), with the same JSON in and out, but skip the middleware and routing a
browser request needs: verification does no database work at all (keys and revocations are held
in memory, the log is written in batches), and checks are group-committed (gates.batching). Any
request the fast path does not fully understand — no bearer token, an unknown token, a body that
is not the expected JSON — goes to Django unchanged, which answers it the standard way.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from collections.abc import Callable, Iterable

from django.db import close_old_connections, connection
from django.utils import timezone

from core import metrics

TOKEN_CACHE_SECONDS = 30.0
LAST_USED_EVERY = dt.timedelta(minutes=1)
MAX_BODY = 2 * 1024 * 1024
_JSON = [("Content-Type", "application/json")]


class _TokenCache:
    """Bearer token → user, for ``TOKEN_CACHE_SECONDS``: revoking an API token takes effect within
    that time on the fast path (immediately on every other endpoint)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, tuple[object | None, float]] = {}

    def user(self, key: str):
        from core.models import ApiToken

        digest = ApiToken.hash_key(key)
        now = time.monotonic()
        cached = self._users.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
        now_at = timezone.now()
        usable = record is not None and record.user.is_active
        user = record.user if usable and (record.expires_at is None or record.expires_at > now_at) else None
        if user is not None and (record.last_used_at is None or now_at - record.last_used_at > LAST_USED_EVERY):
            ApiToken.objects.filter(pk=record.pk).update(last_used_at=now_at)  # as core.api_auth does
        with self._lock:
            if len(self._users) > 10_000:
                self._users.clear()
            self._users[digest] = (user, now + TOKEN_CACHE_SECONDS)
        return user


TOKENS = _TokenCache()


def _verify(user, body: dict, ip: str | None) -> tuple[str, dict]:
    from healthcode.services import verify

    token = body.get("token")
    if not isinstance(token, str):
        raise ValueError("token")
    return "200 OK", verify(token, user_id=user.pk, channel="api").as_dict()


def _checks(user, body: dict, ip: str | None) -> tuple[str, dict]:
    from gates.api import MAX_BATCH
    from gates.batching import BATCHER

    checks = body.get("checks")
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise ValueError("checks")
    if any(isinstance(value, str) and "\x00" in value for check in checks for value in check.values()):
        raise ValueError("NUL")  # PostgreSQL cannot store it: Django's schema answers 422, as documented
    if len(checks) > MAX_BATCH:
        return "413 Request Entity Too Large", {"detail": f"at most {MAX_BATCH} checks per request"}
    try:
        outcomes = BATCHER.submit(user, checks, ip=ip)
    except Exception:
        return "503 Service Unavailable", {"detail": "not recorded; send again (records are idempotent)"}
    return "200 OK", {"results": [o.as_dict() for o in outcomes]}


ROUTES: dict[tuple[str, str], Callable[[object, dict, str | None], tuple[str, dict]]] = {
    ("POST", "/api/healthcode/verify"): _verify,
    ("POST", "/api/gates/checks"): _checks,
}


class FastPath:
    def __init__(self, django_app: Callable) -> None:
        self.django_app = django_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        handler = ROUTES.get((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if handler is None or not auth.startswith("Bearer "):
            return self.django_app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length <= 0 or length > MAX_BODY:
            return self.django_app(environ, start_response)
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # Django may still need it
        try:
            user = TOKENS.user(auth[len("Bearer ") :].strip())
        except Exception:  # a dropped database connection: let Django's stack reconnect and answer
            close_old_connections()
            return self.django_app(environ, start_response)
        if user is None:
            return self.django_app(environ, start_response)
        try:
            body = json.loads(raw)
            ip = environ.get("REMOTE_ADDR") or None
            status, data = handler(user, body, ip) if isinstance(body, dict) else (None, None)
        except ValueError:
            status = None
        finally:
            # A request thread here rarely touches the database (a key-ring refresh a second, a
            # token-cache miss); without Django's request signals nothing would ever close what it
            # opened, and every server thread would end up holding a connection.
            if connection.connection is not None and not connection.in_atomic_block:
                connection.close()
        if status is None:
            return self.django_app(environ, start_response)
        payload = json.dumps(data, ensure_ascii=False).encode()
        start_response(status, [*_JSON, ("Content-Length", str(len(payload)))])
        route = environ["PATH_INFO"].lstrip("/")
        metrics.HTTP_REQUESTS.labels("POST", route, status[:3]).inc()
        metrics.HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
        return [payload]
