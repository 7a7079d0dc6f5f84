"""Risk areas (domain.md §5): every transition with exact dates, the county rule, idempotency, manual
settings, history, scoping, the pages, the map and the API."""

from __future__ import annotations

import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from cases.choices import Category
from cases.services import do_identify
from core.jobs import _JOBS, PERIODIC
from core.models import ApiToken, Job
from core.policy import Policy, do_update_policy
from geo.models import Division
from people.models import Resident
from risk.choices import RiskLevel
from risk.models import RiskArea, RiskLevelChange
from risk.rules import county_rating, fine_rating, manual_hold
from risk.services import do_set_level, raise_for_case, recompute_risk_areas
from tests_support.permissions import grant as grant_permission

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2020, 5, 1, 10, 0, tzinfo=SH)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
JIANG_AN, WU_CHANG = "420102", "420106"


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def people_in(city, district: str, grid: int = 1) -> list[Resident]:
    return list(Resident.objects.filter(grid=city.grid(district, grid)).order_by("id"))


def other_than(city, case: Resident) -> list[Resident]:
    """The other residents of 江岸's grid 1 (ids follow no building order, so not by position)."""
    return [p for p in people_in(city, JIANG_AN) if p.pk != case.pk]


def confirm(person: Resident, at: dt.datetime, category: str = Category.CONFIRMED) -> None:
    do_identify(person, category, None, at=at)


def area_of(node) -> RiskArea:
    field = {"building": "building", "compound": "compound"}.get(type(node).__name__.lower(), "division")
    return RiskArea.objects.get(**{field: node})


def level_of(node) -> str:
    return area_of(node).level


def set_policy(**changes) -> None:
    do_update_policy(changes, None, "test", effective_from=dt.datetime(2020, 1, 1, tzinfo=SH))


def grant(user, codename: str) -> None:
    grant_permission(user, f"risk.{codename}")


def api(user) -> Client:
    _, key = ApiToken.issue(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def case_in_jiang_an(city):
    """One confirmed case in 江岸's grid-1 compound (its first building), identified at T0."""
    building = city.buildings[f"{JIANG_AN}001001001-01-01"]
    person = Resident.objects.filter(building=building).order_by("id").first()  # ids follow no building order
    confirm(person, T0)
    return person


# --- the rules by themselves ---------------------------------------------------------------------


POLICY = Policy({}, None)


@given(st.integers(min_value=0, max_value=40 * 24 * 3600), st.integers(min_value=0, max_value=40 * 24 * 3600))
def test_fine_rating_never_rises_without_a_new_case(a, b):
    rank = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}
    early, late = sorted((a, b))
    first = fine_rating(T0, T0 + dt.timedelta(seconds=early), POLICY).level
    second = fine_rating(T0, T0 + dt.timedelta(seconds=late), POLICY).level
    assert rank[second] <= rank[first]


def test_fine_rating_boundaries():
    assert fine_rating(None, T0, POLICY).level == "low"
    assert fine_rating(T0, T0, POLICY).level == "high"
    assert fine_rating(T0, day(7) - SECOND, POLICY).level == "high"
    assert fine_rating(T0, day(7), POLICY).level == "medium"
    assert fine_rating(T0, day(10) - SECOND, POLICY).level == "medium"
    assert fine_rating(T0, day(10), POLICY).level == "low"


@pytest.mark.parametrize(
    ("cumulative", "in_window", "cluster", "level"),
    [
        (0, 0, False, "low"),
        (60, 0, True, "low"),  # no new case in 14 days
        (3, 3, True, "medium"),  # cumulative not above 50
        (50, 1, True, "medium"),
        (51, 1, False, "medium"),  # above 50 without a cluster
        (51, 2, True, "high"),
    ],
)
def test_county_rating(cumulative, in_window, cluster, level):
    assert county_rating(cumulative, in_window, cluster, POLICY).level == level


def test_manual_hold_rule():
    # a manual high at a compound decays by its own downgrade days from the manual change
    assert manual_hold("high", T0, "compound", None, day(7) - SECOND, POLICY) == "high"
    assert manual_hold("high", T0, "compound", None, day(7), POLICY) == "medium"
    assert manual_hold("high", T0, "compound", None, day(10), POLICY) is None
    assert manual_hold("medium", T0, "compound", None, day(7) - SECOND, POLICY) == "medium"
    assert manual_hold("medium", T0, "compound", None, day(7), POLICY) is None
    assert manual_hold("high", T0, "district", None, day(14) - SECOND, POLICY) == "high"
    assert manual_hold("high", T0, "district", None, day(14), POLICY) is None
    assert manual_hold("low", T0, "compound", T0 - DAY, day(30), POLICY) == "low"
    # a newer case hands the area back to the automatic rules
    assert manual_hold("high", T0, "compound", T0 + SECOND, day(1), POLICY) is None


