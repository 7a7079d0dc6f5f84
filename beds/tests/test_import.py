"""The ``facilities`` and ``bed_status`` import kinds: good rows, every bad row kept with its reason,
re-imports that change nothing, late files that fill the history without turning the board back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from beds.models import BedReport, Facility
from core.imports.reasons import reason_sentence
from core.imports.runner import run_import
from core.models import ImportRejection
from tests_support.city import to_csv

pytestmark = pytest.mark.django_db

FACILITIES = [
    {
        "code": "dh01",
        "name": "金银潭医院",
        "kind": "定点医院",
        "categories": "",
        "district_code": "420102000000",
        "address": "银潭路1号",
        "lat": "30.66",
        "lon": "114.25",
        "beds_approved": "800",
        "beds_open": "600",
    },
    {
        "code": "QH01",
        "name": "如家酒店",
        "kind": "quarantine_hotel",
        "categories": "close_contact",
        "district_code": "420106000000",
        "address": "",
        "lat": "",
        "lon": "",
        "beds_approved": "120",
        "beds_open": "120",
    },
    {
        "code": "FC01",
        "name": "洪山方舱",
        "kind": "shelter_hospital",
        "categories": "confirmed;asymptomatic",
        "district_code": "",
        "address": "",
        "lat": "",
        "lon": "",
        "beds_approved": "2000",
        "beds_open": "1500",
    },
]


def load_facilities(rows=FACILITIES):
    return run_import("facilities", to_csv(rows), filename="facilities.csv")


def test_facilities_load_with_defaults_and_history(city):
    batch = load_facilities()
    assert (batch.inserted, batch.rejected) == (3, {})
    dh = Facility.objects.get(code="DH01")  # codes are upper-cased, like every code of the grid
    assert (dh.kind, dh.category_list, dh.district.code) == (
        "designated_hospital",
        ["asymptomatic", "confirmed"],
        "420102000000",
    )
    assert (dh.beds_approved, dh.beds_open, dh.beds_occupied, dh.lat) == (800, 600, 0, 30.66)
    assert dh.counts_at is None and dh.is_stale()  # the facility has not counted its patients yet
    assert Facility.objects.get(code="QH01").category_list == ["close_contact"]
    assert Facility.objects.get(code="FC01").district is None
    assert BedReport.objects.filter(source="import").count() == 3

    again = load_facilities()
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert BedReport.objects.count() == 3

    changed = [dict(FACILITIES[0], beds_open="700"), dict(FACILITIES[1], name="如家酒店（汉口店）")]
    batch = load_facilities(changed)
    assert (batch.inserted, batch.updated) == (0, 2)
    assert Facility.objects.get(code="DH01").beds_open == 700
    # only the counts' change is bed history; the renamed hotel is in the change log only
    assert BedReport.objects.filter(facility__code="DH01").count() == 2
    assert BedReport.objects.filter(facility__code="QH01").count() == 1


def test_bad_facility_rows_are_kept_with_their_reason(city):
    load_facilities()
    Facility.objects.filter(code="DH01").update(beds_occupied=650)
    base = FACILITIES[1]
    rows = [
        dict(base, code="X1", district_code="420199000000"),  # unknown district
        dict(base, code="X2", beds_open="-5"),
        dict(base, code="X3", beds_open="200"),  # more open than approved
        dict(base, code="X4", kind="spa"),
        dict(base, code="X5", categories="confirmed;nobody"),
        dict(base, code="X6", beds_approved="many"),
        dict(FACILITIES[0], beds_open="600", beds_approved="600"),  # fewer open beds than patients? no: 650 > 600
        dict(base, code="X8", name="好酒店"),
    ]
    batch = load_facilities(rows)
    assert batch.inserted == 1
    assert batch.rejected == {
        "unknown_parent": 1,
        "negative_count": 1,
        "open_over_approved": 1,
        "invalid_value": 2,
        "invalid_number": 1,
        "occupied_over_open": 1,
    }
    kept = {r.key_value: (r.reason, r.column, r.detail) for r in ImportRejection.objects.filter(batch=batch)}
    assert kept["X1"] == ("unknown_parent", "district_code", "420199000000")
    assert kept["X2"] == ("negative_count", "beds_open", "-5")
    assert kept["X3"] == ("open_over_approved", "beds_open", "200 > 120")
    assert kept["dh01"] == ("occupied_over_open", "beds_open", "650 > 600")
    assert Facility.objects.get(code="DH01").beds_open == 600  # the refused row changed nothing


def status_rows():
    return [
        {
            "facility_code": "DH01",
            "as_of": "2020-02-10 08:00:00",
            "beds_approved": "800",
            "beds_open": "600",
            "beds_occupied": "500",
        },
        {
            "facility_code": "DH01",
            "as_of": "2020-02-10 20:00",
            "beds_approved": "800",
            "beds_open": "650",
            "beds_occupied": "640",
        },
        {
            "facility_code": "qh01",
            "as_of": "2020-02-10T09:00:00+08:00",
            "beds_approved": "120",
            "beds_open": "120",
            "beds_occupied": "30",
        },
    ]


def test_bed_status_fills_history_and_moves_the_board(city):
    load_facilities()
    batch = run_import("bed_status", to_csv(status_rows()), filename="bed_status.csv")
    assert (batch.inserted, batch.rejected) == (3, {})
    dh = Facility.objects.get(code="DH01")
    assert (dh.beds_open, dh.beds_occupied) == (650, 640)  # the newest row of the file
    assert dh.counts_at == dt.datetime(2020, 2, 10, 12, 0, tzinfo=dt.UTC)
    assert dh.nearly_full
    history = list(
        dh.reports.filter(source="import")
        .exclude(note__startswith="facilities")
        .values_list("beds_occupied", flat=True)
    )
    assert history == [640, 500]  # newest first

    again = run_import("bed_status", to_csv(status_rows()), filename="bed_status.csv")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, {})
    assert BedReport.objects.filter(facility=dh).count() == 3

    # a late file: kept as history, the board stays on the newer counts
    late = [
        {
            "facility_code": "DH01",
            "as_of": "2020-02-09 20:00",
            "beds_approved": "800",
            "beds_open": "500",
            "beds_occupied": "400",
        }
    ]
    assert run_import("bed_status", to_csv(late)).inserted == 1
    dh.refresh_from_db()
    assert (dh.beds_open, dh.beds_occupied) == (650, 640)

    # the same as_of sent again with corrected counts: the history row is corrected, and the board
    corrected = [dict(status_rows()[1], beds_occupied="600")]
    batch = run_import("bed_status", to_csv(corrected))
    assert (batch.inserted, batch.updated) == (0, 1)
    dh.refresh_from_db()
    assert dh.beds_occupied == 600


def test_bad_bed_status_rows_are_kept_with_their_reason(city):
    load_facilities()
    good = status_rows()[0]
    rows = [
        dict(good, facility_code="NOPE"),
        dict(good, as_of="2020-02-11 08:00", beds_occupied="900"),  # more occupied than approved
        dict(good, as_of="2020-02-11 09:00", beds_open="-1"),
        dict(good, as_of="2020-02-11 10:00", beds_occupied="lots"),
        dict(good, as_of="2020-02-11 11:00", beds_occupied="650"),  # more occupied than open
        dict(good, as_of="2020-02-11 12:00", beds_open="900"),  # more open than approved
        dict(good, as_of="yesterday"),
        dict(good, as_of="2099-01-01 00:00"),
        good,
        good,  # the same facility and time twice in one file
    ]
    batch = run_import("bed_status", to_csv(rows), filename="bad.csv")
    assert batch.inserted == 1
    assert batch.rejected == {
        "unknown_facility": 1,
        "occupied_over_approved": 1,
        "negative_count": 1,
        "invalid_number": 1,
        "occupied_over_open": 1,
        "open_over_approved": 1,
        "invalid_date": 2,
        "duplicate_key_in_file": 1,
    }
    kept = {r.reason: r for r in ImportRejection.objects.filter(batch=batch)}
    assert kept["unknown_facility"].detail == "NOPE"
    assert kept["unknown_facility"].data["facility_code"] == "NOPE"  # the row as sent
    assert kept["occupied_over_approved"].detail == "900 > 800"
    sentence = reason_sentence("occupied_over_approved", "beds_occupied", "900 > 800", language="en", kind="bed_status")
    assert sentence == "More beds occupied than approved: 900 > 800."
    assert Facility.objects.get(code="DH01").beds_occupied == 500

    # the same bad file again: nothing new is stored, the rejects are counted again
    again = run_import("bed_status", to_csv(rows), filename="bad.csv")
    assert (again.inserted, again.unchanged) == (0, 1)
    assert ImportRejection.objects.count() == 9


def test_the_command_line_imports_bed_status(city, tmp_path, capsys):
    load_facilities()
    path = tmp_path / "bed_status.csv"
    path.write_bytes(to_csv(status_rows()))
    call_command("import_data", "bed_status", str(path))
    assert "bed_status" in capsys.readouterr().out
    assert Facility.objects.get(code="QH01").beds_occupied == 30
