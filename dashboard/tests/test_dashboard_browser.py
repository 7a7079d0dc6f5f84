"""The command centre in a real browser (Chromium): the city commander lands on the dashboard with
its map and chart, recolours the map, drills down by clicking, and watches a new case arrive
without reloading; the dashboard fits a phone; a grid worker lands on their own lists.
Screenshots are kept for review (the ``screenshots`` fixture)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases.services import do_identify
from core.choices import StaffRole
from dashboard.refresh import refresh
from geo.models import Division
from tests_support.browser import PHONE, staff_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_commander_reads_drills_down_and_sees_a_new_case(city, live_server, chromium, screenshots, settings):
    settings.LINLI_DASHBOARD_LIVE_SECONDS = 1
    people = sorted(city.residents.values(), key=lambda p: p.pk)
    do_identify(people[0], "confirmed", None, "first case")
    refresh()
    city.staff("commander", StaffRole.CITY_COMMAND, Division.objects.get(level="city"))
    context, page = staff_page(chromium, live_server, "commander")
    page.wait_for_selector("#dash-map path.leaflet-interactive")  # the districts on the map
    page.wait_for_selector("#dash-trend canvas")  # the trend chart
    assert page.locator("[data-figure=now_confirmed]").inner_text() == "1"
    page.screenshot(path=str(screenshots / "dashboard-city.png"), full_page=True)
    page.select_option("#dash-indicator", "now_confirmed")
    page.wait_for_selector(".dash-legend")
    page.screenshot(path=str(screenshots / "dashboard-city-confirmed.png"), full_page=True)

    # a second case arrives and the figures are refreshed: the page follows without a reload
    do_identify(people[-1], "confirmed", None, "second case")
    refresh()
    # a locator assertion, not wait_for_function: the page's CSP forbids evaluating strings
    expect(page.locator("[data-figure=now_confirmed]")).to_have_text("2", timeout=30_000)

    jiangan = Division.objects.get(code="420102000000")
    page.click(f"#dash-children a[href*='area={jiangan.pk}']")
    page.wait_for_url(f"**area={jiangan.pk}**")
    page.wait_for_selector("#dash-map path.leaflet-interactive")
    page.screenshot(path=str(screenshots / "dashboard-district.png"), full_page=True)
    street = Division.objects.get(code="420102001000")
    page.click(f"#dash-children a[href*='area={street.pk}']")
    community = Division.objects.get(code="420102001001")
    page.click(f"#dash-children a[href*='area={community.pk}']")
    page.wait_for_selector("#dash-map path.leaflet-interactive")  # the community's compounds
    page.screenshot(path=str(screenshots / "dashboard-community.png"), full_page=True)
    context.close()


def test_the_dashboard_fits_a_phone_and_a_grid_worker_lands_on_their_lists(city, live_server, chromium, screenshots):
    refresh()
    city.staff("commander", StaffRole.CITY_COMMAND, Division.objects.get(level="city"))
    city.staff("gridder", StaffRole.GRID_WORKER, city.grid("420102", 1))
    context, page = staff_page(chromium, live_server, "commander", PHONE)
    page.wait_for_selector("#dash-map path.leaflet-interactive")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(screenshots / "dashboard-phone.png"), full_page=True)
    context.close()
    context, page = staff_page(chromium, live_server, "gridder")
    assert page.locator("#dash-map").count() == 0
    assert "第1网格" in page.content()
    page.screenshot(path=str(screenshots / "grid-worker-home.png"), full_page=True)
    context.close()