# --- the 9th-edition fine rule, by compound and by building ---------------------------------------


def test_fine_level_high_then_medium_then_low(city, case_in_jiang_an):
    compound = city.compounds[f"{JIANG_AN}001001001-01"]
    result = recompute_risk_areas(T0 + dt.timedelta(hours=1))
    assert level_of(compound) == "high"
    assert result["high"] == 1 and result["changes"] == 3  # the compound, its community and its district
    for moment, expected in [
        (day(7) - SECOND, "high"),
        (day(7), "medium"),
        (day(10) - SECOND, "medium"),
        (day(10), "low"),
    ]:
        recompute_risk_areas(moment)
        assert level_of(compound) == expected, moment
    area = area_of(compound)
    history = list(area.changes.order_by("at").values_list("from_level", "to_level", "at", "source", "by"))
    assert history == [
        ("", "high", T0 + dt.timedelta(hours=1), "recompute", None),
        ("high", "medium", day(7), "recompute", None),
        ("medium", "low", day(10), "recompute", None),
    ]
    assert area.since == day(10) and area.last_case_at == T0 and area.cumulative_cases == 1 and area.rule == "fine"
    assert "9th edition" in area.reason
    # nothing at the other compounds or at 武昌
    assert not RiskArea.objects.filter(district=city.divisions[f"{WU_CHANG}000000"]).exists()
    assert RiskArea.objects.filter(node_level="compound").count() == 1


def test_a_new_case_restarts_the_high_days(city, case_in_jiang_an):
    compound = city.compounds[f"{JIANG_AN}001001001-01"]
    recompute_risk_areas(day(8))
    assert level_of(compound) == "medium"
    confirm(other_than(city, case_in_jiang_an)[0], day(9))
    recompute_risk_areas(day(9))
    assert level_of(compound) == "high"
    recompute_risk_areas(day(16) - SECOND)
    assert level_of(compound) == "high"
    recompute_risk_areas(day(16))
    assert level_of(compound) == "medium"
    assert area_of(compound).cumulative_cases == 2


def test_reclassification_is_not_a_new_case(city):
    person = people_in(city, JIANG_AN)[0]
    confirm(person, T0, Category.ASYMPTOMATIC)
    confirm(person, day(5))  # asymptomatic → confirmed: the same infection
    recompute_risk_areas(day(7))
    area = area_of(city.compounds[f"{JIANG_AN}001001001-01"])
    assert (area.level, area.last_case_at, area.cumulative_cases) == ("medium", T0, 1)


def test_building_level_when_the_policy_says_so(city, case_in_jiang_an):
    recompute_risk_areas(day(1))
    assert RiskArea.objects.filter(node_level="compound", level="high").count() == 1
    set_policy(risk_fine_level="building")
    recompute_risk_areas(day(2))
    building = city.buildings[f"{JIANG_AN}001001001-01-01"]
    assert case_in_jiang_an.building_id == building.pk
    area = area_of(building)
    assert (area.level, area.in_compound_id, area.grid_id) == ("high", building.compound_id, building.grid_id)
    # the compound is no longer rated: it goes down, with a change in its history
    compound_area = area_of(city.compounds[f"{JIANG_AN}001001001-01"])
    assert compound_area.level == "low"
    assert compound_area.changes.latest("at").policy_version is not None


# --- the 2020 county rule ---------------------------------------------------------------------------


def test_county_rule_medium_then_low_after_the_window(city, case_in_jiang_an):
    community = city.divisions[f"{JIANG_AN}001001"]
    district = city.divisions[f"{JIANG_AN}000000"]
    recompute_risk_areas(day(1))
    assert (level_of(community), level_of(district)) == ("medium", "medium")
    assert area_of(district).rule == "county" and area_of(district).cases_in_window == 1
    recompute_risk_areas(day(14) - SECOND)
    assert level_of(district) == "medium"
    recompute_risk_areas(day(14))
    assert (level_of(community), level_of(district)) == ("low", "low")
    assert area_of(district).cumulative_cases == 1 and area_of(district).cases_in_window == 0


