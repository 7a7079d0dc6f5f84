"""Dispatch against the database: transfers from the register, publishing, beds, alerts, races."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from beds.choices import AdmissionStatus
from beds.models import Facility, Stay
from beds.services import do_reserve_bed
from cases.models import PersonStatus
from cases.services import do_identify
from core.choices import StaffRole
from dispatch import services
from dispatch.choices import TransferStatus
from dispatch.models import Vehicle
from dispatch.services import do_mark_delivered, do_mark_picked_up, do_plan, do_record_disinfection, sync_transfers
from geo.services import do_assign
from tasks.choices import TaskStatus, TaskType
from tasks.models import Task

pytestmark = pytest.mark.django_db
SECONDS = 0.3
INFECTIOUS = "confirmed;asymptomatic;suspected;fever"


def facility(code, kind="shelter_hospital", categories="confirmed;asymptomatic", beds=10, lon=114.31, district=None):
    return Facility.objects.create(
        code=code,
        name=f"设施{code}",
        kind=kind,
        categories=categories,
        lat=30.6,
        lon=lon,
        beds_approved=beds,
        beds_open=beds,
        district=district,
    )


def vehicle(code, district, crew=None, seats=4, kind="ambulance", categories=INFECTIOUS) -> Vehicle:
    return Vehicle.objects.create(
        code=code,
        kind=kind,
        seats=seats,
        base_lat=30.59,
        base_lon=114.29,
        district=district,
        categories=categories,
        crew=crew,
    )


def crew_for(city, district_code: str, name: str):
    user = get_user_model().objects.create_user(name)
    do_assign(user, city.divisions[district_code], StaffRole.CADRE)
    return user


def people(city, n: int, district: str = "420102000000"):
    return [r for r in city.residents.values() if r.district.code == district][:n]


@pytest.fixture
def fleet(city):
    district = city.divisions["420102000000"]
    return vehicle("V1", district, crew_for(city, "420102000000", "crew-v1"))


def test_sync_queues_waiting_people_once(city) -> None:
    a, b, c = people(city, 3)
    do_identify(a, "confirmed", None)
    do_identify(b, "close_contact", None)
    do_identify(c, "secondary_contact", None)  # observed at home: no ride
    assert sync_transfers()["queued"] == 2
    assert sync_transfers()["queued"] == 0
    transfers = {t.person_id: t for t in services.Transfer.objects.all()}
    assert set(transfers) == {a.pk, b.pk}
    t = transfers[a.pk]
    assert (t.status, t.category, t.pickup_lat, t.district_id) == ("queued", "confirmed", 30.6, a.district_id)


def test_plan_reserves_beds_and_opens_drive_and_hand_over_tasks(city, fleet) -> None:
    shelter = facility("S1", district=city.divisions["420102000000"])
    residents = people(city, 3)
    for r in residents:
        do_identify(r, "confirmed", None)
    record = do_plan(seconds=SECONDS)
    transfers = list(services.Transfer.objects.all())
    assert {t.status for t in transfers} == {TransferStatus.PLANNED}
    assert all(t.destination == shelter and t.vehicle == fleet and t.stay is not None for t in transfers)
    assert Stay.objects.filter(facility=shelter, status=AdmissionStatus.RESERVED).count() == 3
    shelter.refresh_from_db()
    assert shelter.beds_reserved == 3
    drives = Task.objects.filter(task_type=TaskType.DRIVE)
    assert drives.count() == len({t.trip for t in transfers}) >= 1
    assert all(d.assignee == fleet.crew and d.subject_facility == shelter for d in drives)
    hand_overs = Task.objects.filter(task_type=TaskType.TRANSFER, dedupe_key__startswith="dispatch-handover:")
    assert {t.resident_id for t in hand_overs} == {r.pk for r in residents}
    assert record.transfers == 3 and record.routes[0]["vehicle"] == "V1"
    # re-planning keeps the beds (same destination) and cancels the superseded drive tasks
    do_plan(seconds=SECONDS)
    assert Stay.objects.filter(facility=shelter, status=AdmissionStatus.RESERVED).count() == 3
    assert drives.filter(status=TaskStatus.CANCELLED).count() >= 1
    assert hand_overs.count() == 3


def test_a_filling_hospital_sends_later_transfers_elsewhere(city, fleet) -> None:
    near = facility("NEAR", beds=1, lon=114.301)
    far = facility("FAR", beds=5, lon=114.5)
    first, second = people(city, 2)
    do_identify(first, "confirmed", None)
    do_plan(seconds=SECONDS)
    do_identify(second, "confirmed", None)
    do_plan(seconds=SECONDS)
    by_person = {t.person_id: t.destination for t in services.Transfer.objects.all()}
    assert by_person == {first.pk: near, second.pk: far}


def test_no_destination_is_queued_with_one_alert_and_planned_when_a_bed_frees(city, fleet) -> None:
    (person,) = people(city, 1)
    do_identify(person, "suspected", None)
    do_plan(seconds=SECONDS)
    do_plan(seconds=SECONDS)
    transfer = services.Transfer.objects.get()
    assert transfer.status == TransferStatus.NO_DESTINATION
    alerts = Task.objects.filter(task_type=TaskType.REVIEW, dedupe_key__startswith="dispatch-no-destination:")
    assert alerts.count() == 1 and alerts.get().resident_id == person.pk
    isolation = facility("ISO", "central_isolation", "suspected;fever", beds=1)
    from dispatch.jobs import replan

    replan()
    transfer.refresh_from_db()
    assert (transfer.status, transfer.destination) == (TransferStatus.PLANNED, isolation)
    assert alerts.count() == 1


def test_two_plans_racing_for_one_bed(city, fleet, monkeypatch) -> None:
    """Another plan takes the only bed between our choice and our reservation: we choose again."""
    only = facility("ONLY", beds=1, lon=114.301)
    other = facility("OTHER", beds=3, lon=114.45)
    person, rival = people(city, 2)
    do_identify(person, "confirmed", None)
    original = services.choose_destinations

    raced = []

    def choose_then_lose_the_bed(*args, **kwargs):
        chosen = original(*args, **kwargs)
        if not raced:
            raced.append(do_reserve_bed(only, rival, "confirmed", reference="the other plan"))
        return chosen

    monkeypatch.setattr(services, "choose_destinations", choose_then_lose_the_bed)
    do_plan(seconds=SECONDS)
    transfer = services.Transfer.objects.get(person=person)
    assert transfer.destination == other and transfer.stay.facility == other
    only.refresh_from_db()
    assert (only.beds_reserved, only.beds_free) == (1, 0)


def test_pick_up_deliver_and_disinfect(city, fleet) -> None:
    shelter = facility("S1")
    (person,) = people(city, 1)
    do_identify(person, "confirmed", None)
    do_plan(seconds=SECONDS)
    transfer = services.Transfer.objects.get()
    do_mark_picked_up(transfer, None)
    assert PersonStatus.objects.get(person=person).state == "transferred"
    do_mark_delivered(transfer, None)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.DELIVERED
    assert PersonStatus.objects.get(person=person).state == "placed"
    shelter.refresh_from_db()
    assert (shelter.beds_occupied, shelter.beds_reserved) == (1, 0)
    fleet.refresh_from_db()
    assert fleet.needs_disinfection
    # not planned until the disinfection is recorded
    (other,) = [r for r in people(city, 3) if r.pk != person.pk][:1]
    do_identify(other, "confirmed", None)
    do_plan(seconds=SECONDS)
    assert services.Transfer.objects.get(person=other).status == TransferStatus.QUEUED
    do_record_disinfection(fleet)
    do_plan(seconds=SECONDS)
    assert services.Transfer.objects.get(person=other).status == TransferStatus.PLANNED


def test_demo_set_up_plans_and_publishes(city) -> None:
    from dispatch.demo import set_up

    for person in people(city, 4):
        do_identify(person, "close_contact", None)
    lines: list[str] = []
    result = set_up(log=lines.append)
    assert Vehicle.objects.filter(crew__isnull=False).count() == 8  # 4 per district
    assert Facility.objects.count() == 8
    assert result["served"] == 4
    drives = Task.objects.filter(task_type=TaskType.DRIVE, status=TaskStatus.DISPATCHED)
    assert drives.exists() and all(d.assignee.username.startswith("crew-") for d in drives)
    assert Task.objects.filter(task_type=TaskType.TRANSFER, dedupe_key__startswith="dispatch-handover:").count() == 4
    set_up(log=lines.append)  # again: no second fleet
    assert Vehicle.objects.count() == 8


def test_replanning_moves_planned_transfers_and_keeps_picked_up_ones(city, fleet) -> None:
    far = facility("FAR", beds=5, lon=114.5)
    first, second = people(city, 2)
    do_identify(first, "confirmed", None)
    do_identify(second, "confirmed", None)
    do_plan(seconds=SECONDS)
    riding = services.Transfer.objects.get(person=first)
    do_mark_picked_up(riding, None)
    near = facility("NEAR", beds=5, lon=114.301)  # a nearer shelter hospital opens
    do_plan(seconds=SECONDS)
    moved = services.Transfer.objects.get(person=second)
    riding.refresh_from_db()
    assert (moved.status, moved.destination, moved.stay.facility) == (TransferStatus.PLANNED, near, near)
    assert (riding.status, riding.destination) == (TransferStatus.PICKED_UP, far)
    far.refresh_from_db()
    assert far.beds_reserved == 1  # the rider's bed; the moved person's was released


def test_a_run_is_due_when_it_should_have_arrived(city, fleet) -> None:
    """A run planned for later is not late now: its task is due at the trip's planned arrival plus
    the grace, so the overdue sweep leaves it with its crew until then."""
    from dispatch.services import RUN_GRACE

    facility("S1")
    (person,) = people(city, 1)
    do_identify(person, "confirmed", None)
    do_plan(seconds=SECONDS)
    transfer = services.Transfer.objects.select_related("drive_task").get()
    assert transfer.drive_task.due_at == transfer.planned_arrival_at + RUN_GRACE


def test_the_job_does_not_replan_for_people_still_without_any_bed(city, fleet) -> None:
    """Someone no facility can take yet does not set off a plan every 5 minutes (a plan re-issues
    unstarted runs); a free bed for their category, or someone newly waiting, does."""
    from dispatch.jobs import replan, worth_planning
    from dispatch.models import DispatchPlan

    (person,) = people(city, 1)
    do_identify(person, "fever", None)
    do_plan(seconds=SECONDS)
    plans = DispatchPlan.objects.count()
    facility("HOTEL", "quarantine_hotel", "close_contact;secondary_contact", beds=5)  # not for fever
    assert not worth_planning()
    assert replan()["plan"] is None and DispatchPlan.objects.count() == plans
    facility("CLINIC", "central_isolation", "suspected;fever", beds=1)
    assert worth_planning()
    assert replan()["plan"] is not None
