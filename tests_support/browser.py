"""Signing a member of staff in to a real browser (the browser tests, issue #10)."""

from __future__ import annotations

DESK = {"width": 1366, "height": 768}  # the staff desk the issue sizes pages for
PHONE = {"width": 390, "height": 844}


def staff_page(chromium, live_server, username: str, viewport: dict | None = None, **options):
    """A new browser context signed in as ``username`` (password ``pw-<username>``, as
    ``city.staff`` makes it), with Chinese as the browser's language; returns (context, page)."""
    context = chromium.new_context(viewport=viewport or DESK, locale="zh-CN", **options)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("form [type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page