def test_county_rule_high_needs_a_cluster_above_the_threshold(city):
    set_policy(risk_county_cumulative_threshold=1, risk_cluster_min_cases=2)
    district = city.divisions[f"{JIANG_AN}000000"]
    grid1, grid2 = people_in(city, JIANG_AN, 1), people_in(city, JIANG_AN, 2)
    confirm(grid1[0], T0)
    recompute_risk_areas(day(1))
    assert level_of(district) == "medium"  # 1 case: not above the threshold
    confirm(grid2[0], day(2))  # another compound: 2 > 1, but no cluster
    recompute_risk_areas(day(2))
    assert level_of(district) == "medium"
    assert "no cluster" in area_of(district).reason
    confirm(grid1[1], day(3))  # a second case in grid 1's compound within 14 days: a cluster
    recompute_risk_areas(day(3))
    assert level_of(district) == "high" and level_of(city.divisions[f"{JIANG_AN}001001"]) == "high"
    assert "cluster" in area_of(district).reason
    # 14 days after the cluster's first case it is no longer within the window: medium again
    recompute_risk_areas(day(14) + SECOND)
    assert level_of(district) == "medium"
    recompute_risk_areas(day(17))  # no new case in 14 days
    assert level_of(district) == "low"
    assert list(area_of(district).changes.order_by("at").values_list("to_level", flat=True)) == [
        "medium",
        "high",
        "medium",
        "low",
    ]
    assert not RiskArea.objects.filter(district=city.divisions[f"{WU_CHANG}000000"]).exists()


def test_cases_further_apart_than_the_window_are_no_cluster(city):
    set_policy(risk_county_cumulative_threshold=1)
    grid1 = people_in(city, JIANG_AN, 1)
    confirm(grid1[0], T0)
    confirm(grid1[1], day(15))
    recompute_risk_areas(day(15))
    assert level_of(city.divisions[f"{JIANG_AN}000000"]) == "medium"


# --- idempotency, the immediate raise, settings by hand ------------------------------------------


def test_recompute_twice_changes_nothing(city, case_in_jiang_an):
    first = recompute_risk_areas(day(1))
    rows = list(RiskArea.objects.order_by("id").values())
    changes = RiskLevelChange.objects.count()
    second = recompute_risk_areas(day(1))
    assert first["changes"] == 3 and second["changes"] == 0
    assert {k: second[k] for k in ("low", "medium", "high")} == {k: first[k] for k in ("low", "medium", "high")}
    assert list(RiskArea.objects.order_by("id").values()) == rows  # not even updated_at moved
    assert RiskLevelChange.objects.count() == changes


def test_raise_for_case_rates_the_case_s_areas_at_once(city, django_user_model):
    person = people_in(city, WU_CHANG, 2)[0]
    epidemiologist = django_user_model.objects.create_user("cdc")
    confirm(person, T0)
    areas = raise_for_case(person, T0, "Confirmed by the designated hospital", user=epidemiologist)
    assert [(a.node_level, a.level) for a in areas] == [
        ("compound", "high"),
        ("community", "medium"),
        ("district", "medium"),
    ]
    change = areas[0].changes.get()
    assert change.source == "case" and change.by == epidemiologist
    assert change.reason.startswith("Confirmed by the designated hospital")
    # only this case's nodes were rated; the next recompute agrees and changes nothing
    assert RiskArea.objects.count() == 3
    assert recompute_risk_areas(T0)["changes"] == 0


def test_raise_for_case_before_the_identification_is_recorded(city):
    person = people_in(city, WU_CHANG, 1)[0]
    areas = raise_for_case(person, T0, "Reported by phone")
    assert areas[0].level == "high" and areas[0].cumulative_cases == 1 and areas[0].last_case_at == T0


def test_manual_raise_holds_against_the_recompute(city, case_in_jiang_an, django_user_model):
    staff = django_user_model.objects.create_user("cc")
    compound = city.compounds[f"{JIANG_AN}001001001-01"]
    recompute_risk_areas(day(8))
    assert level_of(compound) == "medium"
    manual_at = day(8)
    do_set_level(area_of(compound), "high", staff, "Case stayed at the market here", at=manual_at)
    for moment, expected in [
        (day(9), "high"),  # automatically it would be medium now
        (manual_at + 7 * DAY - SECOND, "high"),
        (manual_at + 7 * DAY, "medium"),
        (manual_at + 10 * DAY - SECOND, "medium"),
        (manual_at + 10 * DAY, "low"),
    ]:
        recompute_risk_areas(moment)
        assert level_of(compound) == expected, moment
    area = area_of(compound)
    assert area.manual_at is None and area.manual_level == ""  # the automatic rules govern again
    history = list(area.changes.order_by("at", "id").values_list("from_level", "to_level", "source", "by"))
    assert history == [
        ("", "medium", "recompute", None),
        ("medium", "high", "manual", staff.pk),
        ("high", "medium", "recompute", None),
        ("medium", "low", "recompute", None),
    ]
    assert area.changes.get(source="manual").reason == "Case stayed at the market here"


