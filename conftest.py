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


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """Argon2 costs about 0.2 s a hash by design and the tests make hundreds of users and sign-ins,
    so they hash with MD5 first; core/tests/test_login_throttle.py checks the production hashers."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()
    yield


@pytest.fixture(autouse=True)
def english_messages():
    """Assertions on messages read English; pages still negotiate zh-hans per request, and
    test_messages_are_chinese_by_default checks the Chinese side."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: its database is new, so nothing cached about another
    test's city (the dashboard's map places, keyed by area id) may leak into it."""
    from django.core.cache import cache

    cache.clear()
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
    from healthcode.services import VERIFICATION_LOG

    KEY_RING.invalidate()
    clear_all()
    yield
    KEY_RING.invalidate()
    clear_all()
    # verifications logged during the test belong in its database, not in the next test's (or in
    # none: the exit-time flush would find the test database gone)
    VERIFICATION_LOG.discard()


@pytest.fixture(scope="session")
def playwright_chromium():
    """Playwright and the path of Debian's Chromium (issue #10), for tests that launch it with their
    own flags. Skipped where Chromium is not installed; `.ci/run` installs it, so CI runs them."""
    import os
    import shutil
    from pathlib import Path

    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test's thread; the ORM calls the tests make
    # between page steps are ordinary synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        yield playwright, path


@pytest.fixture(scope="session")
def chromium(playwright_chromium):
    """Chromium, headless, shared by the browser tests of a session."""
    playwright, path = playwright_chromium
    browser = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture
def screenshots(request):
    """Where a browser test saves its screenshots for review (issue #10): ``build/screenshots/<test
    module>/<test>/`` in the checkout, or under ``LINLI_SCREENSHOTS`` when set; kept after the run."""
    import os
    import re
    from pathlib import Path

    root = Path(os.environ.get("LINLI_SCREENSHOTS") or Path(__file__).resolve().parent / "build" / "screenshots")
    module = request.node.module.__name__.replace(".", "-")
    folder = root / module / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
