"""Dispatch actions: people waiting become transfers, a plan reserves beds and opens tasks, crews
mark pick-ups and deliveries, vehicles are disinfected.

:func:`do_plan` is the one path from the database to dispatch.planning and back:

1. load the transfers still to plan (queued, planned-but-not-picked-up, no destination), the free
   vehicles (a vehicle with people on board is free where and when it drops them; one awaiting
   disinfection is left out) and the facilities' free beds (counting back the beds this plan's
   transfers already hold, so a planned transfer may keep or move its bed);
2. choose destinations (planning.choose_destinations) and reserve the beds a facility at a time
   (beds.services.do_reserve_beds locks each facility row once): when another plan took the beds
   meanwhile, the counts are read again and those people's destinations chosen again — two plans
   racing for one bed never over-fill a ward;
3. route (planning.plan: PyVRP by default) with those destinations fixed;
4. write the transfers, one DRIVE task per vehicle trip (assigned to the crew) and one TRANSFER task
   per person for the grid worker who hands them over; a person with no destination is queued as
   no_destination with one REVIEW alert for the district, and planned again on the next run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from beds.choices import AdmissionStatus
from beds.models import Facility
from beds.services import do_admit, do_release_bed, do_reserve_beds
from cases.choices import DEFAULT_PLACEMENT, CaseState, PlacementKind
from cases.models import PersonStatus
from core.policy import policy
from dispatch import planning
from dispatch.choices import OPEN_STATUSES, REPLANNED_STATUSES, Severity, TransferStatus
from dispatch.models import DispatchPlan, Transfer, Vehicle
from dispatch.planning import (
    DISINFECT_AFTER,
    DISINFECT_SECONDS,
    HANDOVER_SECONDS,
    Destination,
    PendingTransfer,
    PlanParams,
    Problem,
    VehicleState,
    choose_destinations,
)
from people.models import PLACE_COLUMNS
from tasks.choices import TaskType
from tasks.flow import OPEN as OPEN_TASK_STATUSES
from tasks.models import Task
from tasks.routing import level_of
from tasks.services import NewTask, TransitionError, do_assign, do_cancel, do_open_many, do_open_task

WAITING_STATES = (CaseState.IDENTIFIED, CaseState.NOTIFIED)
RUN_GRACE = dt.timedelta(minutes=30)  # a run is late this long after its planned arrival


class DispatchError(ValueError):
    """A dispatch action refused as asked (the message is translated)."""


# --- transfers from the register -------------------------------------------------------------------


def waiting_statuses():
    """PersonStatus rows of people waiting for a ride: identified or notified, placed away from home
    (their decided placement, else the category's default: cases.choices.DEFAULT_PLACEMENT)."""
    away_by_default = [c for c, kind in DEFAULT_PLACEMENT.items() if kind != PlacementKind.HOME]
    return PersonStatus.objects.filter(state__in=WAITING_STATES).filter(
        Q(placement_kind="", category__in=away_by_default)
        | (~Q(placement_kind="") & ~Q(placement_kind=PlacementKind.HOME))
    )


def sync_transfers() -> dict:
    """Queue a transfer for everyone waiting who has no open one (set-based; the unique constraint
    keeps one open transfer per person), and cancel queued ones whose person no longer waits."""
    now = timezone.now()
    open_people = Transfer.objects.filter(status__in=OPEN_STATUSES).values("person_id")
    rows = (
        waiting_statuses()
        .exclude(person_id__in=open_people)
        .values(
            "person_id",
            "category",
            "severity",
            "placement_kind",
            "since",
            "person__compound__lat",
            "person__compound__lon",
            *PLACE_COLUMNS,
        )
    )
    new = [
        Transfer(
            person_id=row["person_id"],
            category=row["category"],
            severity=row["severity"] if row["severity"] in Severity.values else Severity.MILD,
            placement_kind=row["placement_kind"],
            pickup_lat=row["person__compound__lat"],
            pickup_lon=row["person__compound__lon"],
            waiting_since=row["since"] or now,
            created_at=now,
            updated_at=now,
            **{column: row[column] for column in PLACE_COLUMNS},
        )
        for row in rows
    ]
    Transfer.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    gone = Transfer.objects.filter(status__in=(TransferStatus.QUEUED, TransferStatus.NO_DESTINATION)).exclude(
        person_id__in=waiting_statuses().values("person_id")
    )
    cancelled = gone.update(status=TransferStatus.CANCELLED, updated_at=now)
    return {"queued": len(new), "cancelled": cancelled}


# --- loading the problem ---------------------------------------------------------------------------


def _seconds_from(now: dt.datetime, at: dt.datetime | None) -> int:
    return 0 if at is None else int((at - now).total_seconds())


def _vehicle_states(now: dt.datetime) -> list[VehicleState]:
    """Available vehicles with a crew-able base; one carrying people is free at its drop-off."""
    busy: dict[int, tuple[float, float, int, bool]] = {}
    on_board = Transfer.objects.filter(status=TransferStatus.PICKED_UP, vehicle__isnull=False).values_list(
        "vehicle_id", "destination__lat", "destination__lon", "planned_arrival_at", "category"
    )
    for vehicle_id, lat, lon, arrival, category in on_board:
        free = max(_seconds_from(now, arrival), 0) + HANDOVER_SECONDS
        disinfect = category in DISINFECT_AFTER
        if disinfect:
            free += DISINFECT_SECONDS
        previous = busy.get(vehicle_id)
        if lat is not None and (previous is None or previous[2] < free):
            busy[vehicle_id] = (lat, lon, free, disinfect)
    states = []
    for v in Vehicle.objects.filter(available=True).order_by("code"):
        lat, lon, free, _disinfect = busy.get(v.pk, (v.base_lat, v.base_lon, 0, False))
        states.append(
            VehicleState(v.code, v.kind, v.seats, lat, lon, frozenset(v.category_list), free, v.needs_disinfection)
        )
    return states


def _destinations(held: dict[int, int]) -> list[Destination]:
    """Active facilities with coordinates; ``held`` beds (facility id → beds this plan's transfers
    already hold) count as free again, for this plan to keep or move."""
    return [
        Destination(f.code, f.kind, frozenset(f.category_list), f.lat, f.lon, f.beds_free + held.get(f.pk, 0))
        for f in Facility.objects.filter(active=True, lat__isnull=False, lon__isnull=False).order_by("code")
    ]


def load_problem(now: dt.datetime | None = None, params: PlanParams | None = None) -> tuple[Problem, dict]:
    """The planning input from the database, and the rows behind it (transfers by id, facilities
    by code) for writing the plan back."""
    now = now or timezone.now()
    params = params or PlanParams.from_policy(policy(now))
    rows = list(
        Transfer.objects.filter(status__in=REPLANNED_STATUSES, pickup_lat__isnull=False, pickup_lon__isnull=False)
        .select_related("stay", "person")
        .order_by("id")
    )
    held: dict[int, int] = defaultdict(int)
    for row in rows:
        if row.stay is not None and row.stay.status == AdmissionStatus.RESERVED:
            held[row.stay.facility_id] += 1
    transfers = [
        PendingTransfer(
            row.pk,
            row.category,
            row.pickup_lat,
            row.pickup_lon,
            min(_seconds_from(now, row.waiting_since), 0),
            row.severity,
            row.placement_kind,
        )
        for row in rows
    ]
    problem = Problem(transfers, _vehicle_states(now), _destinations(held), params)
    facilities = {f.code: f for f in Facility.objects.filter(code__in=[d.code for d in problem.destinations])}
    return problem, {"transfers": {row.pk: row for row in rows}, "facilities": facilities, "now": now}


# --- beds ------------------------------------------------------------------------------------------


def reserve_beds(problem: Problem, context: dict, chosen: planning.Chosen) -> planning.Chosen:
    """Reserve the chosen beds, a facility at a time (beds.services.do_reserve_beds: one lock and
    one history row per facility), people in priority order. Those another plan beat to the last
    beds since we counted are chosen for again against fresh counts, with that facility full; those
    a facility cannot take at all stay without a destination this time. A reservation someone
    already holds where the plan sends them is kept."""
    assignments, missing = dict(chosen[0]), list(chosen[1])
    rows, facilities = context["transfers"], context["facilities"]
    free = {d.code: d for d in problem.destinations}
    final: dict[int, str] = {}
    # first free the beds of people moving elsewhere (or nowhere), so others may take them
    codes = {f.pk: code for code, f in facilities.items()}
    for tid, row in rows.items():
        stay = row.stay
        if stay is not None and stay.status == AdmissionStatus.RESERVED:
            if codes.get(stay.facility_id) == assignments.get(tid):
                final[tid] = assignments[tid]
            else:
                do_release_bed(stay, note=f"dispatch:{row.pk}")
                row.stay = None
    pending = [
        p for p in planning.priority_order([problem.transfer_by_id[i] for i in assignments]) if p.id not in final
    ]
    for _round in range(len(problem.destinations) + 1):
        if not pending:
            break
        by_code: dict[str, list] = {}
        for person in pending:
            by_code.setdefault(assignments[person.id], []).append(person)
        beaten = []
        for code, people in by_code.items():
            stays, no_room, unfit = do_reserve_beds(
                facilities[code],
                [(rows[p.id].person, rows[p.id].category, f"dispatch:{rows[p.id].pk}") for p in people],
            )
            for person, stay in zip(people, stays, strict=True):
                if stay is not None:
                    rows[person.id].stay = stay
                    final[person.id] = code
            missing.extend(people[i].id for i in unfit)
            if no_room:
                free[code] = Destination(**{**free[code].__dict__, "beds_free": 0})
                beaten.extend(people[i] for i in no_room)
        if not beaten:
            break
        # read the counts again: what other plans hold now is gone for this one
        for fresh in Facility.objects.filter(pk__in=[f.pk for f in facilities.values()]):
            if free[fresh.code].beds_free:
                free[fresh.code] = Destination(
                    fresh.code, fresh.kind, frozenset(fresh.category_list), fresh.lat, fresh.lon, fresh.beds_free
                )
        again, _none = choose_destinations(beaten, list(free.values()), problem.travel)
        missing.extend(p.id for p in beaten if p.id not in again)
        pending = [p for p in beaten if p.id in again]
        assignments.update(again)
    else:
        missing.extend(p.id for p in pending)
    return final, missing


# --- publishing ------------------------------------------------------------------------------------


def _at(now: dt.datetime, seconds: int) -> dt.datetime:
    return now + dt.timedelta(seconds=int(seconds))


def _cancel_superseded(rows: list[Transfer], keep_trips: set[str]) -> None:
    """Drive tasks of trips this plan no longer has (people moved to other trips or vehicles)."""
    task_ids = {row.drive_task_id for row in rows if row.drive_task_id and row.trip not in keep_trips}
    for task in Task.objects.filter(pk__in=task_ids, status__in=OPEN_TASK_STATUSES):
        do_cancel(task, None, _("Re-planned"))


def _routes_json(plan: planning.Plan, now: dt.datetime, rows: dict[int, Transfer]) -> list[dict]:
    """What the staff page and the API show of a plan: per vehicle, its trips and stops."""
    out = []
    for code, trips in plan.trips_by_vehicle().items():
        out.append(
            {
                "vehicle": code,
                "km": round(sum(t.km for t in trips), 1),
                "trips": [
                    {
                        "category": t.category,
                        "destination": t.destination,
                        "km": round(t.km, 1),
                        "start": _at(now, t.start_s).isoformat(),
                        "arrive": _at(now, t.arrive_s).isoformat(),
                        "stops": [
                            {"transfer": tid, "compound_id": rows[tid].compound_id, "at": _at(now, at).isoformat()}
                            for tid, at in zip(t.transfer_ids, t.pickup_s, strict=True)
                        ],
                    }
                    for t in trips
                ],
            }
        )
    return out


def _open_drive_task(
    vehicle: Vehicle, facility: Facility, key: str, detail: str, first, *, due_at: dt.datetime
) -> Task:
    """One DRIVE task per trip, given to the vehicle's crew: about the destination if the crew's
    jurisdiction covers it, else about the first person; with neither it stays with whoever the
    task routing finds answerable (the district), the crew named in the title. It is due when the
    trip should have arrived (plus :data:`RUN_GRACE`), not a fixed time after planning: a run planned
    for the afternoon is not late in the morning."""
    title = _("Transport run %(vehicle)s → %(facility)s") % {"vehicle": vehicle.code, "facility": facility.name}
    subject = facility
    if vehicle.crew is not None:
        for candidate in (facility, first):
            probe = Task()
            probe.set_subject(candidate)
            if level_of(vehicle.crew, probe) is not None:
                subject = candidate
                break
    task = do_open_task(
        TaskType.DRIVE,
        subject=subject,
        title=title,
        detail=detail,
        source="dispatch",
        dedupe_key=key,
        due_at=due_at,
    )
    if vehicle.crew is not None and task.assignee_id != vehicle.crew.pk:
        with contextlib.suppress(TransitionError):  # outside the crew's jurisdiction: the district hands it on
            do_assign(task, vehicle.crew, None)
    return task


@transaction.atomic
def publish(plan: planning.Plan, context: dict, record: DispatchPlan) -> None:
    """Write a plan: transfers (planned / no destination), drive and hand-over tasks, alerts."""
    now, rows, facilities = context["now"], context["transfers"], context["facilities"]
    vehicles = {v.code: v for v in Vehicle.objects.filter(code__in=plan.problem.vehicle_by_code).select_related("crew")}
    trips_of = plan.trips_by_vehicle()
    _cancel_superseded(list(rows.values()), set())
    pickups = plan.pickup_times()
    changed: list[Transfer] = []
    for code, trips in trips_of.items():
        vehicle = vehicles[code]
        for n, trip in enumerate(trips, start=1):
            facility = facilities[trip.destination]
            people = [rows[tid] for tid in trip.transfer_ids]
            detail = _("Pick up %(n)d (%(category)s) from %(start)s, arrive %(arrive)s, %(km).1f km") % {
                "n": len(people),
                "category": trip.category,
                "start": timezone.localtime(_at(now, trip.start_s)).strftime("%H:%M"),
                "arrive": timezone.localtime(_at(now, trip.arrive_s)).strftime("%H:%M"),
                "km": trip.km,
            }
            task = _open_drive_task(
                vehicle,
                facility,
                f"dispatch-drive:{record.pk}:{code}:{n}",
                detail,
                people[0].person,
                due_at=_at(now, trip.arrive_s) + RUN_GRACE,
            )
            for row in people:
                row.status, row.destination, row.vehicle, row.plan = TransferStatus.PLANNED, facility, vehicle, record
                row.trip, row.drive_task = f"{record.pk}:{code}:{n}", task
                row.planned_pickup_at = _at(now, pickups[row.pk])
                row.planned_arrival_at = _at(now, trip.arrive_s)
                row.updated_at = now
                changed.append(row)
    planned_ids = {row.pk for row in changed}
    for tid in plan.assignments:
        if tid not in planned_ids:  # a bed but no ride yet (no vehicle could take them): queued, bed kept
            row = rows[tid]
            row.status, row.destination = TransferStatus.QUEUED, facilities[plan.assignments[tid]]
            row.vehicle = row.plan = row.drive_task = row.planned_pickup_at = row.planned_arrival_at = None
            row.trip, row.updated_at = "", now
            changed.append(row)
    for tid in plan.no_destination:
        row = rows[tid]
        if row.stay is not None and row.stay.status == AdmissionStatus.RESERVED:
            do_release_bed(row.stay, note=f"dispatch:{row.pk}")
        row.stay = row.destination = row.vehicle = row.plan = row.drive_task = None
        row.planned_pickup_at = row.planned_arrival_at = None
        row.status, row.trip, row.updated_at = TransferStatus.NO_DESTINATION, "", now
        changed.append(row)
    Transfer.objects.bulk_update(
        changed,
        [
            "status",
            "destination",
            "stay",
            "vehicle",
            "plan",
            "trip",
            "drive_task",
            "planned_pickup_at",
            "planned_arrival_at",
            "updated_at",
        ],
        batch_size=500,
    )
    _hand_over_tasks([row for row in changed if row.status == TransferStatus.PLANNED], now)
    _no_destination_alerts([rows[tid] for tid in plan.no_destination])


def _hand_over_tasks(rows: list[Transfer], now: dt.datetime) -> None:
    """One TRANSFER task per person (for the grid worker handing them over), its detail the latest
    planned times; opened set-based, existing ones updated."""
    details = {
        f"dispatch-handover:{row.pk}": _("Vehicle %(vehicle)s picks up at %(pickup)s for %(facility)s")
        % {
            "vehicle": row.vehicle.code,
            "pickup": timezone.localtime(row.planned_pickup_at).strftime("%H:%M"),
            "facility": row.destination.name,
        }
        for row in rows
    }
    title = _("Hand over for transport")
    do_open_many(
        TaskType.TRANSFER,
        [
            NewTask(row.person_id, title, f"dispatch-handover:{row.pk}", details[f"dispatch-handover:{row.pk}"])
            for row in rows
        ],
        source="dispatch",
    )
    existing = list(Task.objects.filter(dedupe_key__in=list(details)).exclude(detail__in=list(details.values())))
    for task in existing:
        task.detail = details[task.dedupe_key]
        task.updated_at = now
    Task.objects.bulk_update(existing, ["detail", "updated_at"], batch_size=500)


def _no_destination_alerts(rows: list[Transfer]) -> None:
    """One REVIEW alert per person without a destination (dedupe on the transfer), for the district."""
    if not rows:
        return
    title = _("No bed for a transfer: find a destination")
    do_open_many(
        TaskType.REVIEW,
        [
            NewTask(
                row.person_id,
                title,
                f"dispatch-no-destination:{row.pk}",
                _("No facility with a free bed takes %(category)s.") % {"category": row.category},
            )
            for row in rows
        ],
        source="dispatch",
    )


def do_plan(
    user=None, *, method: str = planning.DEFAULT_METHOD, seconds: float | None = None, sync: bool = True
) -> DispatchPlan:
    """Plan (and publish) every transfer not yet picked up: see the module docstring."""
    if sync:
        sync_transfers()
    problem, context = load_problem()
    chosen = choose_destinations(problem.transfers, problem.destinations, problem.travel)
    chosen = reserve_beds(problem, context, chosen)
    result = planning.plan(problem, method, seconds, chosen)
    violations = planning.check_plan(result)
    if violations:  # never publish a plan breaking the rules; the tests keep this from happening
        raise DispatchError("; ".join(violations[:5]))
    record = DispatchPlan.objects.create(
        method=method,
        by=user if getattr(user, "is_authenticated", False) else None,
        seconds=result.seconds,
        km=result.km,
        longest_wait_min=result.longest_wait_s / 60,
        transfers=result.served,
        no_destination=len(result.no_destination),
        summary=result.summary(),
    )
    publish(result, context, record)
    record.routes = _routes_json(result, context["now"], context["transfers"])
    record.save(update_fields=["routes"])
    return record


# --- the crew's and the staff's moves ---------------------------------------------------------------


def do_mark_picked_up(transfer: Transfer, user) -> Transfer:
    """The person is in the vehicle: the register says transferred."""
    from cases.services import TransitionRefused, do_transition

    with transaction.atomic():
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if locked.status != TransferStatus.PLANNED:
            raise DispatchError(_("Only a planned transfer can be picked up."))
        locked.status, locked.picked_up_at, locked.updated_at = TransferStatus.PICKED_UP, timezone.now(), timezone.now()
        locked.save(update_fields=["status", "picked_up_at", "updated_at"])
        # the register may have moved on by itself (placed by a hospital feed): the ride goes on
        with contextlib.suppress(TransitionRefused):
            do_transition(locked.person, CaseState.TRANSFERRED, user, _("Picked up by %(v)s") % {"v": locked.vehicle})
    return locked


def do_mark_delivered(transfer: Transfer, user) -> Transfer:
    """Arrived: the reserved bed is taken up (beds.services.do_admit: placed there); a vehicle that
    carried a confirmed or asymptomatic case needs disinfection before its next ride."""
    with transaction.atomic():
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if locked.status not in (TransferStatus.PICKED_UP, TransferStatus.PLANNED):
            raise DispatchError(_("Only a transfer on its way can be delivered."))
        if locked.stay is None:
            raise DispatchError(_("This transfer holds no bed."))
        do_admit(locked.stay, user)
        now = timezone.now()
        locked.status, locked.delivered_at, locked.updated_at = TransferStatus.DELIVERED, now, now
        locked.picked_up_at = locked.picked_up_at or now
        locked.save(update_fields=["status", "delivered_at", "picked_up_at", "updated_at"])
        if locked.vehicle_id and locked.category in DISINFECT_AFTER:
            Vehicle.objects.filter(pk=locked.vehicle_id).update(needs_disinfection=True, updated_at=now)
    return locked


def do_record_disinfection(vehicle: Vehicle, user=None) -> Vehicle:
    """The vehicle was disinfected: it can be planned again."""
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        locked.needs_disinfection, locked.disinfected_at = False, timezone.now()
        locked.save(update_fields=["needs_disinfection", "disinfected_at", "updated_at"])
    vehicle.refresh_from_db()
    return vehicle


def do_cancel_transfer(transfer: Transfer, user=None) -> Transfer:
    """No ride needed any more: the held bed is released."""
    with transaction.atomic():
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if locked.status not in REPLANNED_STATUSES:
            raise DispatchError(_("Only a transfer not yet picked up can be cancelled."))
        if locked.stay is not None and locked.stay.status == AdmissionStatus.RESERVED:
            do_release_bed(locked.stay, note=f"dispatch:{locked.pk}")
        locked.status, locked.updated_at = TransferStatus.CANCELLED, timezone.now()
        locked.save(update_fields=["status", "updated_at"])
    return locked