def test_a_new_case_ends_a_manual_setting(city, case_in_jiang_an):
    compound = city.compounds[f"{JIANG_AN}001001001-01"]
    recompute_risk_areas(day(1))
    do_set_level(area_of(compound), "low", None, "Case lived elsewhere: address corrected", at=day(1))
    recompute_risk_areas(day(2))
    assert level_of(compound) == "low"  # the old case cannot raise it again
    confirm(other_than(city, case_in_jiang_an)[1], day(3))
    recompute_risk_areas(day(3))
    area = area_of(compound)
    assert area.level == "high" and area.manual_at is None


def test_a_manual_setting_needs_a_reason_and_a_level(city, case_in_jiang_an):
    recompute_risk_areas(day(1))
    area = area_of(city.compounds[f"{JIANG_AN}001001001-01"])
    with pytest.raises(ValueError):
        do_set_level(area, "high", None, "  ")
    with pytest.raises(ValueError):
        do_set_level(area, "severe", None, "why")
    assert area.changes.count() == 1


def test_the_job_and_the_command(city, case_in_jiang_an):
    assert "risk.recompute" in _JOBS and any(name == "risk.recompute" for _m, name in PERIODIC)
    out = io.StringIO()
    call_command("risk_recompute", "--as-of", "2020-05-02T10:00:00", stdout=out)
    result = json.loads(out.getvalue())
    assert result["high"] == 1 and result["changes"] == 3 and result["as_of"].startswith("2020-05-02T10:00:00+08:00")
    job = Job.objects.get(name="risk.recompute")
    assert job.status == "done" and job.result["changes"] == 3


# --- pages, scoping, the API ----------------------------------------------------------------------


@pytest.fixture
def rated(city, case_in_jiang_an):
    recompute_risk_areas(day(1))
    return city


@pytest.fixture
def city_user(rated):
    return rated.staff("command", "city_command", Division.objects.get(level="city"))


