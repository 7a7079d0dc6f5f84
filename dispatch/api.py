"""The dispatch API: list transfers, plan, read a plan, mark picked up / delivered.

Auth is global (linli.api). Transfers are read through core.scoping (out of scope answers 404 like
missing); a plan's routes are narrowed to the vehicles in the caller's jurisdiction. Planning needs
``dispatch.run_dispatch``; pick-ups and deliveries the vehicle's crew or that permission.
"""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema
from ninja.errors import HttpError

from beds.services import BedError
from core.audit import log_reads
from core.choices import ReadAction
from core.paging import window
from dispatch import services
from dispatch.choices import TransferStatus
from dispatch.models import DispatchPlan, Transfer
from dispatch.views import MANAGE, _may_drive, get_transfer_or_404, plan_for, visible_transfers
from people.models import Resident

router = Router(tags=["dispatch"])
MAX_LIMIT = 500


class TransferQuery(Schema):
    status: str | None = None
    limit: int = 100
    offset: int = 0


class TransferOut(Schema):
    id: int
    person_id: int
    category: str
    severity: str
    status: str
    waiting_since: dt.datetime
    compound_id: int | None
    destination: str | None
    vehicle: str | None
    trip: str
    planned_pickup_at: dt.datetime | None
    planned_arrival_at: dt.datetime | None


class PlanIn(Schema):
    method: str = "pyvrp"
    seconds: float | None = None


class PlanOut(Schema):
    id: int
    method: str
    created_at: dt.datetime
    seconds: float
    km: float
    longest_wait_min: float
    transfers: int
    no_destination: int
    routes: list[dict]


def _out(t: Transfer) -> dict:
    return {
        "id": t.pk,
        "person_id": t.person_id,
        "category": t.category,
        "severity": t.severity,
        "status": t.status,
        "waiting_since": t.waiting_since,
        "compound_id": t.compound_id,
        "destination": t.destination.code if t.destination else None,
        "vehicle": t.vehicle.code if t.vehicle else None,
        "trip": t.trip,
        "planned_pickup_at": t.planned_pickup_at,
        "planned_arrival_at": t.planned_arrival_at,
    }


def _plan_out(request, record: DispatchPlan) -> dict:
    shown = plan_for(request.user, record)
    return {
        "id": record.pk,
        "method": record.method,
        "created_at": record.created_at,
        "seconds": record.seconds,
        "km": shown["km"],
        "longest_wait_min": record.longest_wait_min,
        "transfers": record.transfers,
        "no_destination": record.no_destination,
        "routes": shown["routes"],
    }


@router.get("/transfers/", response=list[TransferOut])
def list_transfers(request, q: Query[TransferQuery]):
    rows = visible_transfers(request.user, Transfer.objects.select_related("destination", "vehicle")).order_by(
        "waiting_since", "id"
    )
    if q.status:
        if q.status not in TransferStatus.values:
            raise HttpError(400, "unknown status")
        rows = rows.filter(status=q.status)
    page = list(rows[window(q.offset, q.limit, MAX_LIMIT)])
    log_reads(request.user, ReadAction.LIST, Resident, [t.person_id for t in page])
    return [_out(t) for t in page]


@router.post("/plans/", response=PlanOut)
def plan(request, payload: PlanIn):
    if not request.user.has_perm(MANAGE):
        raise HttpError(403, "dispatch.run_dispatch needed")
    if payload.method not in ("pyvrp", "ortools", "greedy"):
        raise HttpError(400, "unknown method")
    seconds = None if payload.seconds is None else min(max(payload.seconds, 0.1), 60.0)
    try:
        record = services.do_plan(request.user, method=payload.method, seconds=seconds)
    except services.DispatchError as exc:
        raise HttpError(409, str(exc)) from exc
    return _plan_out(request, record)


@router.get("/plans/latest/", response=PlanOut)
def latest_plan(request):
    record = DispatchPlan.objects.first()
    if record is None:
        raise HttpError(404, "no plan yet")
    return _plan_out(request, record)


@router.get("/plans/{plan_id}/", response=PlanOut)
def read_plan(request, plan_id: int):
    record = DispatchPlan.objects.filter(pk=plan_id).first()
    if record is None:
        raise HttpError(404, "no such plan")
    return _plan_out(request, record)


def _move(request, transfer_id: int, action) -> dict:
    transfer = get_transfer_or_404(request.user, transfer_id, Transfer.objects.select_related("vehicle"))
    if not _may_drive(request.user, transfer.vehicle):
        raise HttpError(403, "the vehicle's crew or dispatch.run_dispatch needed")
    try:
        action(transfer, request.user)
    except (services.DispatchError, BedError) as exc:
        raise HttpError(409, str(exc)) from exc
    return _out(Transfer.objects.select_related("destination", "vehicle").get(pk=transfer.pk))


@router.post("/transfers/{transfer_id}/picked-up/", response=TransferOut)
def picked_up(request, transfer_id: int):
    return _move(request, transfer_id, services.do_mark_picked_up)


@router.post("/transfers/{transfer_id}/delivered/", response=TransferOut)
def delivered(request, transfer_id: int):
    return _move(request, transfer_id, services.do_mark_delivered)
