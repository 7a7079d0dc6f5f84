"""/me/ tells a resident about a testing campaign (issue #6 item 1): the notice, their slot (site,
day, from–until) and where they stand: not sampled yet, sampled, held by a positive pool, exempt."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from campaigns.models import Slot
from campaigns.services import assign_slots, do_exempt, do_plan, do_publish_notices, import_sites, record_swab
from core.imports.runner import run_import
from residents.tests.support import sign_in
from tests_support.city import to_csv

SITES = (
    "site_code,name,lat,lon,grid_code,capacity_per_hour,opens,closes\n"
    "JA1,江岸一号采样点,30.6,114.3,420102001001001,60,08:00,20:00\n"
)
NOTICE = "请携带身份证，按通知时间到采样点，保持一米间距。"


@pytest.fixture
def campaign(city):
    today = timezone.localdate()
    campaign = do_plan(
        code="jiang-an-1",
        name="江岸区全员核酸检测",
        scope=city.divisions["420102000000"],
        starts_on=today,
        ends_on=today + dt.timedelta(days=1),
        pool_size=5,
        notice=NOTICE,
    )
    assert not import_sites(SITES).errors
    assert assign_slots(campaign) == 2  # the district's two compounds
    do_publish_notices(campaign)
    return campaign


def resident_in(city, district: str):
    return sorted((p for p in city.residents.values() if p.district.code == district), key=lambda p: p.id_number)


def signed_in_as(person) -> Client:
    browser = Client()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = sign_in(browser, phone=person.phone)
    assert response.status_code == 302 and response.url == "/me/"
    return browser


def page_for(person) -> str:
    return signed_in_as(person).get("/me/").content.decode()


def notice_of(page: str, code: str) -> str:
    found = re.search(rf'<section class="panel notice" data-campaign="{code}".*?</section>', page, re.S)
    assert found, "no notice"
    return found.group(0)


def test_the_notice_shows_the_slot_and_the_status_as_it_moves(city, campaign):
    person, neighbour = resident_in(city, "420102000000")[:2]
    slot = Slot.objects.select_related("site").get(campaign=campaign, compound_id=person.compound_id)

    browser = signed_in_as(person)
    notice = notice_of(browser.get("/me/").content.decode(), "jiang-an-1")
    assert "江岸区全员核酸检测" in notice and NOTICE in notice
    assert "江岸一号采样点" in notice
    assert f"{slot.day:%Y-%m-%d} {slot.starts:%H:%M}–{slot.ends:%H:%M}" in notice
    assert 'data-status="not_sampled"' in notice and "Not sampled yet" in notice

    for member in (person, neighbour):  # a pooled tube (a tube of one is an individual result)
        swab = record_swab(site=slot.site, tube_code="ME-1", person=member)
        assert swab.outcome == "recorded", swab
    assert "Sampled, result pending" in notice_of(browser.get("/me/").content.decode(), "jiang-an-1")

    result = {
        "sample_id": "ME-1",
        "pool_id": "ME-1",
        "id_number": "",
        "sampled_at": timezone.now().isoformat(timespec="seconds"),
        "reported_at": timezone.now().isoformat(timespec="seconds"),
        "lab_code": "LAB1",
        "result": "positive",
    }
    assert run_import("lab_results", to_csv([result]), filename="lab.csv").status == "done"
    notice = notice_of(browser.get("/me/").content.decode(), "jiang-an-1")
    assert 'data-status="held"' in notice
    assert "Held: stay home, a grid worker will re-swab you" in notice


def test_exempt_people_are_told_and_other_districts_see_no_notice(city, campaign):
    bedridden = resident_in(city, "420102000000")[1]
    do_exempt(campaign, bedridden, "bedridden")
    notice = notice_of(page_for(bedridden), "jiang-an-1")
    assert 'data-status="exempt"' in notice and "Exempt" in notice

    elsewhere = page_for(resident_in(city, "420106000000")[0])
    assert 'data-campaign="jiang-an-1"' not in elsewhere and "江岸区全员核酸检测" not in elsewhere
