"""The workforce API: workers with their days on duty, figures by area, rotation plans (propose,
read, accept, discard), training rates, and confidential support requests.

Auth is global (linli.api). Workers and plans are read through core.scoping (out of scope answers
404); reading needs ``workforce.view_roster``, planning ``workforce.plan_rotation`` (403 without).
Support requests answer only their requester and counsellor; for anyone else 404. Phones are masked.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from core.paging import RowId, window
from core.scoping import get_scoped_or_404, restrict
from geo.models import Division
from people.identity import mask_phone
from workforce.choices import TransitionRefused
from workforce.models import RotationPlan, SupportRequest, Worker
from workforce.selectors import plan_tables, training_rates
from workforce.services import (
    PLAN_LEVELS,
    PlanError,
    SupportError,
    do_accept_plan,
    do_accept_support,
    do_ask_support,
    do_close_support,
    do_discard_plan,
    do_propose_plan,
    do_schedule_support,
    visible_support,
)
from workforce.stats import by_area, duty_of, latest_day

router = Router(tags=["workforce"])
VIEW = "workforce.view_roster"
PLAN = "workforce.plan_rotation"
MAX_LIMIT = 500


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise HttpError(403, f"{perm} needed")


def _workers(request):
    return restrict(request.user, Worker.objects.filter(active=True))


class WorkerOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    phone: str
    organisation: str
    grid_id: int | None
    community_id: int | None
    street_id: int | None
    streak: int
    longest: int
    week_hours: float
    over_days: bool
    over_hours: bool


class WorkerPageOut(Schema):
    as_of: dt.date
    count: int
    results: list[WorkerOut]


class WorkerQuery(Schema):
    area_id: int | None = None
    over: bool = False
    limit: int = 100
    offset: int = 0


def _worker_out(d) -> dict:
    w = d.worker
    return {
        "id": w.pk,
        "code": w.code,
        "name": w.name,
        "kind": w.kind,
        "phone": mask_phone(w.phone),
        "organisation": w.organisation,
        "grid_id": w.grid_id,
        "community_id": w.community_id,
        "street_id": w.street_id,
        "streak": d.streak,
        "longest": d.longest,
        "week_hours": d.week_hours,
        "over_days": d.over_days,
        "over_hours": d.over_hours,
    }


@router.get("/workers", response=WorkerPageOut, summary="Workers in my jurisdiction with their days on duty")
def worker_list(request, query: Query[WorkerQuery]):
    _require(request, VIEW)
    workers = _workers(request).order_by("grid__code", "code")
    if query.area_id is not None:
        area = get_scoped_or_404(request.user, Division.objects.all(), pk=query.area_id)
        workers = workers.filter(**({"grid": area} if area.level == "grid" else {f"{area.level}_id": area.pk}))
    as_of = latest_day(workers) or timezone.localdate()
    if query.over:
        rows = [d for d in duty_of(list(workers), as_of) if d.over]
        page = rows[window(query.offset, query.limit, MAX_LIMIT)]
        count = len(rows)
    else:
        page = duty_of(list(workers[window(query.offset, query.limit, MAX_LIMIT)]), as_of)
        count = workers.count()
    return {"as_of": as_of, "count": count, "results": [_worker_out(d) for d in page]}


@router.get("/workers/{worker_id}", response=WorkerOut, summary="One worker with their days on duty")
def worker_detail(request, worker_id: int):
    _require(request, VIEW)
    worker = get_scoped_or_404(request.user, Worker.objects.all(), pk=worker_id)
    as_of = latest_day(Worker.objects.filter(pk=worker.pk)) or timezone.localdate()
    return _worker_out(duty_of([worker], as_of)[0])


class DutyAreaOut(Schema):
    area_id: int
    code: str
    name: str
    workers: int
    over_days: int
    over_hours: int
    longest_streak: int
    mean_week_hours: float


@router.get("/duty/by-area", response=list[DutyAreaOut], summary="Days on duty summed by grid, community or street")
def duty_by_area(request, level: str = "community"):
    _require(request, VIEW)
    if level not in ("district", "street", "community", "grid"):
        raise HttpError(400, "level is district, street, community or grid")
    workers = _workers(request)
    figures = by_area(workers, level, latest_day(workers) or timezone.localdate())
    names = Division.objects.in_bulk(list(figures))
    return [
        {
            "area_id": k,
            "code": names[k].code,
            "name": names[k].name,
            "workers": f.workers,
            "over_days": f.over_days,
            "over_hours": f.over_hours,
            "longest_streak": f.longest_streak,
            "mean_week_hours": round(f.mean_week_hours, 2),
        }
        for k, f in sorted(figures.items())
        if k in names
    ]


class ShortOut(Schema):
    grid: int
    code: str
    name: str
    day: dt.date
    short: int


class RotationPlanOut(Schema):
    id: int
    area_id: int
    starts_on: dt.date
    days: int
    status: str
    workers: int
    grids: int
    shortfall: int
    shortfalls: list[ShortOut]
    max_consecutive_days: int
    solve_seconds: float


class GridDaysOut(Schema):
    grid_id: int
    minimum: int
    on_duty: list[int]


class WorkerDaysOut(Schema):
    worker_id: int
    states: list[str]
    runs: list[int]
    rest_days: int


class PlanDetailOut(RotationPlanOut):
    day_list: list[dt.date]
    staffed_every_day: bool
    longest_run: int
    grid_days: list[GridDaysOut]
    worker_days: list[WorkerDaysOut]


def _plan_out(plan: RotationPlan) -> dict:
    return {
        "id": plan.pk,
        "area_id": plan.area_id,
        "starts_on": plan.starts_on,
        "days": plan.days,
        "status": plan.status,
        "workers": plan.workers,
        "grids": plan.grids,
        "shortfall": plan.shortfall,
        "shortfalls": plan.shortfalls,
        "max_consecutive_days": plan.max_consecutive_days,
        "solve_seconds": plan.solve_seconds,
    }


def _plan_detail(plan: RotationPlan) -> dict:
    tables = plan_tables(plan)
    return _plan_out(plan) | {
        "day_list": tables.days,
        "staffed_every_day": tables.staffed_every_day,
        "longest_run": tables.longest_run,
        "grid_days": [{"grid_id": r.grid.pk, "minimum": r.minimum, "on_duty": r.on_duty} for r in tables.grids],
        "worker_days": [
            {"worker_id": r.worker.pk, "states": r.states, "runs": r.runs, "rest_days": r.rest_days}
            for r in tables.workers
        ],
    }


class PlanPageOut(Schema):
    count: int
    results: list[RotationPlanOut]


@router.get("/plans", response=PlanPageOut, summary="Rotation plans in my jurisdiction, newest first")
def plan_list(request, limit: int = 100, offset: int = 0):
    _require(request, VIEW)
    plans = restrict(request.user, RotationPlan.objects.all())
    return {"count": plans.count(), "results": [_plan_out(p) for p in plans[window(offset, limit, MAX_LIMIT)]]}


class RotationPlanIn(Schema):
    area_id: RowId
    starts_on: dt.date
    days: int | None = None


@router.post("/plans", response={201: PlanDetailOut}, summary="Propose a rotation plan for a street or community")
def plan_create(request, payload: RotationPlanIn):
    _require(request, PLAN)
    area = get_scoped_or_404(request.user, Division.objects.filter(level__in=PLAN_LEVELS), pk=payload.area_id)
    try:
        plan = do_propose_plan(area, payload.starts_on, payload.days, by=request.user)
    except PlanError as exc:
        raise HttpError(400, str(exc)) from exc
    return 201, _plan_detail(plan)


@router.get("/plans/{plan_id}", response=PlanDetailOut, summary="A plan with its grid × day staffing and calendars")
def plan_detail(request, plan_id: int):
    _require(request, VIEW)
    return _plan_detail(get_scoped_or_404(request.user, RotationPlan.objects.all(), pk=plan_id))


def _decide(request, plan_id: int, action):
    _require(request, PLAN)
    plan = get_scoped_or_404(request.user, RotationPlan.objects.all(), pk=plan_id)
    try:
        return _plan_out(action(plan, request.user))
    except TransitionRefused as exc:
        raise HttpError(409, str(exc)) from exc


@router.post(
    "/plans/{plan_id}/accept", response=RotationPlanOut, summary="Accept a proposed plan: it becomes the roster"
)
def plan_accept(request, plan_id: int):
    return _decide(request, plan_id, do_accept_plan)


@router.post("/plans/{plan_id}/discard", response=RotationPlanOut, summary="Discard a proposed plan")
def plan_discard(request, plan_id: int):
    return _decide(request, plan_id, do_discard_plan)


class CompletionRateOut(Schema):
    area_id: int
    name: str
    workers: int
    completed: dict[str, int]  # course code -> workers who completed it
    rates: dict[str, float]


@router.get(
    "/training/rates", response=list[CompletionRateOut], summary="Course completion rates by street or community"
)
def training_rate_list(request, level: str = "community"):
    _require(request, VIEW)
    if level not in ("street", "community"):
        raise HttpError(400, "level is street or community")
    courses, rows = training_rates(_workers(request), level)
    return [
        {
            "area_id": row.area.pk,
            "name": row.area.name,
            "workers": row.workers,
            "completed": {c.code: row.completed.get(c.pk, 0) for c in courses},
            "rates": {c.code: round(row.rate(c.pk), 4) for c in courses},
        }
        for row in rows
    ]


# --- confidential support --------------------------------------------------------------------------


class SupportIn(Schema):
    want: str
    note: str = ""
    contact: str = ""


class SupportOut(Schema):
    id: int
    want: str
    status: str
    created_at: dt.datetime
    scheduled_for: dt.datetime | None
    mine: bool  # I asked for it (else: I am its counsellor)
    note: str
    contact: str


def _support_out(request, r: SupportRequest) -> dict:
    return {
        "id": r.pk,
        "want": r.want,
        "status": r.status,
        "created_at": r.created_at,
        "scheduled_for": r.scheduled_for,
        "mine": r.requester_id == request.user.pk,
        "note": r.note,
        "contact": r.contact,
    }


@router.post("/support", response={201: SupportOut}, summary="Ask for confidential psychological support")
def support_create(request, payload: SupportIn):
    try:
        made = do_ask_support(request.user, payload.want, payload.note, payload.contact)
    except SupportError as exc:
        raise HttpError(400, str(exc)) from exc
    return 201, _support_out(request, made)


@router.get("/support", response=list[SupportOut], summary="My support requests, as requester or counsellor")
def support_list(request, limit: int = 100, offset: int = 0):
    rows = visible_support(request.user)[window(offset, limit, MAX_LIMIT)]
    return [_support_out(request, r) for r in rows]


def _support_or_404(request, request_id: int) -> SupportRequest:
    found = visible_support(request.user).filter(pk=request_id).first()
    if found is None:
        raise HttpError(404, "Not Found")
    return found


@router.get("/support/{request_id}", response=SupportOut, summary="One of my support requests")
def support_detail(request, request_id: int):
    return _support_out(request, _support_or_404(request, request_id))


class ScheduleIn(Schema):
    at: dt.datetime


def _move(request, request_id: int, action, *args):
    found = _support_or_404(request, request_id)
    try:
        return _support_out(request, action(found, request.user, *args))
    except SupportError as exc:
        raise HttpError(403, str(exc)) from exc
    except TransitionRefused as exc:
        raise HttpError(409, str(exc)) from exc


@router.post("/support/{request_id}/accept", response=SupportOut, summary="Counsellor: accept the request")
def support_accept(request, request_id: int):
    return _move(request, request_id, do_accept_support)


@router.post("/support/{request_id}/schedule", response=SupportOut, summary="Counsellor: set a time")
def support_schedule(request, request_id: int, payload: ScheduleIn):
    found = _support_or_404(request, request_id)
    if payload.at < timezone.now() - dt.timedelta(minutes=5) and found.counsellor_id == request.user.pk:
        raise HttpError(400, "a talk is scheduled for a time still to come")
    return _move(request, request_id, do_schedule_support, payload.at)


@router.post("/support/{request_id}/close", response=SupportOut, summary="Close (counsellor) or withdraw (requester)")
def support_close(request, request_id: int):
    return _move(request, request_id, do_close_support)
