"""Security headers on every kind of response, and pages that a strict script policy cannot break."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines

ROOT = Path(settings.BASE_DIR)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)


def _directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/login/", "/healthz", "/api/openapi.json", "/gate/", "/me/"])
def test_every_response_carries_the_policies(client, path):
    response = client.get(path)
    assert response.status_code < 500
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "script-src 'self' 'wasm-unsafe-eval'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=(self)" in response["Permissions-Policy"]


def test_session_and_csrf_cookies_are_hardened(client, city):
    user = city.staff("headers", "community_worker", city.divisions["420102001001"])
    response = client.post("/login/", {"username": user.username, "password": "pw-headers"})
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert int(session["max-age"]) == settings.SESSION_COOKIE_AGE <= 12 * 3600
    page = client.get("/login/")
    csrf = page.cookies.get(settings.CSRF_COOKIE_NAME)
    assert csrf is None or csrf["httponly"]


def test_api_docs_load_from_this_origin(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', response.content.decode())
    assert scripts and all(src.startswith("/static/") for src in scripts)


def _templates() -> list[Path]:
    folders = [ROOT / "linli" / "templates"] + [p for p in ROOT.glob("*/templates") if ".venv" not in p.parts]
    return sorted(path for folder in folders for path in folder.rglob("*.html"))


def test_no_template_has_inline_script_or_event_handlers():
    """script-src 'self' would silently break them in the browser; this finds them before a user does."""
    offenders = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0).strip()}" for m in pattern.finditer(text)]
    assert not offenders, "\n".join(offenders)
    assert len(_templates()) > 50  # the scan saw the apps' templates


def test_the_scan_would_catch_them():
    for bad in ("<script>alert(1)</script>", '<button onclick="go()">', '<a href="javascript:go()">'):
        assert any(p.search(bad) for p in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL))
    for good in ('<script src="/static/x.js"></script>', '<script type="application/json" id="c">{}</script>'):
        assert not any(p.search(good) for p in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL))
    assert engines["django"].from_string("{% load static %}{% static 'linli/behaviours.js' %}").render({})
