"""Test-wide fixtures: a small city built through the real import path, and staff at every level."""

from __future__ import annotations

import pytest

from tests_support.city import build_small_city


@pytest.fixture
def city(db):
    """Two districts, streets, communities, grids, compounds, buildings and residents, imported."""
    return build_small_city()


@pytest.fixture(autouse=True, scope="session")
def jobs_run_immediately():
    """Background jobs run synchronously in tests, against the test database."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield


@pytest.fixture(autouse=True)
def english_messages():
    """Assertions on messages read English; pages still negotiate zh-hans per request, and
    test_messages_are_chinese_by_default checks the Chinese side."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def presence_store(tmp_path, settings):
    """Each test gets its own presence store (tracing.store), as it gets its own database."""
    settings.LINLI_PRESENCE_DIR = tmp_path / "presence"
    yield settings.LINLI_PRESENCE_DIR


@pytest.fixture(autouse=True)
def fresh_key_ring():
    """Signing keys, gates and policies live in the (rolled-back) test database: no process cache
    may outlive a test."""
    from core.expiring import clear_all
    from healthcode.keys import KEY_RING

    KEY_RING.invalidate()
    clear_all()
    yield
    KEY_RING.invalidate()
    clear_all()
