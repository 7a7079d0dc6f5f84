"""Health-code staff pages: the overview, the panel on the resident page, the appeals queue and its
decision page, the risk areas elsewhere; scoping (404), permissions (403) and the read log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from cases.choices import Category
from cases.services import do_identify
from core.choices import ReadAction, StaffRole
from core.models import ReadLog
from healthcode.choices import AppealStatus, ChangeCause, Colour, Rule
from healthcode.models import Appeal, ColourChange, HealthCode, ReasonWithdrawal, TravelRiskArea
from healthcode.services import code_for, do_appeal, do_declare_trip, recompute
from people.models import Resident

pytestmark = pytest.mark.django_db

JIANG_AN, WU_CHANG = "420102", "420106"
DAY = dt.timedelta(days=1)


def english_client(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def community(city, district: str):
    return city.divisions[f"{district}001001"]


def people_of(city, district: str) -> list[Resident]:
    return list(Resident.objects.filter(district__code=f"{district}000000").order_by("id"))


@pytest.fixture
def staff(city):
    """A community worker in each district (may decide appeals), a grid worker (may not), a CDC
    epidemiologist (whole city, may change risk areas)."""
    return {
        "worker": city.staff("cw-ja", StaffRole.COMMUNITY_WORKER, community(city, JIANG_AN)),
        "other": city.staff("cw-wc", StaffRole.COMMUNITY_WORKER, community(city, WU_CHANG)),
        "grid": city.staff("gw-ja", StaffRole.GRID_WORKER, city.grid(JIANG_AN, 1)),
        "cdc": city.staff("cdc", StaffRole.CDC_EPIDEMIOLOGIST, city.divisions["420100000000"]),
    }


@pytest.fixture
def red_traveller(city):
    """Everyone has a code; one 江岸 resident arrived yesterday from a high-risk area and is red."""
    recompute(None, cause=ChangeCause.FIRST)
    TravelRiskArea.objects.create(
        area_code="4201", name="武汉市", level="high", valid_from=timezone.now() - 30 * DAY, source="test"
    )
    person = Resident.objects.filter(grid=city.grid(JIANG_AN, 1)).order_by("id").first()
    do_declare_trip(person, arrived_at=timezone.now() - DAY, origin_area_code="420111")
    assert code_for(person).colour == Colour.RED
    return person


def counts(response) -> dict[str, int]:
    return {value: n for value, _label, _hex, n in response.context["cards"]}


# --- overview ---------------------------------------------------------------------------------------


def test_overview_counts_and_lists_the_red_person(city, staff, red_traveller, django_assert_max_num_queries):
    client = english_client(staff["worker"])
    with django_assert_max_num_queries(12):
        response = client.get("/healthcode/")
    assert response.status_code == 200
    in_jiang_an = len(people_of(city, JIANG_AN))
    assert counts(response) == {"red": 1, "yellow": 0, "green": in_jiang_an - 1}
    listed = [code.person_id for code in response.context["page"].object_list]
    assert listed == [red_traveller.pk]
    body = response.content.decode()
    assert red_traveller.masked_name in body and red_traveller.masked_id_number in body
    assert red_traveller.id_number not in body
    assert "Recent arrival from a high-risk area" in body and "武汉市" in body
    assert f"/people/residents/{red_traveller.pk}/" in body


def test_overview_filters_by_colour_and_rule(staff, red_traveller):
    client = english_client(staff["worker"])
    listed = lambda **query: [c.person_id for c in client.get("/healthcode/", query).context["page"].object_list]  # noqa: E731
    assert listed(colour="red") == [red_traveller.pk]
    assert listed(colour="yellow") == []
    assert listed(rule=Rule.TRAVEL_HIGH) == [red_traveller.pk]
    assert listed(rule=Rule.CONFIRMED) == []
    assert listed(rule=Rule.TRAVEL_MEDIUM) == []  # "travel_medium" is not a prefix match of travel_high


def test_overview_is_scoped_to_the_jurisdiction(city, staff, red_traveller):
    response = english_client(staff["other"]).get("/healthcode/")
    assert response.status_code == 200
    assert counts(response) == {"red": 0, "yellow": 0, "green": len(people_of(city, WU_CHANG))}
    assert list(response.context["page"].object_list) == []
    assert red_traveller.masked_id_number not in response.content.decode()


def test_overview_writes_the_read_log(staff, red_traveller):
    english_client(staff["worker"]).get("/healthcode/")
    logged = ReadLog.objects.filter(user=staff["worker"], action=ReadAction.LIST, model="people.resident")
    assert list(logged.values_list("object_id", flat=True)) == [red_traveller.pk]


def test_pages_answer_in_chinese_by_default(staff, red_traveller):
    client = Client()
    client.force_login(staff["worker"])
    body = client.get("/healthcode/").content.decode()
    assert 'lang="zh-hans"' in body


# --- the panel on the resident page -----------------------------------------------------------------


def test_resident_page_shows_the_code_panel(staff, red_traveller):
    appeal = do_appeal(red_traveller, "I was never there.")
    body = english_client(staff["worker"]).get(f"/people/residents/{red_traveller.pk}/").content.decode()
    assert 'id="health-code"' in body
    assert "Recent arrival from a high-risk area" in body
    assert "Colour history" in body and "Declaration" in body  # the change to red, caused by the trip
    assert f"/healthcode/appeals/{appeal.pk}/" in body
    assert ColourChange.objects.filter(person=red_traveller, to_colour=Colour.RED).exists()


def test_resident_page_out_of_scope_is_404(staff, red_traveller):
    assert english_client(staff["other"]).get(f"/people/residents/{red_traveller.pk}/").status_code == 404


# --- appeals --------------------------------------------------------------------------------------


def test_appeal_corrected_through_the_page_turns_the_code_green(staff, red_traveller):
    appeal = do_appeal(red_traveller, "The trip record is someone else's.")
    client = english_client(staff["worker"])
    queue = client.get("/healthcode/appeals/")
    assert queue.status_code == 200 and [a.pk for a in queue.context["page"].object_list] == [appeal.pk]
    page = client.get(f"/healthcode/appeals/{appeal.pk}/")
    assert page.status_code == 200
    assert "The trip record is someone else&#x27;s." in page.content.decode()
    assert f'name="withdraw" value="{Rule.TRAVEL_HIGH}"' in page.content.decode()

    response = client.post(
        f"/healthcode/appeals/{appeal.pk}/",
        {"decision": AppealStatus.CORRECTED, "withdraw": [Rule.TRAVEL_HIGH], "note": "Trip record was wrong"},
    )
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.CORRECTED and appeal.withdrawn_rules == [Rule.TRAVEL_HIGH]
    assert appeal.decided_by == staff["worker"] and appeal.decision_note == "Trip record was wrong"
    code = HealthCode.objects.get(person=red_traveller)
    assert code.colour == Colour.GREEN and code.reasons == []
    assert ColourChange.objects.filter(person=red_traveller, to_colour=Colour.GREEN, cause=ChangeCause.APPEAL).exists()
    # a second decision is refused
    client.post(f"/healthcode/appeals/{appeal.pk}/", {"decision": AppealStatus.UPHELD, "note": "again"})
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.CORRECTED


def test_a_category_reason_cannot_be_withdrawn(city, staff):
    person = Resident.objects.filter(grid=city.grid(JIANG_AN, 2)).order_by("id").first()
    do_identify(person, Category.CONFIRMED, None)
    assert code_for(person).colour == Colour.RED
    appeal = do_appeal(person, "I have recovered.")
    client = english_client(staff["worker"])
    page = client.get(f"/healthcode/appeals/{appeal.pk}/").content.decode()
    assert f'name="withdraw" value="{Rule.CONFIRMED}"' not in page
    assert "four-category register" in page

    response = client.post(
        f"/healthcode/appeals/{appeal.pk}/",
        {"decision": AppealStatus.CORRECTED, "withdraw": [Rule.CONFIRMED], "note": "Please"},
    )
    assert response.status_code == 200
    assert "four-category register" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.OPEN
    assert not ReasonWithdrawal.objects.filter(person=person).exists()
    assert HealthCode.objects.get(person=person).colour == Colour.RED


def test_a_note_is_required_and_upholding_withdraws_nothing(staff, red_traveller):
    appeal = do_appeal(red_traveller, "Wrong.")
    client = english_client(staff["worker"])
    response = client.post(f"/healthcode/appeals/{appeal.pk}/", {"decision": AppealStatus.UPHELD, "note": "  "})
    assert response.status_code == 200 and response.context["form"].errors["note"]
    response = client.post(
        f"/healthcode/appeals/{appeal.pk}/",
        {"decision": AppealStatus.UPHELD, "withdraw": [Rule.TRAVEL_HIGH], "note": "Held"},
    )
    assert response.status_code == 200 and response.context["form"].errors["withdraw"]
    response = client.post(f"/healthcode/appeals/{appeal.pk}/", {"decision": AppealStatus.UPHELD, "note": "Held"})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.UPHELD
    assert HealthCode.objects.get(person=red_traveller).colour == Colour.RED


def test_deciding_needs_the_permission(staff, red_traveller):
    appeal = do_appeal(red_traveller, "Wrong.")
    client = english_client(staff["grid"])
    page = client.get(f"/healthcode/appeals/{appeal.pk}/")
    assert page.status_code == 200 and page.context["form"] is None
    response = client.post(
        f"/healthcode/appeals/{appeal.pk}/",
        {"decision": AppealStatus.CORRECTED, "withdraw": [Rule.TRAVEL_HIGH], "note": "x"},
    )
    assert response.status_code == 403
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.OPEN


def test_appeals_are_scoped(staff, red_traveller):
    appeal = do_appeal(red_traveller, "Wrong.")
    client = english_client(staff["other"])
    assert client.get(f"/healthcode/appeals/{appeal.pk}/").status_code == 404
    response = client.post(
        f"/healthcode/appeals/{appeal.pk}/",
        {"decision": AppealStatus.CORRECTED, "withdraw": [Rule.TRAVEL_HIGH], "note": "x"},
    )
    assert response.status_code == 404
    assert list(client.get("/healthcode/appeals/").context["page"].object_list) == []
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.OPEN


def test_appeal_pages_write_the_read_log(staff, red_traveller):
    appeal = do_appeal(red_traveller, "Wrong.")
    client = english_client(staff["worker"])
    client.get("/healthcode/appeals/")
    client.get(f"/healthcode/appeals/{appeal.pk}/")
    logged = ReadLog.objects.filter(user=staff["worker"], model="people.resident", object_id=red_traveller.pk)
    assert set(logged.values_list("action", flat=True)) == {ReadAction.LIST, ReadAction.VIEW}


def test_open_appeals_come_first(city, staff, red_traveller):
    decided = do_appeal(red_traveller, "First.")
    english_client(staff["worker"]).post(
        f"/healthcode/appeals/{decided.pk}/", {"decision": AppealStatus.UPHELD, "note": "Held"}
    )
    other = Resident.objects.filter(grid=city.grid(JIANG_AN, 2)).order_by("id").first()
    still_open = do_appeal(other, "Second.")
    page = english_client(staff["worker"]).get("/healthcode/appeals/").context["page"]
    assert [a.pk for a in page.object_list] == [still_open.pk, decided.pk]


# --- risk areas elsewhere -------------------------------------------------------------------------


def test_adding_a_travel_area_colours_arrivals(city, staff):
    recompute(None, cause=ChangeCause.FIRST)
    person = Resident.objects.filter(grid=city.grid(WU_CHANG, 1)).order_by("id").first()
    do_declare_trip(person, arrived_at=timezone.now() - DAY, origin_area_code="310101")
    assert code_for(person).colour == Colour.GREEN
    client = english_client(staff["cdc"])
    assert client.get("/healthcode/travel-areas/").status_code == 200
    start = (timezone.localtime() - 10 * DAY).strftime("%Y-%m-%dT%H:%M")
    form = {"area_code": "3101", "name": "上海市黄浦区", "level": "medium", "valid_from": start, "source": "国家卫健委"}
    response = client.post("/healthcode/travel-areas/", form)
    assert response.status_code == 302
    area = TravelRiskArea.objects.get(area_code="3101")
    code = HealthCode.objects.get(person=person)
    assert code.colour == Colour.YELLOW and [r["rule"] for r in code.reasons] == [Rule.TRAVEL_MEDIUM]
    assert "上海市黄浦区" in client.get("/healthcode/travel-areas/").content.decode()

    response = client.post(f"/healthcode/travel-areas/{area.pk}/end/")
    assert response.status_code == 302
    area.refresh_from_db()
    assert area.valid_until is not None and area.valid_until <= timezone.now()
    current = client.get("/healthcode/travel-areas/", {"show": "current"}).context["page"].object_list
    assert list(current) == []


def test_travel_area_form_refuses_a_bad_code(staff):
    client = english_client(staff["cdc"])
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    for code in ("4", "42a1", "4201011010011"):
        response = client.post(
            "/healthcode/travel-areas/", {"area_code": code, "name": "x", "level": "high", "valid_from": start}
        )
        assert response.status_code == 200 and response.context["form"].errors["area_code"]
    assert not TravelRiskArea.objects.exists()


def test_changing_travel_areas_needs_the_permission(staff):
    area = TravelRiskArea.objects.create(area_code="4201", name="武汉市", level="high", valid_from=timezone.now())
    client = english_client(staff["worker"])
    page = client.get("/healthcode/travel-areas/")
    assert page.status_code == 200 and page.context["form"] is None
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/healthcode/travel-areas/", {"area_code": "3101", "name": "x", "level": "high", "valid_from": start}
    )
    assert response.status_code == 403
    assert client.post(f"/healthcode/travel-areas/{area.pk}/end/").status_code == 403
    area.refresh_from_db()
    assert area.valid_until is None and TravelRiskArea.objects.count() == 1
