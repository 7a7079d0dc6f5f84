"""Group orders and key-group visits in a real browser (Chromium): a resident orders for the
household on a phone; the community worker at a 1366×768 desk closes ordering, starts delivery and
ticks the household off the printable delivery list; a grid worker records a visit from the visits
page. Screenshots of each page are saved in the test's folder."""

from __future__ import annotations

import pytest

from care.models import CareVisit, HouseholdDelivery, HouseholdOrderLine
from care.tests.support import care_staff, members_since, open_order
from geo.models import Household
from residents.sms import MemorySender
from residents.tests.support import sent_code
from tests_support.browser import staff_page
from tests_support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_group_order_from_phone_to_doorstep(city, building, worker, live_server, chromium, screenshots):
    order = open_order(building, worker)
    household = Household.objects.filter(building=building).order_by("room").first()
    person = household.residents.exclude(phone="").order_by("id").first()
    MemorySender.clear()

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    me = phone.new_page()
    me.goto(f"{live_server.url}/me/login/?next=/me/care/")
    me.fill("input[name=phone]", person.phone)
    me.click("form [type=submit]")
    me.wait_for_url("**/me/login/code/")
    me.fill("input[name=code]", sent_code(person.phone))
    me.click("form [type=submit]")
    chooser = me.locator(f"button[value='{person.pk}']")
    if chooser.count():  # a household sharing the phone: pick the person
        chooser.click()
    me.wait_for_url("**/me/care/")
    me.click(f"a[href='/me/care/orders/{order.pk}/']")
    me.locator("form.stack input[type=number]").first.fill("2")
    me.screenshot(path=str(screenshots / "resident-order.png"), full_page=True)
    me.click("form.stack button[type=submit]")
    wait_for(lambda: HouseholdOrderLine.objects.filter(order=order, household=household, quantity=2).exists())

    desk_context, desk = staff_page(chromium, live_server, "cw")
    desk.goto(f"{live_server.url}/care/orders/{order.pk}/")
    desk.click("form:has(input[value=ordered]) button")
    desk.click("form:has(input[value=delivering]) button")
    desk.screenshot(path=str(screenshots / "staff-order.png"), full_page=True)
    desk.goto(f"{live_server.url}/care/orders/{order.pk}/deliveries/")
    desk.check(f"#h{household.pk}")
    desk.screenshot(path=str(screenshots / "delivery-list.png"), full_page=True)
    desk.click("main form[method=post] button[type=submit]")
    wait_for(lambda: HouseholdDelivery.objects.filter(household=household, outcome="delivered").exists())
    desk.emulate_media(media="print")
    desk.screenshot(path=str(screenshots / "delivery-list-print.png"), full_page=True)
    phone.close()
    desk_context.close()


def test_a_visit_recorded_from_the_visits_page(city, live_server, chromium, screenshots):
    members_since(30)
    grid = city.grid("420102", 1)
    care_staff(city, "gw", "grid_worker", grid)
    context, page = staff_page(chromium, live_server, "gw")
    page.goto(f"{live_server.url}/care/visits/")
    page.screenshot(path=str(screenshots / "visits-due.png"), full_page=True)
    page.locator("a[href*='/care/visits/new/']").first.click()
    page.check("input[name=wellbeing][value=needs_help]")
    page.check("input[name=needs][value=medicine]")
    page.screenshot(path=str(screenshots / "visit-form.png"), full_page=True)
    page.click("main form.stack button[type=submit]")
    wait_for(lambda: CareVisit.objects.filter(wellbeing="needs_help").exists())
    context.close()
