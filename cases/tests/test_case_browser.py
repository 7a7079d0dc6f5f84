"""A confirmed case in a real browser (Chromium, 1366×768): the community worker loads the CDC's
case report for a resident on the imports page; the resident's record turns confirmed, the
containment traces the household member and the person met at the market (not the one who stayed
only 10 minutes), puts them into their categories and opens the tasks, which the containment page
and the task inbox list. The worker then records the case as notified. Screenshots of the person
page, the containment and the task list are saved in the test's folder."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db.models import Q
from django.utils import timezone

from cases.models import PersonStatus
from core.imports.runner import run_import
from people.models import Resident
from tasks.models import Task
from tests_support.browser import staff_page
from tests_support.city import to_csv
from tests_support.waiting import wait_for
from tracing.models import Containment
from tracing.tests.test_scans import import_venues, scan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

HOME = "420102001001001-01-01"  # the case's building (江岸 grid 1)
OTHER = "420102001001002-01-01"  # a building of 江岸 grid 2


def people_of(building: str, room: str) -> list[Resident]:
    return list(Resident.objects.filter(building__code=building, household__room=room).order_by("id"))


@pytest.fixture
def market_day(city):
    """A (room 101, living with H) shops at the market yesterday 10:00–10:30; B arrives at 10:10 and
    stays the market's 60 minutes (20 minutes with A); D leaves at 10:10 (10 minutes: no contact)."""
    import_venues(city)
    a, h = people_of(HOME, "101")
    b, b_home = people_of(OTHER, "101")
    d = people_of(OTHER, "201")[0]
    day = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    rows = [
        scan("S1", a.id_number, "V1", f"{day} 10:00:00"),
        scan("S2", a.id_number, "V1", f"{day} 10:30:00", "out"),
        scan("S3", b.id_number, "V1", f"{day} 10:10:00"),
        scan("S4", d.id_number, "V1", f"{day} 09:20:00"),
        scan("S5", d.id_number, "V1", f"{day} 10:10:00", "out"),
    ]
    assert not run_import("scans", to_csv(rows), filename="scans.csv").rejected
    city.staff("gw1", "grid_worker", city.grid("420102", 1))
    city.staff("gw2", "grid_worker", city.grid("420102", 2))
    worker = city.staff("cw", "community_worker", city.divisions["420102001001"])
    return {"a": a, "h": h, "b": b, "b_home": b_home, "d": d, "onset": day, "worker": worker}


def case_report(person: Resident, onset: str) -> bytes:
    return to_csv(
        [{"case_id": "WH-2026-0001", "id_number": person.id_number, "classification": "confirmed", "onset_date": onset}]
    )


