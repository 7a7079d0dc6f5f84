"""The three import kinds: every bad row kept with its reason, good rows loaded, re-import idempotent."""

from __future__ import annotations

from core.imports.runner import run_import
from core.models import ImportRejection
from reopening.choices import UnitStatus
from reopening.models import StaffReport, Unit, UnitStatusChange
from reopening.tests.conftest import UNITS
from tests_support.city import to_csv


def unit_row(**values) -> dict:
    return {**UNITS[1], "code": "E1", "name": "测试企业"} | values


def rejected(batch) -> dict[str, str]:
    """line's unit code -> reason, from the kept rejects."""
    return {
        (r.data.get("code") or r.data.get("unit_code") or "") + "@" + str(r.row_number): r.reason
        for r in ImportRejection.objects.filter(batch=batch)
    }


def test_units_import_refuses_bad_rows_with_reasons_and_is_idempotent(place):
    rows = [
        unit_row(code="OK1"),
        unit_row(code="C404", compound_code="420102001001009-09"),
        unit_row(code="V404", compound_code="", venue_code="V999"),
        unit_row(code="KIND", kind="factory"),
        unit_row(code="SECT", sector="primary"),
        unit_row(code="NEG", staff="-3"),
        unit_row(code="OK1", name="重复"),
        unit_row(code="NOWHERE", compound_code="", venue_code=""),
        unit_row(code="MARKET", kind="school", sector="primary", compound_code="", venue_code="V420102000002"),
        unit_row(code="PUPILS", pupils="30"),
        unit_row(
            code="APART",
            kind="school",
            sector="primary",
            compound_code="420106001001001-01",
            venue_code="V420102000001",
        ),
        unit_row(
            code="SCHOOL2",
            kind="school",
            sector="kindergarten",
            compound_code="",
            venue_code="V420102000001",
            pupils="200",
        ),
    ]
    batch = run_import("units", to_csv(rows), filename="units.csv")
    assert batch.inserted == 2 and batch.rejected_total == 10
    assert batch.rejected == {
        "unknown_compound": 1,
        "unknown_venue": 1,
        "invalid_value": 1,
        "sector_not_of_kind": 1,
        "negative_count": 1,
        "duplicate_key_in_file": 1,
        "no_location": 1,
        "venue_kind_mismatch": 1,
        "pupils_for_enterprise": 1,
        "venue_compound_mismatch": 1,
    }
    reasons = {r.data["code"]: r.reason for r in ImportRejection.objects.filter(batch=batch)}
    assert reasons["C404"] == "unknown_compound" and reasons["MARKET"] == "venue_kind_mismatch"
    school = Unit.objects.get(code="SCHOOL2")
    # placed by its venue: the venue's grid, and the nearest compound of that grid
    assert school.grid_id == place.school.grid_id and school.street_id == place.school.street_id
    assert school.compound.grid_id == school.grid_id and school.status == UnitStatus.CLOSED
    assert Unit.objects.get(code="OK1").compound.code == "420102001001002-01"

    again = run_import("units", to_csv(rows), filename="units.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    changed = run_import("units", to_csv([unit_row(code="OK1", staff="150")]), filename="units.csv")
    assert changed.updated == 1 and Unit.objects.get(code="OK1").staff_count == 150


def status_row(code: str, at: str, status: str = "open", reason: str = "区经信局复工名单") -> dict:
    return {"unit_code": code, "at": at, "status": status, "reason": reason}


def test_unit_status_import_appends_history_in_order(place):
    factory, shop = place.factory.code, place.other_shop.code
    rows = [
        status_row(factory, "2020-03-20T08:00:00+08:00"),
        status_row(factory, "2020-04-10T18:00:00+08:00", "suspended", "所在小区出现确诊病例"),
        status_row(shop, "2020-03-25 09:00:00", "suspended"),  # a closed unit cannot be suspended
        status_row(shop, "2020-03-26 09:00:00"),  # after a refused row of the same unit
        status_row("NOSUCH", "2020-03-25 09:00:00"),
        status_row(place.school.code, "2019-12-01T08:00:00+08:00"),  # before registration
        status_row(place.other_school.code, "2099-01-01T08:00:00+08:00"),  # future
    ]
    batch = run_import("unit_status", to_csv(rows), filename="status.csv")
    assert batch.inserted == 2
    assert batch.rejected == {
        "status_move_not_allowed": 1,
        "after_refused_row": 1,
        "unknown_unit": 1,
        "before_registration": 1,
        "invalid_date": 1,
    }
    place.factory.refresh_from_db()
    assert place.factory.status == UnitStatus.SUSPENDED
    history = list(UnitStatusChange.objects.filter(unit=place.factory).values_list("from_status", "to_status"))
    assert history == [("closed", "open"), ("open", "suspended")]
    place.other_shop.refresh_from_db()
    assert place.other_shop.status == UnitStatus.CLOSED

    again = run_import("unit_status", to_csv(rows[:2]), filename="status.csv")
    assert (again.inserted, again.unchanged, again.rejected_total) == (0, 2, 0)
    late = run_import(
        "unit_status",
        to_csv(
            [
                status_row(factory, "2020-03-01T08:00:00+08:00"),
                status_row(factory, "2020-03-20T08:00:00+08:00", "suspended"),
            ]
        ),
        filename="late.csv",
    )
    assert late.rejected == {"out_of_order": 1, "history_conflict": 1}
    # a suspended unit must apply again: the list cannot reopen it
    reopen = run_import("unit_status", to_csv([status_row(factory, "2020-05-01T08:00:00+08:00")]), filename="r.csv")
    assert reopen.rejected == {"status_move_not_allowed": 1}


def test_staff_back_import(place):
    code = place.factory.code
    rows = [
        {"unit_code": code, "day": "2020-03-21", "staff_back": "60"},
        {"unit_code": code, "day": "2020-03-22", "staff_back": "101"},
        {"unit_code": code, "day": "2020-03-23", "staff_back": "-1"},
        {"unit_code": code, "day": "2099-03-23", "staff_back": "1"},
        {"unit_code": "NOSUCH", "day": "2020-03-23", "staff_back": "1"},
        {"unit_code": code, "day": "2020-03-21", "staff_back": "61"},
    ]
    batch = run_import("staff_back", to_csv(rows), filename="staff.csv")
    assert batch.inserted == 1
    assert batch.rejected == {
        "staff_back_over_staff": 1,
        "negative_count": 1,
        "invalid_date": 1,
        "unknown_unit": 1,
        "duplicate_key_in_file": 1,
    }
    again = run_import("staff_back", to_csv(rows[:1]), filename="staff.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    fixed = run_import("staff_back", to_csv([{**rows[0], "staff_back": "70"}]), filename="staff.csv")
    assert fixed.updated == 1 and StaffReport.objects.get(unit=place.factory).staff_back == 70
