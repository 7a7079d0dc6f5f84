"""The care columns of the key-group ledgers (issue #7 item 3): last visit, days overdue and the
needs recorded at the last visit, on the page and in the XLSX, in the same query budget, in scope."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format
from openpyxl import load_workbook

from care.choices import Need, VisitKind, Wellbeing
from care.tests.support import members_since
from care.visits import do_record_visit
from core.models import ReadLog
from people.models import KeyGroupMembership, Resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def visited(city):
    """Everyone on the ledgers since 30 days ago; one chronic patient visited two days ago."""
    members_since(30)
    elderly = KeyGroupMembership.objects.filter(group="elderly_alone").values("resident_id")
    person = Resident.objects.filter(key_groups__group="chronic").exclude(pk__in=elderly).order_by("id").first()
    when = timezone.now() - dt.timedelta(days=2)
    do_record_visit(
        person,
        by=None,
        kind=VisitKind.HOME,
        wellbeing=Wellbeing.NEEDS_HELP,
        needs=[Need.MEDICINE, Need.GROCERIES],
        visited_at=when,
    )
    return person, timezone.localtime(when).date()


def browser(user) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    client.get("/")
    return client


def test_the_ledger_page_shows_visits_in_the_same_budget(city, visited, django_assert_max_num_queries):
    person, day = visited
    commander = city.staff("commander", "city_command", city.divisions["420100000000"])
    client = browser(commander)
    with django_assert_max_num_queries(10):
        response = client.get("/people/ledgers/chronic/")
    html = response.content.decode()
    assert "Last visit" in html and "Days overdue" in html and "Needs at the last visit" in html
    row = html[html.index(person.name) :].split("</tr>")[0]
    with translation.override("en"):
        assert "Medicine; Groceries" in row and date_format(day) in row
    never = Resident.objects.filter(key_groups__group="chronic").exclude(pk=person.pk).order_by("grid_id", "id")
    other_row = html[html.index(never.last().name) :].split("</tr>")[0]
    assert "<td>16</td>" in other_row or "<td>23</td>" in other_row  # fortnightly, or weekly when also elderly
    assert ReadLog.objects.filter(user=commander, action="list").count() == 24
    assert "Days overdue" not in client.get("/people/ledgers/low_income/").content.decode()


def test_the_xlsx_has_the_columns(city, visited):
    person, day = visited
    commander = city.staff("commander", "city_command", city.divisions["420100000000"])
    response = browser(commander).get("/people/ledgers/chronic/", {"format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][-3:] == ("Last visit", "Days overdue", "Needs at the last visit")
    (mine,) = [r for r in rows if r[0] == person.name]
    assert mine[-3].date() == day and mine[-2] is None and mine[-1] == "Medicine; Groceries"
    assert {r[-2] for r in rows[1:] if r[0] != person.name} == {16, 23}
    assert ReadLog.objects.filter(user=commander, action="export").count() == 24


def test_the_columns_stay_in_scope(city, visited):
    person, _day = visited
    grid = city.grid("420106", 2)
    worker = city.staff("gw", "grid_worker", grid)
    html = browser(worker).get("/people/ledgers/chronic/").content.decode()
    assert html.count("/people/residents/") == 6
    assert (person.name in html) == (person.grid_id == grid.pk)
