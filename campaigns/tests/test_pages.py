"""Campaign staff pages: planning through the form, the dashboard's totals and drill-down, scoping
(a grid worker sees their grid's numbers, 404 elsewhere), the untested list and the grid XLSX, the
door-to-door button, sites CSV, exemptions, tubes and the read log; permissions (403)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from campaigns import coverage
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign, Exemption, Site, Slot
from campaigns.services import do_plan
from campaigns.tests.rows import load, members, results
from core.choices import ReadAction, StaffRole
from core.models import ReadLog
from geo.models import Division
from people.models import Resident
from tasks.models import Task
from tests_support.city import valid_id

DAY = dt.date(2020, 5, 22)
JIANG_AN, WU_CHANG = "420102", "420106"


def english_client(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def people_of(grid: Division) -> list[Resident]:
    return sorted(Resident.objects.filter(grid=grid), key=lambda r: r.id_number)


@pytest.fixture
def staff(city):
    return {
        "command": city.staff("command", StaffRole.CITY_COMMAND, city.divisions["420100000000"]),
        "community": city.staff("cw-ja", StaffRole.COMMUNITY_WORKER, city.divisions[f"{JIANG_AN}001001"]),
        "grid": city.staff("gw-ja", StaffRole.GRID_WORKER, city.grid(JIANG_AN, 1)),
        "other_grid": city.staff("gw-wc", StaffRole.GRID_WORKER, city.grid(WU_CHANG, 1)),
    }


@pytest.fixture
def campaign(city) -> Campaign:
    return do_plan(
        code="wuhan-may",
        name="全民核酸检测",
        scope=Division.objects.get(level="city"),
        starts_on=DAY,
        ends_on=DAY + dt.timedelta(days=2),
        pool_size=5,
    )


@pytest.fixture
def sampled(city, campaign):
    """Grid A (江岸 1): 5 negative, 4 held by a positive tube, 1 to sample. Grid B (江岸 2): 5
    negative, 1 exempt (bedridden), 4 to sample. Grid C (武昌 1): nobody sampled. Grid D (武昌 2): a
    tube of 5 at the lab, 5 to sample."""
    from campaigns.services import do_exempt

    a, b, c, d = (people_of(city.grid(JIANG_AN, 1)), people_of(city.grid(JIANG_AN, 2)),
                  people_of(city.grid(WU_CHANG, 1)), people_of(city.grid(WU_CHANG, 2)))  # fmt: skip
    ids = {name: [p.id_number for p in group] for name, group in zip("abcd", (a, b, c, d), strict=True)}
    load(
        "pool_members",
        members({"A1": ids["a"][:5], "A2": ids["a"][5:9], "B1": ids["b"][:5], "D1": ids["d"][:5]}),
    )
    load("lab_results", results({"A1": "negative", "A2": "positive", "B1": "negative"}))
    do_exempt(campaign, b[9], "bedridden", "卧床")
    return {"a": a, "b": b, "c": c, "d": d}


# --- the list and planning --------------------------------------------------------------------------


def test_a_community_worker_plans_a_campaign_through_the_form(city, staff):
    client = english_client(staff["community"])
    page = client.get("/campaigns/")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["pool_size"] == 10  # policy campaign_pool_size
    areas = {d.code for d in form.fields["area"].queryset}
    assert f"{JIANG_AN}001001" in areas and "420100000000" not in areas and f"{WU_CHANG}001001" not in areas

    data = {
        "code": "ja-community",
        "name": "江岸社区筛查",
        "area": city.divisions[f"{JIANG_AN}001001"].pk,
        "area_code": "",
        "starts_on": "2020-05-22",
        "ends_on": "2020-05-24",
        "pool_size": "10",
        "notice": "请按时到采样点",
    }
    response = client.post("/campaigns/", data, follow=True)
    assert response.redirect_chain[-1][0] == "/campaigns/ja-community/"
    campaign = Campaign.objects.get(code="ja-community")
    assert campaign.scope.code == f"{JIANG_AN}001001" and campaign.pool_size == 10
    assert campaign.created_by == staff["community"]
    assert "20 residents to sample" in response.content.decode()
    listing = client.get("/campaigns/")
    assert [c.code for c in listing.context["page"]] == ["ja-community"]
    assert listing.context["page"][0].counts.target == 20

    # refused: the same code again, an area outside the jurisdiction, days the wrong way round
    again = client.post("/campaigns/", data | {"name": "again"})
    assert "A campaign with this code already exists." in again.content.decode()
    outside = client.post("/campaigns/", data | {"code": "wc", "area": "", "area_code": f"{WU_CHANG}001001"})
    assert "No division with this code in your jurisdiction." in outside.content.decode()
    backwards = client.post("/campaigns/", data | {"code": "back", "ends_on": "2020-05-20"})
    assert "The last day is before the first day." in backwards.content.decode()
    by_code = client.post(
        "/campaigns/", data | {"code": "grid-one", "area": "", "area_code": city.grid(JIANG_AN, 1).code}
    )
    assert by_code.status_code == 302
    assert Campaign.objects.get(code="grid-one").scope_level == "grid"
    assert Campaign.objects.count() == 2


def test_a_grid_worker_may_not_plan_or_change_a_campaign(city, staff, campaign):
    client = english_client(staff["grid"])
    page = client.get("/campaigns/")
    assert page.status_code == 200 and page.context["form"] is None
    assert "Plan the campaign" not in page.content.decode()
    assert [c.code for c in page.context["page"]] == ["wuhan-may"]
    data = {"code": "mine", "name": "x", "area_code": city.grid(JIANG_AN, 1).code, "starts_on": "2020-05-22"}
    assert client.post("/campaigns/", data).status_code == 403
    assert client.post("/campaigns/wuhan-may/start/").status_code == 403
    assert client.post("/campaigns/wuhan-may/door-to-door/").status_code == 403
    assert client.post("/campaigns/wuhan-may/exemptions/", {"id_number": "x", "reason": "away"}).status_code == 403
    assert not Campaign.objects.filter(code="mine").exists()
    # a community worker may plan, but not start or close a campaign of the whole city
    community = english_client(staff["community"])
    assert community.post("/campaigns/wuhan-may/start/").status_code == 403
    assert community.post("/campaigns/wuhan-may/close/").status_code == 403
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PLANNED)
    command = english_client(staff["command"])
    assert command.post("/campaigns/wuhan-may/start/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SAMPLING


def test_a_campaign_elsewhere_is_not_listed_or_shown(city, staff):
    do_plan(
        code="wuchang",
        name="武昌区",
        scope=city.divisions[f"{WU_CHANG}000000"],
        starts_on=DAY,
        ends_on=DAY,
        pool_size=10,
    )
    client = english_client(staff["grid"])
    assert list(client.get("/campaigns/").context["page"]) == []
    assert client.get("/campaigns/wuchang/").status_code == 404
    assert client.get("/campaigns/wuchang/tubes/").status_code == 404
    assert english_client(staff["other_grid"]).get("/campaigns/wuchang/").status_code == 200


# --- the dashboard ----------------------------------------------------------------------------------


def test_the_dashboard_shows_the_totals_and_drills_down_to_the_grids(city, staff, campaign, sampled):
    client = english_client(staff["command"])
    response = client.get("/campaigns/wuhan-may/")
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals.target, totals.tested, totals.exempt, totals.untested) == (40, 19, 1, 20)
    assert (totals.awaiting, totals.negative, totals.held, totals.positive) == (5, 10, 4, 0)
    assert totals.percent == "48.7%"  # 19 of the 39 expected at a site
    body = response.content.decode()
    assert "Still to sample" in body and "Awaiting result" in body and "48.7%" in body
    # the first level under the city: its districts
    assert response.context["level"] == "district"
    assert {r.name: r.tested for r in response.context["rows"]} == {"江岸区": 14, "武昌区": 5}
    # days and the lab
    assert response.context["days"] == [
        {**response.context["days"][0], "day": DAY, "swabs": 19, "tubes": 4, "positive_tubes": 1}
    ]
    lab = response.context["lab"]
    assert (lab.tubes, lab.waiting, lab.positive, lab.over_target) == (4, 1, 1, 0)
    assert lab.mean_turnaround_hours == pytest.approx(9.0)
    assert "<svg" in body

    community = city.divisions[f"{JIANG_AN}001001"]
    grids = client.get("/campaigns/wuhan-may/", {"level": "grid", "community": community.pk})
    rows = {r.key: r for r in grids.context["rows"]}
    grid_a, grid_b = city.grid(JIANG_AN, 1), city.grid(JIANG_AN, 2)
    assert set(rows) == {grid_a.pk, grid_b.pk}
    assert (rows[grid_a.pk].target, rows[grid_a.pk].tested, rows[grid_a.pk].held, rows[grid_a.pk].untested) == (
        10,
        9,
        4,
        1,
    )
    assert (rows[grid_b.pk].tested, rows[grid_b.pk].exempt, rows[grid_b.pk].untested) == (5, 1, 4)
    assert rows[grid_b.pk].percent == "55.6%"
    page = grids.content.decode()
    assert f"/campaigns/wuhan-may/untested/?grid={grid_a.pk}" in page
    assert f"/campaigns/wuhan-may/export/grid/{grid_a.pk}.xlsx" in page
    assert f"?level=compound&amp;grid={grid_a.pk}" in page
    assert [name for name, _url in grids.context["crumbs"]] == ["武汉市", "江岸区", "江岸街道", "江岸社区"]
    area = grids.context["area_totals"]
    assert (area.target, area.tested, area.untested) == (20, 14, 5)
    buildings = client.get("/campaigns/wuhan-may/", {"level": "building", "grid": grid_b.pk})
    assert sum(r.target for r in buildings.context["rows"]) == 10
    assert "?building=" in buildings.content.decode()


def test_a_grid_worker_sees_only_their_grid(city, staff, campaign, sampled):
    client = english_client(staff["grid"])
    response = client.get("/campaigns/wuhan-may/")
    totals = response.context["totals"]
    assert (totals.target, totals.tested, totals.held, totals.untested) == (10, 9, 4, 1)
    assert response.context["lab"] is None  # the lab figures are the whole campaign's
    assert [(r.name, r.target) for r in response.context["rows"]] == [("江岸区", 10)]
    assert sum(d["swabs"] for d in response.context["days"]) == 9
    assert "Open door-to-door tasks" not in response.content.decode()

    grid_a, grid_c = city.grid(JIANG_AN, 1), city.grid(WU_CHANG, 1)
    assert client.get("/campaigns/wuhan-may/untested/", {"grid": grid_c.pk}).status_code == 404
    assert client.get(f"/campaigns/wuhan-may/export/grid/{grid_c.pk}.xlsx").status_code == 404
    outside_building = sampled["c"][0].building_id
    assert client.get("/campaigns/wuhan-may/untested/", {"building": outside_building}).status_code == 404
    assert client.get("/campaigns/wuhan-may/untested/").status_code == 404
    mine = client.get("/campaigns/wuhan-may/untested/", {"grid": grid_a.pk})
    assert [p.pk for p in mine.context["page"]] == [sampled["a"][9].pk]
    # tubes: only those holding someone of the grid
    tubes = client.get("/campaigns/wuhan-may/tubes/")
    assert sorted(t.code for t in tubes.context["page"]) == ["A1", "A2"]
    assert client.get("/campaigns/wuhan-may/tubes/D1/").status_code == 404


def test_the_untested_list_is_masked_and_read_logged(city, staff, campaign, sampled):
    client = english_client(staff["command"])
    grid_b = city.grid(JIANG_AN, 2)
    response = client.get("/campaigns/wuhan-may/untested/", {"grid": grid_b.pk})
    listed = list(response.context["page"])
    expected = {p.pk for p in sampled["b"][5:9]}  # the exempt tenth is not to sample
    assert {p.pk for p in listed} == expected
    body = response.content.decode()
    for person in listed:
        assert person.masked_name in body and person.masked_id_number in body and person.masked_phone in body
        assert person.id_number not in body and person.phone not in body
    logged = set(
        ReadLog.objects.filter(user=staff["command"], action=ReadAction.LIST, model="people.resident").values_list(
            "object_id", flat=True
        )
    )
    assert logged == expected
    building = client.get("/campaigns/wuhan-may/untested/", {"building": sampled["d"][9].building_id})
    assert {p.pk for p in building.context["page"]} <= {p.pk for p in sampled["d"][5:]}
    assert building.context["counts"].untested == len(building.context["page"].object_list)


def test_the_grid_export_matches_the_dashboard(city, staff, campaign, sampled):
    client = english_client(staff["command"])
    grid_b = city.grid(JIANG_AN, 2)
    dashboard = client.get("/campaigns/wuhan-may/", {"level": "grid", "community": grid_b.community_id})
    row = next(r for r in dashboard.context["rows"] if r.key == grid_b.pk)
    response = client.get(f"/campaigns/wuhan-may/export/grid/{grid_b.pk}.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    sheet, people = workbook.worksheets
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][:5] == ("Building", "Residents", "Sampled", "Coverage", "Still to sample")
    buildings, total = values[2:-1], values[-1]
    assert len(buildings) == 2 and total[0] == "Total"
    assert total[1:] == (
        row.target,
        row.tested,
        pytest.approx(row.coverage),
        row.untested,
        row.exempt,
        row.held,
        row.positive,
    )
    assert sum(b[1] for b in buildings) == row.target
    untested = list(people.iter_rows(values_only=True))[1:]
    assert len(untested) == row.untested == 4
    masked = {p.masked_id_number for p in sampled["b"][5:9]}
    assert {r[1] for r in untested} == masked
    assert all("*" in r[0] and "*" in r[5] for r in untested)
    exported = ReadLog.objects.filter(user=staff["command"], action=ReadAction.EXPORT, model="people.resident")
    assert set(exported.values_list("object_id", flat=True)) == {p.pk for p in sampled["b"][5:9]}


def test_the_door_to_door_button_opens_a_task_per_building(city, staff, campaign, sampled):
    client = english_client(staff["command"])
    grid_c = city.grid(WU_CHANG, 1)
    page = client.get("/campaigns/wuhan-may/", {"level": "building", "grid": grid_c.pk})
    assert "Open door-to-door tasks" in page.content.decode()
    response = client.post("/campaigns/wuhan-may/door-to-door/", {"level": "building", "grid": grid_c.pk}, follow=True)
    assert response.redirect_chain[-1][0].startswith(f"/campaigns/wuhan-may/?level=building&grid={grid_c.pk}")
    assert "2 door-to-door tasks opened." in response.content.decode()
    tasks = Task.objects.filter(task_type="door_to_door")
    assert tasks.count() == 2
    assert {t.building_id for t in tasks} == {p.building_id for p in sampled["c"]}
    first = set(tasks.values_list("pk", flat=True))
    # the community worker's button acts inside their jurisdiction only
    english_client(staff["community"]).post("/campaigns/wuhan-may/door-to-door/", {"level": "district"})
    opened = Task.objects.filter(task_type="door_to_door").exclude(pk__in=first)
    assert opened.exists() and set(opened.values_list("district__code", flat=True)) == {f"{JIANG_AN}000000"}


# --- sites, exemptions, tubes -------------------------------------------------------------------------

SITES = (
    "site_code,name,lat,lon,grid_code,capacity_per_hour,opens,closes\n"
    "S1,江岸1号采样点,30.6,114.3,420102001001001,200,08:00,18:00\n"
    "S2,武昌1号采样点,30.5,114.3,420106001001001,200,08:00,18:00\n"
)
BAD_SITES = (
    "site_code,name,lat,lon,grid_code,capacity_per_hour,opens,closes\n"
    "S3,好的采样点,30.6,114.3,420102001001001,200,08:00,18:00\n"
    "S4,未知网格,30.6,114.3,420199001001001,200,08:00,18:00\n"
    "S5,晚开早关,30.6,114.3,420102001001001,200,18:00,08:00\n"
    "S6,少了几列,30.6\n"
)


def csv_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("sites.csv", text.encode("utf-8"), content_type="text/csv")


def test_sites_are_loaded_assigned_and_published(city, staff, campaign):
    client = english_client(staff["command"])
    response = client.post("/campaigns/wuhan-may/sites/upload/", {"file": csv_file(SITES)}, follow=True)
    assert "Sites loaded: 2 new, 0 updated." in response.content.decode()
    assert set(Site.objects.values_list("code", flat=True)) == {"S1", "S2"}

    refused = client.post("/campaigns/wuhan-may/sites/upload/", {"file": csv_file(BAD_SITES)})
    assert refused.status_code == 200
    errors = refused.context["upload"].non_field_errors()
    assert [e.split(":")[0] for e in errors] == ["Line 3", "Line 4", "Line 5"]
    assert "unknown grid 420199001001001" in errors[0] and "closes before it opens" in errors[1]
    assert "3 fields where the header has 8" in errors[2]
    body = refused.content.decode()
    assert "Line 3" in body and "Line 5" in body
    assert not Site.objects.filter(code="S3").exists()  # refused whole

    response = client.post("/campaigns/wuhan-may/sites/assign/", follow=True)
    assert "4 compounds assigned a site and a time." in response.content.decode()
    assert Slot.objects.filter(campaign=campaign).count() == 4
    response = client.post("/campaigns/wuhan-may/sites/publish/", follow=True)
    assert "Notices published to 40 residents." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.notices_published_at is not None
    page = client.get("/campaigns/wuhan-may/sites/")
    assert page.context["slot_page"].paginator.count == 4
    assert "江岸1号采样点" in page.content.decode()
    # a grid worker sees the slots of their grid, and may not load sites
    grid = english_client(staff["grid"])
    assert grid.get("/campaigns/wuhan-may/sites/").context["slot_page"].paginator.count == 1
    assert grid.post("/campaigns/wuhan-may/sites/upload/", {"file": csv_file(SITES)}).status_code == 403


def test_sites_outside_the_jurisdiction_are_refused(city, staff):
    do_plan(
        code="ja",
        name="江岸社区",
        scope=city.divisions[f"{JIANG_AN}001001"],
        starts_on=DAY,
        ends_on=DAY,
        pool_size=10,
    )
    client = english_client(staff["community"])
    refused = client.post("/campaigns/ja/sites/upload/", {"file": csv_file(SITES)})
    errors = refused.context["upload"].non_field_errors()
    assert errors == ["Line 3: grid 420106001001001 is not in your jurisdiction."]
    assert not Site.objects.exists()


def test_exemptions_are_made_by_identity_number(city, staff, campaign):
    client = english_client(staff["community"])
    person = people_of(city.grid(JIANG_AN, 1))[0]
    response = client.post(
        "/campaigns/wuhan-may/exemptions/",
        {"id_number": person.id_number.lower(), "reason": "bedridden", "note": "中风卧床"},
        follow=True,
    )
    body = response.content.decode()
    assert f"{person.masked_name} exempt" in body and "A home-sampling task is open" in body
    exemption = Exemption.objects.get(campaign=campaign, person=person)
    assert exemption.task is not None and f"/tasks/{exemption.task_id}/" in body
    assert person.masked_id_number in body and person.id_number not in body
    assert ReadLog.objects.filter(user=staff["community"], action=ReadAction.LIST, object_id=person.pk).exists()
    assert coverage.total(campaign).exempt == 1

    again = client.post("/campaigns/wuhan-may/exemptions/", {"id_number": person.id_number, "reason": "away"})
    assert "is already exempt from this campaign" in again.content.decode()
    outside = people_of(city.grid(WU_CHANG, 1))[0]
    refused = client.post("/campaigns/wuhan-may/exemptions/", {"id_number": outside.id_number, "reason": "away"})
    assert "Nobody with this identity number lives in your jurisdiction." in refused.content.decode()
    unknown = client.post(
        "/campaigns/wuhan-may/exemptions/", {"id_number": valid_id("420102", "19900101", 999), "reason": "away"}
    )
    assert "Nobody with this identity number lives in your jurisdiction." in unknown.content.decode()
    broken = client.post(
        "/campaigns/wuhan-may/exemptions/", {"id_number": person.id_number[:17] + "0", "reason": "away"}
    )
    if person.id_number[17] != "0":
        assert "fails its check digit" in broken.content.decode()
    assert Exemption.objects.count() == 1
    # the other district's worker does not see the exemption
    assert list(english_client(staff["other_grid"]).get("/campaigns/wuhan-may/exemptions/").context["page"]) == []


def test_tubes_filter_and_a_tube_detail_logs_the_read_of_its_members(staff, campaign, sampled):
    load("pool_members", members({"BIG": [p.id_number for p in sampled["c"][:6]]}))
    load("lab_results", results({"ORPHAN": "negative"}))
    client = english_client(staff["command"])
    codes = lambda **query: sorted(t.code for t in client.get("/campaigns/wuhan-may/tubes/", query).context["page"])  # noqa: E731
    assert codes() == ["A1", "A2", "B1", "BIG", "D1"]
    assert codes(show="positive") == ["A2"]
    assert codes(show="closed") == ["BIG", "D1"]
    assert codes(show="negative") == ["A1", "B1"]
    assert codes(show="overfilled") == ["BIG"]
    assert codes(show="no_members") == ["ORPHAN"]
    assert codes(q="a") == ["A1", "A2"]

    response = client.get("/campaigns/wuhan-may/tubes/A2/")
    assert response.status_code == 200
    held = sampled["a"][5:9]
    body = response.content.decode()
    for person in held:
        assert person.masked_name in body and person.id_number not in body
    assert "Held: positive pool" in body
    logged = ReadLog.objects.filter(user=staff["command"], action=ReadAction.LIST, model="people.resident")
    assert set(logged.values_list("object_id", flat=True)) == {p.pk for p in held}
    assert client.get("/campaigns/wuhan-may/tubes/NOPE/").status_code == 404
    assert english_client(staff["other_grid"]).get("/campaigns/wuhan-may/tubes/A2/").status_code == 404


def test_every_page_renders_in_chinese_by_default(city, staff, campaign, sampled):
    client = Client()
    client.force_login(staff["command"])
    grid = city.grid(JIANG_AN, 1)
    for url in (
        "/campaigns/",
        "/campaigns/wuhan-may/",
        f"/campaigns/wuhan-may/?level=building&grid={grid.pk}",
        "/campaigns/wuhan-may/sites/",
        "/campaigns/wuhan-may/exemptions/",
        "/campaigns/wuhan-may/tubes/",
        "/campaigns/wuhan-may/tubes/A2/",
        f"/campaigns/wuhan-may/untested/?grid={grid.pk}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="zh-hans">' in response.content.decode(), url
    assert client.get(f"/campaigns/wuhan-may/export/grid/{grid.pk}.xlsx").status_code == 200
    assert client.get("/campaigns/").status_code == 200
    assert Client().get("/campaigns/").status_code == 302  # login required
