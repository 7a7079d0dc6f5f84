"""The city board: free beds by category and district against a hand count, one query, the
facility list's fill colour and staleness, and jurisdiction."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from beds.selectors import board
from beds.tests.support import WUCHANG, api, facility, login, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def facilities(city):
    now = timezone.now()
    made = [
        # Jiang'an: a shelter hospital (confirmed, asymptomatic) with 10 free, a hotel with 5 free
        facility("FC1", "shelter_hospital", approved=100, open_=80, occupied=68, reserved=2),
        facility("QH1", "quarantine_hotel", approved=50, open_=50, occupied=45),
        # an isolation site taking suspected and fever: its 3 free beds show in both columns
        facility("CI1", "central_isolation", approved=20, open_=20, occupied=16, reserved=1),
        # not taking patients: no free beds, but its beds still count as open and occupied
        facility("DH0", "designated_hospital", approved=30, open_=30, occupied=5, active=False),
        # Wuchang: a designated hospital, over-reserved (free never below zero)
        facility("DH1", "designated_hospital", district_code=WUCHANG, approved=40, open_=40, occupied=39, reserved=3),
        facility("FV1", "fever_clinic", district_code=WUCHANG, approved=10, open_=8, occupied=2),
    ]
    for f in made:
        f.counts_at = now - dt.timedelta(hours=30 if f.code == "QH1" else 1)
        f.save()
    return made


def test_board_numbers_against_a_hand_count(facilities, city):
    boss = staff(city, "boss", "420102000000", "city_command")
    boss.has_perm("core.see_whole_city")  # permissions cached before the count
    with CaptureQueriesContext(connection) as queries:
        result = board(boss)
    assert len(queries) == 1
    jiangan, wuchang = result.rows
    assert jiangan.name == "江岸区" and wuchang.name == "武昌区"
    assert jiangan.free == {
        "confirmed": 10,
        "asymptomatic": 10,
        "suspected": 3,
        "fever": 3,
        "close_contact": 5,
        "secondary_contact": 5,
    }
    assert (jiangan.facilities, jiangan.beds_open, jiangan.beds_occupied, jiangan.beds_reserved) == (4, 180, 134, 3)
    assert wuchang.free == {
        "confirmed": 0,
        "asymptomatic": 0,
        "suspected": 6,
        "fever": 6,
        "close_contact": 0,
        "secondary_contact": 0,
    }
    assert (wuchang.beds_open, wuchang.beds_occupied, wuchang.beds_reserved) == (48, 41, 3)
    assert result.total.free["confirmed"] == 10 and result.total.free["fever"] == 9
    assert (result.total.facilities, result.total.beds_open, result.total.beds_occupied) == (6, 228, 175)


def test_district_staff_see_their_district_and_city_staff_everything(facilities, city):
    district_user = staff(city, "wuchang", WUCHANG)
    rows = board(district_user).rows
    assert [r.code for r in rows] == [WUCHANG]
    page = login(district_user).get("/beds/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "FV1" in page and "FC1" not in page
    assert "shows in both columns" in page
    city_user = staff(city, "boss", "420102000000", "city_command")
    assert [r.code for r in board(city_user).rows] == ["420102000000", WUCHANG]
    body = api(city_user).get("/api/beds/board").json()
    assert body["total"]["free"]["suspected"] == 9
    assert [r["district_code"] for r in body["rows"]] == ["420102000000", WUCHANG]
    assert api(district_user).get("/api/beds/board").json()["total"]["beds_open"] == 48


def test_facility_list_flags_full_and_stale(facilities, city):
    page = login(staff(city, "jiangan", "420102000000")).get("/beds/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    rows = {
        code: re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{code}(?:(?!</tr>).)*</tr>", page, re.S).group(0)
        for code in ("FC1", "QH1", "CI1")
    }
    assert 'class="beds-full"' in rows["QH1"]  # 45 of 50 open beds: 90 %
    assert 'class="beds-full"' not in rows["FC1"]  # 68 of 80: 85 %
    assert "stale" in rows["QH1"] and "stale" not in rows["CI1"]
    filtered = login(staff(city, "j2", "420102000000")).get("/beds/", {"category": "fever"}).content.decode()
    assert "CI1" in filtered and "QH1" not in filtered
