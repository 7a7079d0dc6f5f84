"""Synthetic facilities for a generated city, and the demo's set-up through the import framework."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from beds import demo
from beds.models import Facility, Stay
from beds.synth import facilities_for
from beds.tests.support import categorised
from cases.models import PersonStatus
from core.imports.runner import run_import
from people.models import Resident
from synth.city import generate_city
from tests_support.city import to_csv


def test_every_district_gets_its_facilities_near_its_compounds():
    city = generate_city(2000, 7)
    rows = facilities_for(city.divisions, np.random.default_rng(1), city.compounds)
    districts = {d["code"] for d in city.divisions.to_pylist() if d["level"] == "district"}
    assert {r["district_code"] for r in rows} == districts
    assert len({r["code"] for r in rows}) == len(rows)
    for code in districts:
        kinds = Counter(r["kind"] for r in rows if r["district_code"] == code)
        assert kinds["designated_hospital"] == kinds["shelter_hospital"] == kinds["central_isolation"] == 1
        assert kinds["fever_clinic"] == 1 and 1 <= kinds["quarantine_hotel"] <= 2
    compounds = city.compounds.to_pylist()
    for r in rows:
        assert 0 < r["beds_open"] <= r["beds_approved"]
        low, high = {
            "designated_hospital": (200, 800),
            "shelter_hospital": (500, 2000),
            "quarantine_hotel": (100, 300),
        }.get(r["kind"], (1, 2000))
        assert low <= r["beds_approved"] <= high
        own = [c for c in compounds if c["grid_code"][:6] == r["district_code"][:6]]
        nearest = min(abs(c["lat"] - r["lat"]) + abs(c["lon"] - r["lon"]) for c in own)
        assert nearest < 0.1
    assert facilities_for(city.divisions, np.random.default_rng(1), city.compounds) == rows  # reproducible


@pytest.mark.django_db
def test_synthetic_facilities_import_cleanly(city):
    divisions = [{"code": d.code, "name": d.name, "level": d.level} for d in city.divisions.values()]
    rows = facilities_for(divisions, np.random.default_rng(3))
    batch = run_import("facilities", to_csv(rows), filename="facilities.csv")
    assert (batch.inserted, batch.rejected) == (len(rows), {})


@pytest.mark.django_db
def test_demo_set_up_loads_facilities_and_admits_people(city):
    a, b, c = Resident.objects.order_by("id")[:3]
    categorised(a, "confirmed")
    categorised(b, "suspected", "identified")
    categorised(c, "close_contact")
    made = demo.set_up(log=lambda *_: None)
    assert made["facilities"] == Facility.objects.count() >= 10
    assert made["bed_reports"] == Facility.objects.count()
    assert (made["admitted"], made["reserved"]) == (2, 0)
    assert PersonStatus.objects.get(person=a).state == "placed"
    assert Stay.objects.get(person=b).facility.accepts("suspected")
    assert not Stay.objects.filter(person=c).exists()  # contacts are not among the demo's admissions
    assert Facility.objects.filter(beds_occupied__gt=0).exists()
    again = demo.set_up(log=lambda *_: None)
    assert again["admitted"] == 0 and Stay.objects.count() == 2