def test_a_confirmed_case_brings_its_contacts_and_tasks(city, market_day, live_server, chromium, screenshots):
    a, h, b, d = market_day["a"], market_day["h"], market_day["b"], market_day["d"]
    context, page = staff_page(chromium, live_server, "cw")
    city.staff("cdc", "cdc_epidemiologist", city.divisions["420100000000"])
    cdc_context, cdc_page = staff_page(chromium, live_server, "cdc")

    # before: not in any category
    page.goto(f"{live_server.url}/cases/people/{a.pk}/")
    assert page.locator("main p.muted").filter(has_text="不属于四类人员").count() == 1
    page.screenshot(path=str(screenshots / "1-person-before.png"), full_page=True)

    # the CDC's case report, loaded on the imports page by the CDC (a feed for the whole city: the
    # community worker may not load it)
    cdc_page.goto(f"{live_server.url}/imports/")
    cdc_page.select_option("select[name=kind]", "case_reports")
    cdc_page.set_input_files(
        "input[name=file]",
        files=[{"name": "病例报告.csv", "mimeType": "text/csv", "buffer": case_report(a, market_day["onset"])}],
    )
    cdc_page.click("main form button[type=submit]")
    cdc_page.wait_for_url("**/imports/*/")
    cdc_page.screenshot(path=str(screenshots / "2-case-report-imported.png"), full_page=True)
    cdc_context.close()

    # the containment is traced in the background (immediately in tests)
    wait_for(lambda: PersonStatus.objects.filter(person=a, category="confirmed", state="identified").exists())
    wait_for(lambda: Containment.objects.filter(case=a, traced_at__isnull=False).exists())
    containment = Containment.objects.get(case=a)
    close = set(containment.contacts.filter(degree=1).values_list("person_id", flat=True))
    assert close == {h.pk, b.pk}
    assert set(containment.contacts.filter(degree=2).values_list("person_id", flat=True)) == {market_day["b_home"].pk}
    assert PersonStatus.objects.get(person=b).category == "close_contact"
    assert not PersonStatus.objects.filter(person=d).exists()

    # the resident's profile: red code, with the way to the four-category record
    page.goto(f"{live_server.url}/people/residents/{a.pk}/")
    page.click(f"#health-code a[href='/cases/people/{a.pk}/']")
    page.wait_for_url(f"**/cases/people/{a.pk}/")
    heading = page.locator("h1").inner_text()
    assert "确诊病例" in heading and "已发现" in heading
    page.screenshot(path=str(screenshots / "3-person-confirmed.png"), full_page=True)

    # the containment: from the list to its board, contacts with their reasons, venue and tasks
    page.goto(f"{live_server.url}/tracing/")
    page.click(f"a[href='/tracing/{containment.pk}/']")
    page.wait_for_url(f"**/tracing/{containment.pk}/")
    close_rows = page.locator("h2:has-text('密切接触者') + table tbody tr")
    assert close_rows.count() == 2
    assert "同户居住" in close_rows.filter(has_text=h.name).inner_text()
    assert "菜市场 (V1)" in close_rows.filter(has_text=b.name).inner_text()
    assert re.search(r"·\s*20(\.0)?\s*分钟", close_rows.filter(has_text=b.name).inner_text())  # minutes together
    assert d.name not in page.locator("main").inner_text()
    assert market_day["b_home"].name in page.locator("h2:has-text('次密接') + table").inner_text()
    assert "菜市场" in page.locator("h2:has-text('待消杀场所') + table").inner_text()
    # the case's own three, three lists per compound with close contacts, one for the secondary
    # contact's compound, and the market's disinfection
    opened = Task.objects.filter(Q(source=f"containment:{containment.pk}") | Q(resident=a))
    assert sorted(opened.values_list("task_type", flat=True)) == sorted(
        ["notify", "transfer", "investigate", *["notify", "transfer", "test"] * 2, "notify", "disinfect"]
    )
    assert not opened.filter(assignee__isnull=True).exists()
    on_board = page.locator("h2:has-text('任务') + table tbody a").all_inner_texts()
    containment_titles = set(opened.filter(source=f"containment:{containment.pk}").values_list("title", flat=True))
    assert containment_titles and containment_titles <= set(on_board)
    page.screenshot(path=str(screenshots / "4-containment.png"), full_page=True)

    # the task inbox of the community: the case's own tasks and the contact lists
    page.goto(f"{live_server.url}/tasks/")
    listed = set(page.locator("main table tbody tr td a[href^='/tasks/']").all_inner_texts())
    assert set(opened.values_list("title", flat=True)) <= listed
    page.screenshot(path=str(screenshots / "5-tasks.png"), full_page=True)

    # a staff decision on the record: the case has been told
    page.goto(f"{live_server.url}/cases/people/{a.pk}/")
    page.select_option("select[name=to_state]", "notified")
    page.fill("input[name=note]", "电话已通知本人")
    page.click("form[action$='/transition/'] button[type=submit]")
    wait_for(lambda: PersonStatus.objects.filter(person=a, state="notified").exists())
    page.wait_for_selector("main table td:has-text('电话已通知本人')")
    assert "已通知" in page.locator("h1").inner_text()
    page.screenshot(path=str(screenshots / "6-person-notified.png"), full_page=True)
    context.close()


def test_the_cdc_confirms_a_case_on_its_record(market_day, city, live_server, chromium, screenshots):
    """The same outbreak confirmed on screen: a CDC epidemiologist puts A into the confirmed
    category on the four-category record, with the reason, and the contacts and tasks follow."""
    a, b = market_day["a"], market_day["b"]
    city.staff("cdc", "cdc_epidemiologist", city.divisions["420100000000"])
    context, page = staff_page(chromium, live_server, "cdc")
    page.goto(f"{live_server.url}/people/residents/{a.pk}/")
    page.click(f"main a[href='/cases/people/{a.pk}/']")
    page.select_option("#identify select[name=category]", "confirmed")
    page.select_option("#identify select[name=basis]", "lab_report")
    page.fill("#identify input[name=note]", "疾控中心核酸复核阳性")
    page.screenshot(path=str(screenshots / "1-confirm.png"), full_page=True)
    page.click("#identify button[type=submit]")
    wait_for(lambda: Containment.objects.filter(case=a, traced_at__isnull=False).exists())
    assert "确诊病例" in page.locator("h1").inner_text()
    containment = Containment.objects.get(case=a)
    page.goto(f"{live_server.url}/tracing/{containment.pk}/")
    assert b.name in page.content()
    assert Task.objects.filter(Q(resident=b) | Q(resident=a)).exists()
    page.screenshot(path=str(screenshots / "2-containment.png"), full_page=True)
    context.close()
