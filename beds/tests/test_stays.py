"""Admissions and discharges move the person's four-category state; a walk-in reserves and admits
in one go or not at all; pages and API need the permission and the jurisdiction; people shown are
masked and read-logged."""

from __future__ import annotations

import pytest

from beds.models import BedReport, Facility, Stay
from beds.services import (
    BedError,
    NoBedError,
    do_admit,
    do_admit_direct,
    do_discharge,
    do_reserve_bed,
    do_reserve_beds,
)
from beds.tests.support import WUCHANG, api, categorised, facility, login, post_json, staff
from cases.models import CategoryEvent, PersonStatus
from cases.services import TransitionRefused
from core.models import ReadLog
from people.models import Resident

pytestmark = pytest.mark.django_db


def people(n: int) -> list[Resident]:
    return list(Resident.objects.order_by("id")[:n])


def test_admission_and_discharge_move_the_register(city):
    (person,) = people(1)
    categorised(person, "confirmed")
    fc = facility("FC1", approved=10, open_=10, occupied=2)
    stay = do_reserve_bed(fc, person, "confirmed", reference="plan-1/stop-3")
    fc.refresh_from_db()
    assert (fc.beds_reserved, fc.beds_free) == (1, 7)
    assert PersonStatus.objects.get(person=person).state == "notified"

    stay = do_admit(stay, None)
    status = PersonStatus.objects.get(person=person)
    assert (status.state, status.placement_kind, status.placement_name) == ("placed", "shelter_hospital", fc.name)
    fc.refresh_from_db()
    assert (fc.beds_occupied, fc.beds_reserved) == (3, 0)

    do_discharge(stay, None)
    assert PersonStatus.objects.get(person=person).state == "discharged"
    fc.refresh_from_db()
    assert fc.beds_occupied == 2
    moves = list(
        CategoryEvent.objects.filter(person=person, outcome="applied").order_by("id").values_list("to_state", flat=True)
    )
    assert moves == ["identified", "notified", "placed", "discharged"]
    assert list(fc.reports.order_by("id").values_list("source", flat=True)) == ["reservation", "admission", "discharge"]


def test_contacts_are_released_from_observation(city):
    (person,) = people(1)
    categorised(person, "close_contact")
    hotel = facility("QH1", "quarantine_hotel")
    stay = do_admit_direct(hotel, person, "close_contact", None)
    assert PersonStatus.objects.get(person=person).placement_kind == "quarantine_hotel"
    do_discharge(stay, None, released=True)
    assert PersonStatus.objects.get(person=person).state == "released"


def test_walk_in_identifies_a_person_new_to_the_register(city):
    (person,) = people(1)
    clinic = facility("FV1", "fever_clinic", approved=5, open_=5)
    stay = do_admit_direct(clinic, person, "fever", None)
    assert stay.status == "admitted" and stay.category == "fever"
    status = PersonStatus.objects.get(person=person)
    assert (status.category, status.state) == ("fever", "placed")


def test_a_refused_walk_in_leaves_nothing(city):
    a, b = people(2)
    categorised(a, "confirmed")
    full = facility("FC1", approved=5, open_=5, occupied=5)
    with pytest.raises(NoBedError):
        do_admit_direct(full, a, "confirmed", None)
    hotel = facility("QH1", "quarantine_hotel")
    with pytest.raises(BedError):
        do_admit_direct(hotel, a, "confirmed", None)  # the hotel does not take confirmed cases
    categorised(b, "confirmed", "placed")  # placed elsewhere already: placed → placed is refused
    fc = facility("FC2")
    with pytest.raises(TransitionRefused):
        do_admit_direct(fc, b, "confirmed", None)
    assert not Stay.objects.exists() and not BedReport.objects.exists()
    fc.refresh_from_db()
    assert (fc.beds_reserved, fc.beds_occupied) == (0, 0)


def test_one_bed_per_person(city):
    (person,) = people(1)
    categorised(person, "confirmed")
    do_reserve_bed(facility("FC1"), person, "confirmed")
    with pytest.raises(BedError, match="already holds a bed"):
        do_reserve_bed(facility("FC2"), person, "confirmed")


