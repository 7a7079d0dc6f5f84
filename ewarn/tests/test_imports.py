"""The ``pharmacy_sales`` and ``school_absence`` import kinds: good rows counted into the signal
table at every level, every bad row kept with its reason, re-imports that change nothing, and a
corrected file that moves the counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.imports.runner import run_import
from core.models import ImportRejection
from ewarn.models import PharmacySale, SchoolAbsence, SignalCount
from tests_support.city import to_csv

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


def _sales(units: int = 7) -> list[dict]:
    return [
        {
            "pharmacy_code": "yd01",
            "date": "2026-03-02",
            "product_class": "退热",
            "units": str(units),
            "area_code": "420102001001",
        },
        {
            "pharmacy_code": "YD01",
            "date": "2026-03-02",
            "product_class": "cough",
            "units": "3",
            "area_code": "420102001001",
        },
        # a grid code places the pharmacy in the grid's community
        {
            "pharmacy_code": "YD02",
            "date": "2026-03-02",
            "product_class": "antipyretic",
            "units": "5",
            "area_code": "420102001001002",
        },
        {
            "pharmacy_code": "YD03",
            "date": "2026-03-02",
            "product_class": "antipyretic",
            "units": "4",
            "area_code": "420106001001",
        },
    ]


def _count(signal: str, code: str, day: dt.date = DAY) -> int | None:
    row = SignalCount.objects.filter(signal=signal, division__code=code, day=day).first()
    return row.count if row else None


def test_pharmacy_sales_are_counted_at_every_level(city):
    batch = run_import("pharmacy_sales", to_csv(_sales()), filename="sales.csv")
    assert (batch.inserted, batch.rejected_total) == (4, 0)
    assert PharmacySale.objects.get(pharmacy_code="YD02").community.code == "420102001001"
    assert _count("antipyretic", "420102001001") == 12
    assert _count("antipyretic", "420102001000") == 12  # street
    assert _count("antipyretic", "420102000000") == 12  # district
    assert _count("antipyretic", "420106000000") == 4
    assert _count("antipyretic", "420100000000") == 16  # city
    assert _count("cough", "420100000000") == 3
    assert _count("antiviral", "420100000000") is None  # only non-zero counts are stored


def test_a_repeated_file_changes_nothing_and_a_corrected_one_moves_the_counts(city):
    run_import("pharmacy_sales", to_csv(_sales()), filename="sales.csv")
    again = run_import("pharmacy_sales", to_csv(_sales()), filename="sales.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert _count("antipyretic", "420100000000") == 16
    corrected = run_import("pharmacy_sales", to_csv(_sales(units=17)), filename="sales.csv")
    assert (corrected.inserted, corrected.updated) == (0, 1)
    assert _count("antipyretic", "420102001001") == 22
    assert _count("antipyretic", "420100000000") == 26


def test_bad_pharmacy_rows_are_kept_with_their_reason(city):
    tomorrow = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    rows = [
        *_sales(),
        {
            "pharmacy_code": "YD09",
            "date": "2026-03-02",
            "product_class": "antipyretic",
            "units": "1",
            "area_code": "420199001001",
        },
        {
            "pharmacy_code": "YD10",
            "date": "2026-03-02",
            "product_class": "antipyretic",
            "units": "1",
            "area_code": "420102000000",
        },
        {
            "pharmacy_code": "YD11",
            "date": tomorrow,
            "product_class": "antipyretic",
            "units": "1",
            "area_code": "420102001001",
        },
        {
            "pharmacy_code": "YD12",
            "date": "2026-03-02",
            "product_class": "vitamins",
            "units": "1",
            "area_code": "420102001001",
        },
        {
            "pharmacy_code": "YD13",
            "date": "2026-03-02",
            "product_class": "cough",
            "units": "-2",
            "area_code": "420102001001",
        },
    ]
    batch = run_import("pharmacy_sales", to_csv(rows), filename="sales.csv")
    assert (batch.inserted, batch.rejected_total) == (4, 5)
    reasons = dict(ImportRejection.objects.filter(batch=batch).values_list("row_number", "reason"))
    assert reasons == {
        6: "unknown_area",
        7: "unknown_area",  # a district is not a place a pharmacy can be counted in
        8: "future_date",
        9: "invalid_value",
        10: "invalid_number",
    }
    assert _count("antipyretic", "420100000000") == 16


def _schools():
    venues = [
        {
            "venue_code": "SCH1",
            "name": "江岸小学",
            "kind": "school",
            "lat": "30.6",
            "lon": "114.3",
            "grid_code": "420102001001001",
        },
        {
            "venue_code": "MKT1",
            "name": "菜场",
            "kind": "market",
            "lat": "30.6",
            "lon": "114.3",
            "grid_code": "420102001001001",
        },
    ]
    assert not run_import("venues", to_csv(venues), filename="venues.csv").rejected_total


def test_school_absences_are_counted_and_bad_rows_refused(city):
    _schools()
    rows = [
        {"school_code": "sch1", "date": "2026-03-02", "enrolled": "900", "absent": "30", "absent_fever": "9"},
        {"school_code": "SCH1", "date": "2026-03-03", "enrolled": "900", "absent": "901", "absent_fever": "0"},
        {"school_code": "SCH1", "date": "2026-03-04", "enrolled": "900", "absent": "10", "absent_fever": "11"},
        {"school_code": "MKT1", "date": "2026-03-02", "enrolled": "10", "absent": "1", "absent_fever": "0"},
        {"school_code": "SCH1", "date": "2026-03-02", "enrolled": "900", "absent": "31", "absent_fever": "9"},
    ]
    batch = run_import("school_absence", to_csv(rows), filename="absence.csv")
    assert (batch.inserted, batch.rejected_total) == (1, 4)
    reasons = dict(ImportRejection.objects.filter(batch=batch).values_list("row_number", "reason"))
    assert reasons == {
        3: "absent_over_enrolled",
        4: "fever_over_absent",
        5: "unknown_school",  # a market is not a school
        6: "duplicate_key_in_file",
    }
    absence = SchoolAbsence.objects.get()
    assert absence.community.code == "420102001001"
    assert _count("school_absent", "420100000000") == 30
    assert _count("school_fever", "420102000000") == 9
