"""Imports stay inside the importer's jurisdiction (issue #11): a row placed elsewhere is refused and
kept with its reason, a citywide kind needs whole-city staff, and the command line is not confined."""

from __future__ import annotations

import pytest

from core.imports.errors import ImportFileError
from core.imports.kinds import CITYWIDE, PLACED, ImportKind, all_kinds
from core.imports.runner import run_import
from core.models import ImportBatch, ImportRejection
from geo.models import Compound, Venue
from people.models import Resident
from tests_support.city import to_csv, valid_id


def _person(n: int, building: str, county: str = "420102") -> dict:
    return {"id_number": valid_id(county, "19900101", 500 + n), "name": f"新居民{n}", "building_code": building}


@pytest.fixture
def worker(city):
    """A community worker of 江岸's community (grids 420102001001001 and …002)."""
    return city.staff("zhao", "community_worker", city.divisions["420102001001"])


def test_rows_outside_the_jurisdiction_are_refused_and_kept(city, worker):
    rows = [
        _person(1, "420102001001001-01-01"),  # own community
        _person(2, "420106001001001-01-01"),  # 武昌: another district
    ]
    batch = run_import("residents", to_csv(rows), filename="r.csv", user=worker, source="web")
    assert (batch.inserted, batch.rejected) == (1, {"outside_jurisdiction": 1})
    assert Resident.objects.filter(id_number=rows[0]["id_number"]).exists()
    assert not Resident.objects.filter(id_number=rows[1]["id_number"]).exists()
    reject = ImportRejection.objects.get(batch=batch)
    assert reject.row_number == 3 and reject.data["building_code"] == "420106001001001-01-01"
    assert reject.sentence == "The row belongs to a place outside your jurisdiction."
    again = run_import("residents", to_csv(rows), filename="r.csv", user=worker, source="web")
    assert (again.inserted, again.unchanged, again.rejected) == (0, 1, {"outside_jurisdiction": 1})


def test_moving_someone_in_from_another_jurisdiction_is_refused(city, worker):
    elsewhere = next(r for r in city.resident_rows if r["building_code"].startswith("420106"))
    moved = elsewhere | {"building_code": "420102001001001-01-01"}
    batch = run_import("residents", to_csv([moved]), filename="move.csv", user=worker, source="web")
    assert batch.rejected == {"outside_jurisdiction": 1}
    person = Resident.objects.get(id_number=elsewhere["id_number"])
    assert person.building.code == elsewhere["building_code"]


def test_a_grid_worker_is_confined_to_the_grid(city):
    grid_worker = city.staff("qian", "grid_worker", city.grid("420102", 1))
    rows = [
        {"compound_code": "420102001001001-02", "name": "新1号院", "grid_code": "420102001001001"},
        {"compound_code": "420102001001002-02", "name": "新2号院", "grid_code": "420102001001002"},  # the next grid
    ]
    from core.roles import grant_role

    grant_role(grid_worker, "community_worker")  # may import; still only their grid
    batch = run_import("compounds", to_csv(rows), filename="c.csv", user=grid_worker, source="web")
    assert (batch.inserted, batch.rejected) == (1, {"outside_jurisdiction": 1})
    assert set(Compound.objects.filter(code__endswith="-02").values_list("code", flat=True)) == {
        rows[0]["compound_code"]
    }


def test_a_venue_without_a_grid_belongs_to_the_city(city, worker):
    rows = [
        {"venue_code": "V-OWN", "name": "社区菜场", "kind": "market", "grid_code": "420102001001001"},
        {"venue_code": "V-CITY", "name": "汉口火车站", "kind": "transit", "grid_code": ""},
    ]
    batch = run_import("venues", to_csv(rows), filename="v.csv", user=worker, source="web")
    assert batch.rejected == {"outside_jurisdiction": 1}
    assert list(Venue.objects.values_list("code", flat=True)) == ["V-OWN"]


@pytest.mark.parametrize(
    ("kind", "rows"),
    [
        (
            "divisions",
            [{"code": "420102001002", "name": "新社区", "level": "community", "parent_code": "420102001000"}],
        ),
        (
            "facilities",
            [{"code": "H9", "name": "方舱", "kind": "shelter_hospital", "beds_approved": 1, "beds_open": 1}],
        ),
    ],
)
def test_citywide_kinds_need_whole_city_staff(city, worker, kind, rows):
    with pytest.raises(ImportFileError, match="concerns the whole city"):
        run_import(kind, to_csv(rows), filename="x.csv", user=worker, source="web")
    batch = ImportBatch.objects.filter(kind=kind).latest("pk")
    assert batch.status == "failed" and "whole city" in batch.error
    command = city.staff("chen", "city_command", city.divisions["420100000000"])
    assert run_import(kind, to_csv(rows), filename="x.csv", user=command, source="web").inserted == 1


def test_the_command_line_is_not_confined(city):
    batch = run_import("residents", to_csv([_person(3, "420106001001001-01-01")]), filename="cli.csv")
    assert batch.inserted == 1 and not batch.rejected


def test_early_warning_reports_are_placed_by_their_area(city, worker):
    rows = [
        {"pharmacy_code": "P1", "date": "2020-01-20", "product_class": "退热", "units": 5, "area_code": "420102001001"},
        {
            "pharmacy_code": "P2",
            "date": "2020-01-20",
            "product_class": "退热",
            "units": 7,
            "area_code": "420106001001001",
        },
    ]
    batch = run_import("pharmacy_sales", to_csv(rows), filename="p.csv", user=worker, source="web")
    assert (batch.inserted, batch.rejected) == (1, {"outside_jurisdiction": 1})


def test_every_kind_says_who_may_import_it():
    kinds = all_kinds()
    assert {"residents", "compounds", "clinic_visits", "scans"} <= set(kinds)
    for name, kind in kinds.items():
        assert kind.access in {PLACED, CITYWIDE}, name
        if kind.access == PLACED:
            assert type(kind).placement_sql is not ImportKind.placement_sql, name
    assert kinds["clinic_visits"].access == CITYWIDE and kinds["scans"].access == CITYWIDE
