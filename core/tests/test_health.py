"""Liveness and readiness endpoints."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_liveness_needs_nothing(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_when_the_database_is_migrated_and_the_store_writable(client, settings):
    settings.LINLI_REDIS_URL = ""
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.json()
    checks = answer.json()["checks"]
    assert checks["database"]["ok"] and checks["presence_store"]["ok"] and checks["redis"]["ok"]


@pytest.mark.django_db
def test_not_ready_when_redis_is_configured_but_unreachable(client, settings):
    settings.LINLI_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready" and not body["checks"]["redis"]["ok"]
    assert "ConnectionError" in body["checks"]["redis"]["problem"]
    assert body["checks"]["database"]["ok"]


@pytest.mark.django_db
def test_not_ready_when_the_presence_store_cannot_be_written(client, settings, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    settings.LINLI_REDIS_URL = ""
    settings.LINLI_PRESENCE_DIR = blocked / "presence"
    answer = client.get("/readyz")
    assert answer.status_code == 503 and not answer.json()["checks"]["presence_store"]["ok"]


@pytest.mark.django_db
def test_ready_with_the_real_redis(client, settings):
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running (.ci/run starts it)")
    settings.LINLI_REDIS_URL = url
    answer = client.get("/readyz")
    assert answer.status_code == 200 and answer.json()["checks"]["redis"]["ok"]