def test_the_facility_page_lists_masked_stays_and_admits(city):
    a, b, c = people(3)
    for p in (a, b, c):
        categorised(p, "confirmed")
    fc = facility("FC1")
    reserved = do_reserve_bed(fc, a, "confirmed")
    admitted = do_admit_direct(fc, b, "confirmed", None)
    user = staff(city, "nurse", "420102000000", "hospital_liaison", "admit_patients")
    client = login(user)
    page = client.get("/beds/facilities/FC1/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert a.masked_name in page and a.name not in page and a.masked_id_number in page
    assert set(ReadLog.objects.filter(user=user, model="people.resident").values_list("object_id", flat=True)) == {
        a.pk,
        b.pk,
    }

    assert client.post(f"/beds/stays/{reserved.pk}/admit/").status_code == 302
    assert PersonStatus.objects.get(person=a).state == "placed"
    assert client.post(f"/beds/stays/{admitted.pk}/discharge/").status_code == 302
    assert PersonStatus.objects.get(person=b).state == "discharged"
    assert (
        client.post("/beds/facilities/FC1/walk-in/", {"id_number": c.id_number, "category": "confirmed"}).status_code
        == 302
    )
    assert Stay.objects.get(person=c).status == "admitted"
    fc.refresh_from_db()
    assert (fc.beds_occupied, fc.beds_reserved) == (2, 0)


def test_admitting_needs_the_permission_and_the_jurisdiction(city):
    (person,) = people(1)
    categorised(person, "confirmed")
    stay = do_reserve_bed(facility("FC1"), person, "confirmed")
    viewer = login(staff(city, "viewer"))
    assert viewer.post(f"/beds/stays/{stay.pk}/admit/").status_code == 403
    outsider = staff(city, "wuchang", WUCHANG, "district", "admit_patients")
    assert login(outsider).post(f"/beds/stays/{stay.pk}/admit/").status_code == 404
    assert post_json(api(outsider), f"/api/beds/stays/{stay.pk}/admit", {}).status_code == 404
    assert api(outsider).get("/api/beds/facilities/FC1/stays").status_code == 404
    assert Stay.objects.get(pk=stay.pk).status == "reserved"


def test_the_api_admits_discharges_and_takes_walk_ins(city):
    a, b = people(2)
    categorised(a, "confirmed")
    categorised(b, "suspected")
    fc = facility("FC1")
    ci = facility("CI1", "central_isolation")
    stay = do_reserve_bed(fc, a, "confirmed")
    client = api(staff(city, "nurse", "420102000000", "hospital_liaison", "admit_patients"))
    listed = client.get("/api/beds/facilities/FC1/stays").json()
    assert [(s["person_id"], s["status"], s["name"]) for s in listed] == [(a.pk, "reserved", a.masked_name)]
    assert post_json(client, f"/api/beds/stays/{stay.pk}/admit", {}).json()["status"] == "admitted"
    assert post_json(client, f"/api/beds/stays/{stay.pk}/admit", {}).status_code == 400  # already admitted
    out = post_json(client, f"/api/beds/stays/{stay.pk}/discharge", {"released": False}).json()
    assert out["status"] == "discharged" and out["discharged_at"]
    walk_in = post_json(
        client, "/api/beds/facilities/CI1/admissions", {"id_number": b.id_number, "category": "suspected"}
    )
    assert walk_in.status_code == 201, walk_in.content
    assert PersonStatus.objects.get(person=b).placement_kind == "central_isolation"
    refused = post_json(client, "/api/beds/facilities/CI1/admissions", {"person_id": a.pk, "category": "confirmed"})
    assert refused.status_code == 400
    assert Facility.objects.get(code="CI1").beds_occupied == 1
    del ci


def test_reserving_many_beds_at_once_takes_the_free_ones_in_order(city):
    """A dispatch plan's reservations: one lock and one history row for the facility; the first
    people in the list get the free beds, the rest are told there is no room, and someone the
    facility cannot take (wrong category, a bed held already) is told apart."""
    shelter = facility("S2", approved=5, open_=5, occupied=3)
    first, second, third, contact, holder = Resident.objects.order_by("id")[:5]
    for person in (first, second, third, holder):
        categorised(person, "confirmed")
    do_reserve_beds(facility("S3"), [(holder, "confirmed", "earlier")])
    before = BedReport.objects.filter(facility=shelter).count()
    stays, no_room, unfit = do_reserve_beds(
        shelter,
        [
            (first, "confirmed", "p:1"),
            (contact, "close_contact", "p:2"),
            (second, "confirmed", "p:3"),
            (holder, "confirmed", "p:4"),
            (third, "confirmed", "p:5"),
        ],
    )
    assert [s.person_id if s else None for s in stays] == [first.pk, None, second.pk, None, None]
    assert no_room == [4] and unfit == [1, 3]
    shelter.refresh_from_db()
    assert (shelter.beds_reserved, shelter.beds_free) == (2, 0)
    assert BedReport.objects.filter(facility=shelter).count() == before + 1
