"""Jurisdiction and drill-down in a real browser (Chromium): the city command centre logs in, sees
the whole city and clicks its way down to a household; a grid worker logs in and sees only their
grid (other districts answer 404, search and ledgers hold only their residents); the grid worker's
main pages fit a phone's width. Screenshots of each level are saved in the test's folder."""

from __future__ import annotations

import pytest

from people.models import Resident
from tests_support.browser import DESK, PHONE, staff_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CITY, JIANGAN, WUCHANG = "420100000000", "420102000000", "420106000000"


def child_link(page, name: str):
    """The link of one row of the page's table of children (crumbs hold links too)."""
    return page.locator("main table a").filter(has_text=name).first


def child_names(page) -> list[str]:
    return page.locator("main table tbody tr td:first-child a").all_inner_texts()


def card(page, label: str) -> str:
    """The number on the summary card labelled ``label`` (the pages negotiate zh-hans)."""
    return page.locator(".cards .card").filter(has=page.locator(".l", has_text=label)).locator(".n").inner_text()


def shoot(page, folder, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_the_city_command_centre_drills_down_to_a_household(city, live_server, chromium, screenshots):
    city.staff("commander", "city_command", city.divisions[CITY])
    context, page = staff_page(chromium, live_server, "commander", DESK)

    # home (the command centre's dashboard, or before it the city's page) covers the whole city
    page.wait_for_load_state()
    assert "武汉市" in page.locator("main").inner_text()
    assert all(page.locator("main a").filter(has_text=name).count() for name in ("江岸区", "武昌区"))
    shoot(page, screenshots, "0-home")

    # the drill-down starts at the city's own page
    page.goto(f"{live_server.url}/geo/divisions/{city.divisions[CITY].pk}/")
    assert "武汉市" in page.locator("h1").inner_text()
    assert child_names(page) == ["江岸区", "武昌区"]
    assert card(page, "居民") == "40"
    shoot(page, screenshots, "1-city")

    # both districts open; 武昌区 first, then down through 江岸区
    child_link(page, "武昌区").click()
    page.wait_for_url(f"**/geo/divisions/{city.divisions[WUCHANG].pk}/")
    assert child_names(page) == ["武昌街道"] and card(page, "居民") == "20"
    shoot(page, screenshots, "2-district-wuchang")
    page.locator(".crumbs a", has_text="武汉市").click()
    child_link(page, "江岸区").click()
    page.wait_for_url(f"**/geo/divisions/{city.divisions[JIANGAN].pk}/")
    assert child_names(page) == ["江岸街道"] and card(page, "居民") == "20"
    shoot(page, screenshots, "2-district-jiangan")

    child_link(page, "江岸街道").click()
    page.wait_for_url(f"**/geo/divisions/{city.divisions['420102001000'].pk}/")
    assert child_names(page) == ["江岸社区"]
    shoot(page, screenshots, "3-street")

    child_link(page, "江岸社区").click()
    page.wait_for_url(f"**/geo/divisions/{city.divisions['420102001001'].pk}/")
    assert child_names(page) == ["第1网格", "第2网格"]
    shoot(page, screenshots, "4-community")

    child_link(page, "第1网格").click()
    grid = city.grid("420102", 1)
    page.wait_for_url(f"**/geo/divisions/{grid.pk}/")
    assert child_names(page) == ["江岸1号小区"] and card(page, "居民") == "10"
    # every ancestor is a link for a whole-city user
    assert page.locator(".crumbs a").all_inner_texts() == ["武汉市", "江岸区", "江岸街道", "江岸社区"]
    shoot(page, screenshots, "5-grid")

    child_link(page, "江岸1号小区").click()
    compound = city.compounds[f"{grid.code}-01"]
    page.wait_for_url(f"**/geo/compounds/{compound.pk}/")
    assert child_names(page) == ["1栋", "2栋"]
    shoot(page, screenshots, "6-compound")

    child_link(page, "1栋").click()
    building = city.buildings[f"{grid.code}-01-01"]
    page.wait_for_url(f"**/geo/buildings/{building.pk}/")
    households = page.locator("main table").last.locator("tbody tr")
    assert households.count() == 3  # rooms 101, 102 and 201
    room_101 = households.filter(has=page.locator("td:nth-child(2)", has_text="101"))
    assert room_101.locator("a").count() == 2
    shoot(page, screenshots, "7-building")

    # the household: a member's profile lists who lives with them
    first = room_101.locator("a").first
    name = first.inner_text()
    first.click()
    person = Resident.objects.get(name=name)
    page.wait_for_url(f"**/people/residents/{person.pk}/")
    housemate = Resident.objects.filter(household=person.household).exclude(pk=person.pk).get()
    assert page.locator("h1").inner_text() == name
    household = page.locator("h2:has-text('同户人员') + table")
    assert household.locator("tbody a").all_inner_texts() == [housemate.name]
    shoot(page, screenshots, "8-household")
    context.close()


def test_a_grid_worker_sees_only_their_grid(city, live_server, chromium, screenshots):
    grid = city.grid("420102", 1)
    city.staff("gw", "grid_worker", grid)
    mine = Resident.objects.filter(grid=grid)
    theirs = Resident.objects.filter(district=city.divisions[WUCHANG]).order_by("id").first()
    context, page = staff_page(chromium, live_server, "gw", DESK)

    # home: just the grid
    assert child_names(page) == ["第1网格"]
    assert page.locator("main table tbody td.muted").all_inner_texts() == [grid.code]
    shoot(page, screenshots, "1-home")
    child_link(page, "第1网格").click()
    page.wait_for_url(f"**/geo/divisions/{grid.pk}/")
    assert page.locator(".crumbs a").count() == 0  # the ancestors are named, not opened
    assert child_names(page) == ["江岸1号小区"] and card(page, "居民") == "10"
    shoot(page, screenshots, "2-grid")

    # everything outside the grid answers 404, like a missing page
    outside = [
        f"/geo/divisions/{city.divisions[CITY].pk}/",
        f"/geo/divisions/{city.divisions[WUCHANG].pk}/",
        f"/geo/divisions/{city.divisions['420106001001'].pk}/",
        f"/geo/divisions/{city.grid('420102', 2).pk}/",  # the next grid of the same community
        f"/geo/compounds/{theirs.compound_id}/",
        f"/geo/buildings/{theirs.building_id}/",
        f"/people/residents/{theirs.pk}/",
        f"/cases/people/{theirs.pk}/",
    ]
    for path in outside:
        assert page.goto(f"{live_server.url}{path}").status == 404, path

    # person search: the common name prefix finds the grid's ten, an outsider's number nobody
    page.goto(f"{live_server.url}/people/search/")
    page.fill("input[name=q]", "居民")
    page.click("form.inline button[type=submit]")
    page.wait_for_url("**/people/search/?q=*")
    found = child_names(page)
    assert sorted(found) == sorted(mine.values_list("name", flat=True)) and len(found) == 10
    shoot(page, screenshots, "3-search")
    page.fill("input[name=q]", theirs.id_number)
    page.click("form.inline button[type=submit]")
    page.wait_for_selector("main table tbody td.muted")
    assert child_names(page) == []

    # ledgers: counts and rows of the grid only
    page.goto(f"{live_server.url}/people/ledgers/")
    ledgers = page.locator("main table tbody tr")
    chronic_row = ledgers.filter(has=page.locator("a[href^='/people/ledgers/chronic/']"))
    chronic = sorted(mine.filter(tags__contains="chronic").values_list("name", flat=True))
    assert chronic_row.locator("td.num").inner_text() == str(len(chronic)) == "6"
    shoot(page, screenshots, "4-ledgers")
    chronic_row.locator("a").click()
    page.wait_for_url("**/people/ledgers/chronic/")
    assert sorted(child_names(page)) == chronic
    shoot(page, screenshots, "5-ledger-chronic")
    context.close()


def test_the_grid_workers_pages_on_a_phone(city, live_server, chromium, screenshots):
    """Each main page opens at 390×844 without the page itself scrolling sideways (wide tables
    scroll inside themselves)."""
    grid = city.grid("420102", 1)
    city.staff("gw", "grid_worker", grid)
    building = city.buildings[f"{grid.code}-01-01"]
    person = Resident.objects.filter(building=building).order_by("id").first()
    pages = {
        "home": "/",
        "grid": f"/geo/divisions/{grid.pk}/",
        "compound": f"/geo/compounds/{building.compound_id}/",
        "building": f"/geo/buildings/{building.pk}/",
        "resident": f"/people/residents/{person.pk}/",
        "search": "/people/search/?q=居民",
        "ledger": "/people/ledgers/chronic/",
    }
    context, page = staff_page(chromium, live_server, "gw", PHONE)
    too_wide = {}
    for name, path in pages.items():
        assert page.goto(f"{live_server.url}{path}").status == 200, path
        shoot(page, screenshots, f"phone-{name}")
        scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll_width > inner_width + 1:
            too_wide[name] = scroll_width
    context.close()
    assert not too_wide, f"wider than the {PHONE['width']}px phone (px): {too_wide}"