def english_client() -> Client:
    """Pages negotiate zh-hans by default; these assertions read the English."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_list_and_map_render_for_a_city_level_user(rated, city_user, django_assert_max_num_queries):
    client = english_client()
    client.force_login(city_user)
    with django_assert_max_num_queries(10):  # session, user, permissions ×2, page, counts, map ×2, districts
        response = client.get("/risk/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and body.count("<circle") == 4  # every compound of the city, one rated
    assert 'fill="#b91c1c"' in body  # the high-risk compound in red
    assert body.count('class="tag"') >= 3
    assert client.get("/risk/", {"level": "high"}).status_code == 200
    district = rated.divisions[f"{WU_CHANG}000000"]
    body = client.get("/risk/", {"district": district.pk}).content.decode()
    assert body.count("<circle") == 2 and 'fill="#b91c1c"' not in body
    area = area_of(rated.compounds[f"{JIANG_AN}001001001-01"])
    response = client.get(f"/risk/{area.pk}/")
    assert response.status_code == 200 and "9th edition" in response.content.decode()
    # no setting by hand without the permission (a street's staff); the city command may
    street = rated.staff("street-staff", "street", rated.divisions[f"{JIANG_AN}001000"])
    client.force_login(street)
    assert client.post(f"/risk/{area.pk}/set-level/", {"level": "low", "reason": "x"}).status_code == 403
    assert client.post("/risk/recompute/").status_code == 403
    client.force_login(city_user)
    assert client.post(f"/risk/{area.pk}/set-level/", {"level": "low", "reason": "x"}).status_code == 302


def test_the_drill_down_panel(rated, city_user):
    client = english_client()
    client.force_login(city_user)
    compound = rated.compounds[f"{JIANG_AN}001001001-01"]
    body = client.get(f"/geo/compounds/{compound.pk}/").content.decode()
    assert "Risk level" in body and "High risk" in body
    building = rated.buildings[f"{JIANG_AN}001001001-01-01"]
    assert "High risk" in client.get(f"/geo/buildings/{building.pk}/").content.decode()
    other = rated.compounds[f"{WU_CHANG}001001001-01"]
    assert "No case here" in client.get(f"/geo/compounds/{other.pk}/").content.decode()
    district = rated.divisions[f"{JIANG_AN}000000"]
    assert "Medium risk" in client.get(f"/geo/divisions/{district.pk}/").content.decode()


def test_setting_a_level_in_the_browser(rated, city_user):
    grant(city_user, "set_risk_level")
    client = english_client()
    client.force_login(city_user)
    area = area_of(rated.compounds[f"{JIANG_AN}001001001-01"])
    response = client.post(f"/risk/{area.pk}/set-level/", {"level": "medium", "reason": ""})
    assert response.status_code == 302 and area_of(area.compound).level == "high"  # a reason is required
    client.post(f"/risk/{area.pk}/set-level/", {"level": "medium", "reason": "Sealed and disinfected"})
    area.refresh_from_db()
    assert (area.level, area.manual_by, area.manual_reason) == ("medium", city_user, "Sealed and disinfected")
    response = client.get(f"/risk/{area.pk}/")
    assert "Sealed and disinfected" in response.content.decode()
    response = client.post("/risk/recompute/")
    assert response.status_code == 302 and Job.objects.filter(name="risk.recompute", user=city_user).exists()


def test_a_grid_worker_of_another_district_sees_nothing(rated):
    worker = rated.staff("gw", "grid_worker", rated.grid(WU_CHANG, 1))
    client = english_client()
    client.force_login(worker)
    body = client.get("/risk/").content.decode()
    assert "No rated area here." in body
    assert body.count("<circle") == 1 and 'fill="#94a3b8"' in body  # their own compound, no case
    for area in RiskArea.objects.all():
        assert client.get(f"/risk/{area.pk}/").status_code == 404
        assert api(worker).get(f"/api/risk/areas/{area.pk}").status_code == 404
    assert api(worker).get("/api/risk/areas").json() == {"count": 0, "results": []}


def test_a_grid_worker_sees_the_areas_of_their_grid(rated):
    worker = rated.staff("gw", "grid_worker", rated.grid(JIANG_AN, 1))
    body = api(worker).get("/api/risk/areas").json()
    assert [(r["node_level"], r["level"]) for r in body["results"]] == [("compound", "high")]
    other = rated.staff("gw2", "grid_worker", rated.grid(JIANG_AN, 2))
    assert api(other).get("/api/risk/areas").json()["count"] == 0


def test_the_api(rated, city_user, django_assert_max_num_queries):
    client = api(city_user)
    client.get("/api/me")
    with django_assert_max_num_queries(5):
        body = client.get("/api/risk/areas").json()
    assert body["count"] == 3
    assert [r["level"] for r in body["results"]] == ["high", "medium", "medium"]  # highest first
    assert client.get("/api/risk/areas", {"level": "high"}).json()["count"] == 1
    assert client.get("/api/risk/areas", {"node_level": "district"}).json()["count"] == 1
    assert client.get("/api/risk/areas", {"node_level": "community", "level": "high"}).json()["count"] == 0
    assert client.get("/api/risk/areas", {"level": "severe"}).status_code == 400
    top = body["results"][0]
    assert top["node_level"] == "compound" and top["node_name"] == "江岸1号小区" and top["cumulative_cases"] == 1
    detail = client.get(f"/api/risk/areas/{top['id']}").json()
    assert detail["rule"] == "fine" and [(h["from_level"], h["to_level"], h["source"]) for h in detail["history"]] == [
        ("", "high", "recompute")
    ]
    assert detail["history"][0]["by"] is None
    assert Client().get("/api/risk/areas").status_code == 401


def test_the_map_projection_keeps_north_up_and_inside_the_box(rated, city_user):
    from geo.models import Compound
    from risk.selectors import HEIGHT, WIDTH, map_points

    spots = {"420102001001001-01": (30.60, 114.30), "420102001001002-01": (30.50, 114.40)}
    for code, (lat, lon) in spots.items():
        Compound.objects.filter(code=code).update(lat=lat, lon=lon)
    Compound.objects.exclude(code__in=spots).update(lat=None, lon=None)
    points = {p.title.split(":")[0]: p for p in map_points(city_user, RiskArea.objects.all())}
    north_west, south_east = points["江岸1号小区"], points["江岸2号小区"]
    assert float(north_west.y) < float(south_east.y) and float(north_west.x) < float(south_east.x)
    for p in points.values():
        assert 0 <= float(p.x) <= WIDTH and 0 <= float(p.y) <= HEIGHT
    assert north_west.colour == "#b91c1c" and north_west.url.startswith("/risk/")
    assert south_east.url.startswith("/geo/compounds/")
