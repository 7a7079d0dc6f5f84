"""The sampler's page and the campaign dashboard in a real browser (Chromium): a tube filled to its
pool size by typed ID numbers closes by itself and the page is ready for the next tube; the
dashboard then counts the swabs. Screenshots are saved under the test's temporary folder."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import coverage
from campaigns.models import Site, Tube
from campaigns.services import do_plan
from geo.models import Division
from tests_support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_tube_filled_at_the_sampling_site(city, live_server, chromium, screenshots):
    today = timezone.localdate()
    campaign = do_plan(
        code="today",
        name="全员核酸检测",
        scope=Division.objects.get(level="city"),
        starts_on=today,
        ends_on=today + dt.timedelta(days=1),
        pool_size=5,
    )
    grid = city.grid("420102", 1)
    site = Site(code="S1", name="一号采样点", grid=grid, capacity_per_hour=60, opens=dt.time(8), closes=dt.time(20))
    site.fill_ancestors()
    site.save()
    city.staff("sampler", "grid_worker", grid)
    people = sorted(city.residents)[:5]

    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "sampler")
    page.fill("input[name=password]", "pw-sampler")
    page.click("form [type=submit]")
    page.goto(f"{live_server.url}/sample/S1/")
    page.fill("#tube-code", "P0000000001")
    page.click("#tube-form button[type=submit]")
    page.wait_for_selector("#step-people:not([hidden])")
    for n, id_number in enumerate(people, start=1):
        page.fill("#id-number", id_number)
        page.click("#id-form button[type=submit]")
        if n < len(people):
            expect(page.locator("#tube-count")).to_contain_text(str(n), timeout=30_000)
    page.screenshot(path=str(screenshots / "sample-site.png"), full_page=True)
    wait_for(lambda: Tube.objects.filter(code="P0000000001", status="closed", members=5).exists())
    page.wait_for_selector("#step-tube:not([hidden])")  # full: back to step 1 for the next tube
    assert coverage.total(campaign).tested == 5

    staff = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    desk = staff.new_page()
    city.staff("commander", "city_command", Division.objects.get(level="city"))
    desk.goto(f"{live_server.url}/login/")
    desk.fill("input[name=username]", "commander")
    desk.fill("input[name=password]", "pw-commander")
    desk.click("form [type=submit]")
    desk.goto(f"{live_server.url}/campaigns/{campaign.code}/")
    assert desk.inner_text("[data-total=tested]").strip() == "5"
    desk.screenshot(path=str(screenshots / "campaign-dashboard.png"), full_page=True)
    context.close()
    staff.close()
