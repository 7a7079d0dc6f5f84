"""Pages and API of dispatch: scoped by jurisdiction, planning behind its permission."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cases.services import do_identify
from core.choices import StaffRole
from dispatch.models import Transfer
from dispatch.services import do_plan
from dispatch.tests.test_services import crew_for, facility, people, vehicle
from tests_support.clients import staff_client, token_client
from tests_support.permissions import grant

pytestmark = pytest.mark.django_db
EAST, WEST = "420102000000", "420106000000"


@pytest.fixture
def planned(city):
    """One planned transfer in each district, each district with its vehicle and crew."""
    facility("S1")
    for code in (EAST, WEST):
        vehicle(f"V-{code[4:6]}", city.divisions[code], crew_for(city, code, f"crew-{code[4:6]}"))
        do_identify(people(city, 1, code)[0], "confirmed", None)
    do_plan(seconds=0.3)
    return {t.district.code: t for t in Transfer.objects.select_related("district", "vehicle")}


def login(user) -> Client:
    return staff_client(user)


def api(user) -> Client:
    return token_client(user, "dispatch")


def test_pages_are_scoped(city, planned) -> None:
    staff = city.staff("east", StaffRole.STREET, city.divisions[EAST])  # the street role cannot plan
    client = login(staff)
    page = client.get("/dispatch/")
    assert page.status_code == 200
    mine, theirs = planned[EAST], planned[WEST]
    assert f"/dispatch/transfers/{mine.pk}/" in page.text
    assert f"/dispatch/transfers/{theirs.pk}/" not in page.text
    assert client.get(f"/dispatch/transfers/{mine.pk}/").status_code == 200
    assert client.get(f"/dispatch/transfers/{theirs.pk}/").status_code == 404
    assert client.get("/dispatch/vehicles/V-02/").status_code == 200  # vehicles scope by their district
    assert client.get("/dispatch/vehicles/V-06/").status_code == 404
    assert client.post("/dispatch/plan/").status_code == 403
    grant(staff, "dispatch.run_dispatch")
    assert client.post("/dispatch/plan/").status_code == 302


def test_crew_marks_picked_up_and_delivered_on_the_pages(city, planned) -> None:
    transfer = planned[EAST]
    client = login(transfer.vehicle.crew)
    assert client.post(f"/dispatch/transfers/{transfer.pk}/picked-up/").status_code == 302
    assert client.post(f"/dispatch/transfers/{transfer.pk}/delivered/").status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == "delivered"
    assert client.post(f"/dispatch/vehicles/{transfer.vehicle.code}/disinfected/").status_code == 302
    transfer.vehicle.refresh_from_db()
    assert not transfer.vehicle.needs_disinfection
    outsider = city.staff("west", StaffRole.STREET, city.divisions[WEST])
    other = planned[WEST]
    if other.vehicle_id != transfer.vehicle_id:  # not their crew, not their district
        assert login(transfer.vehicle.crew).get(f"/dispatch/transfers/{other.pk}/").status_code == 404
    assert login(outsider).post(f"/dispatch/transfers/{transfer.pk}/delivered/").status_code == 404


def test_api(city, planned) -> None:
    staff = city.staff("east", StaffRole.STREET, city.divisions[EAST])  # the street role cannot plan
    client = api(staff)
    rows = client.get("/api/dispatch/transfers/").json()
    assert [r["id"] for r in rows] == [planned[EAST].pk]
    assert client.post("/api/dispatch/plans/", "{}", content_type="application/json").status_code == 403
    grant(staff, "dispatch.run_dispatch")
    answer = client.post("/api/dispatch/plans/", json.dumps({"seconds": 0.2}), content_type="application/json")
    assert answer.status_code == 200, answer.content
    plan = answer.json()
    assert {r["vehicle"] for r in plan["routes"]} <= {"V-02"}  # only vehicles in scope
    assert client.get(f"/api/dispatch/plans/{plan['id']}/").json()["id"] == plan["id"]
    assert client.get("/api/dispatch/plans/latest/").status_code == 200
    theirs = planned[WEST].pk
    assert client.post(f"/api/dispatch/transfers/{theirs}/picked-up/").status_code == 404
    mine = planned[EAST].pk
    assert client.post(f"/api/dispatch/transfers/{mine}/picked-up/").json()["status"] == "picked_up"
    assert client.post(f"/api/dispatch/transfers/{mine}/delivered/").json()["status"] == "delivered"
