"""The renovation API: progress against the targets (by district or street, and month by month),
candidate compounds, projects with their works, consultations and steps, the step actions, and the
yearly targets.

Auth is global (linli.api). Reading needs ``renovation.view_project``, acting
``renovation.manage_renovation`` (403 otherwise); everything is read through core.scoping, so a
project or compound outside the caller's jurisdiction answers 404 like a missing one. A step the
rules refuse answers 400 with the reason and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Exists, OuterRef
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from core.paging import RowId, window
from core.policy import policy
from core.scoping import get_scoped_or_404, jurisdiction_of, restrict
from geo.models import Compound, Division
from renovation.choices import ACTIVE, ConsultationKind
from renovation.models import BUDGET_FIELDS, Programme, Project, Work
from renovation.progress import LEVELS, current_programme, default_year, monthly, progress
from renovation.services import (
    RenovationError,
    do_add_work,
    do_cancel,
    do_finish,
    do_plan,
    do_record_consultation,
    do_record_spending,
    do_select,
    do_set_target,
    do_set_work_status,
    do_start,
)

router = Router(tags=["renovation"])
VIEW = "renovation.view_project"
MANAGE = "renovation.manage_renovation"
MAX_LIMIT = 500


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise HttpError(403, f"{permission} needed")


def _programme(code: str | None) -> Programme:
    programme = Programme.objects.filter(code=code).first() if code else current_programme()
    if programme is None:
        raise HttpError(404, "no such programme")
    return programme


def _refused(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except RenovationError as exc:
        raise HttpError(400, str(exc)) from exc


# --- progress ------------------------------------------------------------------------------------


class AreaProgressOut(Schema):
    area_id: int | None
    code: str
    name: str
    selected: int
    planned: int
    started: int
    finished: int
    target_start: int | None
    target_finish: int | None
    target_budget: Decimal | None
    started_pct: int | None
    finished_pct: int | None
    budget: Decimal
    spent: Decimal
    over_budget: bool
    late: bool


class ProgressOut(Schema):
    programme: str
    year: int
    level: str
    elapsed: float
    total: AreaProgressOut
    rows: list[AreaProgressOut]


class ProgressQuery(Schema):
    programme: str | None = None
    year: int | None = None
    level: str = "district"


@router.get("/progress", response=ProgressOut, summary="Selected, planned, started, finished against the targets")
def progress_view(request, query: Query[ProgressQuery]):
    _require(request, VIEW)
    if query.level not in LEVELS:
        raise HttpError(400, f"level must be one of {', '.join(LEVELS)}")
    programme = _programme(query.programme)
    year = query.year if query.year is not None else default_year(programme)
    if year not in programme.years:
        raise HttpError(400, "year outside the programme")
    result = progress(year, query.level, user=request.user, programme=programme)
    return {
        "programme": programme.code,
        "year": year,
        "level": query.level,
        "elapsed": result.elapsed,
        "total": result.total.as_dict(),
        "rows": [row.as_dict() for row in result.rows],
    }


class MonthlyOut(Schema):
    year: int
    district_id: int | None
    months: list[str]
    started: list[int]
    finished: list[int]


@router.get("/progress/monthly", response=MonthlyOut, summary="Cumulative starts and finishes by month")
def monthly_view(request, year: int, district_id: int | None = None, programme: str | None = None):
    _require(request, VIEW)
    district = None
    if district_id is not None:
        district = get_scoped_or_404(request.user, Division.objects.filter(level="district"), pk=district_id)
    series = monthly(year, user=request.user, programme=_programme(programme), district=district)
    return {"year": year, "district_id": district_id, "months": [f"{year}-{m:02d}" for m in range(1, 13)], **series}


# --- candidates and projects -----------------------------------------------------------------------


class CompoundOut(Schema):
    id: int
    code: str
    name: str
    built_year: int | None
    district_id: int | None
    street_id: int | None


class CompoundPageOut(Schema):
    count: int
    results: list[CompoundOut]


@router.get("/candidates", response=CompoundPageOut, summary="Old compounds in no active project")
def candidate_list(request, district_id: int | None = None, limit: int = 100, offset: int = 0):
    _require(request, VIEW)
    active = Project.objects.filter(compound=OuterRef("pk"), status__in=ACTIVE)
    qs = restrict(request.user, Compound.objects.filter(built_year__lt=int(policy().renovation_built_before)))
    qs = qs.filter(~Exists(active)).order_by("code")
    if district_id is not None:
        qs = qs.filter(district_id=district_id)
    page = qs.values("id", "code", "name", "built_year", "district_id", "street_id")[window(offset, limit, MAX_LIMIT)]
    return {"count": qs.count(), "results": list(page)}


class WorkOut(Schema):
    id: int
    kind: str
    description: str
    quantity: Decimal
    unit: str
    cost: Decimal
    status: str
    finished_on: dt.date | None


class ConsultationOut(Schema):
    id: int
    held_on: dt.date
    kind: str
    households: int
    participating: int
    in_favour: int
    against: int
    has_minutes: bool


class ProjectStepOut(Schema):
    status: str
    on: dt.date
    source: str


class ProjectOut(Schema):
    id: int
    programme: str
    compound_code: str
    compound_name: str
    year: int
    status: str
    selected_on: dt.date
    planned_on: dt.date | None
    started_on: dt.date | None
    inspected_on: dt.date | None
    finished_on: dt.date | None
    cancelled_on: dt.date | None
    budget: dict[str, Decimal]
    budget_total: Decimal
    spent: Decimal
    over_budget: bool
    district_id: int | None
    street_id: int | None


class ProjectDetailOut(ProjectOut):
    works: list[WorkOut]
    consultations: list[ConsultationOut]
    steps: list[ProjectStepOut]


def _project_out(p: Project) -> dict:
    return {
        "id": p.pk,
        "programme": p.programme.code,
        "compound_code": p.compound.code,
        "compound_name": p.compound.name,
        "year": p.year,
        "status": p.status,
        **{name: getattr(p, name) for name in ("selected_on", "planned_on", "started_on", "inspected_on")},
        "finished_on": p.finished_on,
        "cancelled_on": p.cancelled_on,
        "budget": {source: getattr(p, field) for source, field in BUDGET_FIELDS.items()},
        "budget_total": p.budget_total,
        "spent": p.spent,
        "over_budget": p.over_budget,
        "district_id": p.district_id,
        "street_id": p.street_id,
    }


def _detail(p: Project) -> dict:
    return _project_out(p) | {
        "works": list(p.works.values("id", "kind", "description", "quantity", "unit", "cost", "status", "finished_on")),
        "consultations": [
            {
                "id": c.pk,
                "held_on": c.held_on,
                "kind": c.kind,
                "households": c.households,
                "participating": c.participating,
                "in_favour": c.in_favour,
                "against": c.against,
                "has_minutes": bool(c.minutes),
            }
            for c in p.consultations.all()
        ],
        "steps": list(p.steps.values("status", "on", "source")),
    }


class ProjectPageOut(Schema):
    count: int
    results: list[ProjectOut]


class ProjectQuery(Schema):
    status: str | None = None
    year: int | None = None
    district_id: int | None = None
    limit: int = 100
    offset: int = 0


def _scoped(request, pk: int) -> Project:
    return get_scoped_or_404(request.user, Project.objects.select_related("programme", "compound"), pk=pk)


@router.get("/projects", response=ProjectPageOut, summary="Projects in my jurisdiction")
def project_list(request, query: Query[ProjectQuery]):
    _require(request, VIEW)
    qs = restrict(request.user, Project.objects.select_related("programme", "compound"))
    if query.status:
        qs = qs.filter(status=query.status)
    if query.year is not None:
        qs = qs.filter(year=query.year)
    if query.district_id is not None:
        qs = qs.filter(district_id=query.district_id)
    page = qs.order_by("id")[window(query.offset, query.limit, MAX_LIMIT)]
    return {"count": qs.count(), "results": [_project_out(p) for p in page]}


@router.get("/projects/{project_id}", response=ProjectDetailOut, summary="One project with works, consultations, steps")
def project_detail(request, project_id: int):
    _require(request, VIEW)
    return _detail(_scoped(request, project_id))


class SelectIn(Schema):
    compound_code: str
    year: int
    on: dt.date | None = None
    programme: str | None = None
    note: str = ""


@router.post("/projects", response={201: ProjectDetailOut}, summary="Select an old compound into the programme")
def project_select(request, payload: SelectIn):
    _require(request, MANAGE)
    compound = get_scoped_or_404(request.user, Compound.objects.all(), code=payload.compound_code)
    project = _refused(
        do_select,
        _programme(payload.programme),
        compound,
        payload.year,
        on=payload.on,
        by=request.user,
        note=payload.note,
    )
    return 201, _detail(_scoped(request, project.pk))


class RenovationPlanIn(Schema):
    on: dt.date | None = None
    budget: dict[str, Decimal] = {}
    note: str = ""


class DateIn(Schema):
    on: dt.date | None = None
    note: str = ""


class FinishIn(Schema):
    inspected_on: dt.date | None = None
    on: dt.date | None = None
    note: str = ""


class CancelIn(Schema):
    reason: str
    on: dt.date | None = None


class ConsultationIn(Schema):
    held_on: dt.date
    kind: str = "survey"
    households: int
    participating: int
    in_favour: int
    against: int
    note: str = ""


class WorkIn(Schema):
    kind: str
    quantity: Decimal = Decimal(0)
    unit: str = ""
    cost: Decimal = Decimal(0)
    description: str = ""


class WorkStatusIn(Schema):
    status: str
    on: dt.date | None = None


class SpendingIn(Schema):
    spent: Decimal


@router.post("/projects/{project_id}/plan", response=ProjectDetailOut, summary="Selected → planned, with the budget")
def project_plan(request, project_id: int, payload: RenovationPlanIn):
    _require(request, MANAGE)
    project = _scoped(request, project_id)
    _refused(do_plan, project, on=payload.on, budget=payload.budget, by=request.user, note=payload.note)
    return _detail(_scoped(request, project_id))


@router.post("/projects/{project_id}/consultations", response={201: ProjectDetailOut}, summary="Record a consultation")
def project_consult(request, project_id: int, payload: ConsultationIn):
    _require(request, MANAGE)
    project = _scoped(request, project_id)
    if payload.kind not in ConsultationKind.values:
        raise HttpError(400, f"kind must be one of {', '.join(ConsultationKind.values)}")
    _refused(do_record_consultation, project, by=request.user, **payload.dict())
    return 201, _detail(_scoped(request, project_id))


@router.post("/projects/{project_id}/start", response=ProjectDetailOut, summary="Planned → started (needs consent)")
def project_start(request, project_id: int, payload: DateIn):
    _require(request, MANAGE)
    _refused(do_start, _scoped(request, project_id), on=payload.on, by=request.user, note=payload.note)
    return _detail(_scoped(request, project_id))


@router.post("/projects/{project_id}/finish", response=ProjectDetailOut, summary="Started → finished (works done)")
def project_finish(request, project_id: int, payload: FinishIn):
    _require(request, MANAGE)
    project = _scoped(request, project_id)
    _refused(do_finish, project, inspected_on=payload.inspected_on, on=payload.on, by=request.user, note=payload.note)
    return _detail(_scoped(request, project_id))


@router.post("/projects/{project_id}/cancel", response=ProjectDetailOut, summary="Cancel a project")
def project_cancel(request, project_id: int, payload: CancelIn):
    _require(request, MANAGE)
    _refused(do_cancel, _scoped(request, project_id), reason=payload.reason, on=payload.on, by=request.user)
    return _detail(_scoped(request, project_id))


@router.post("/projects/{project_id}/works", response={201: ProjectDetailOut}, summary="Add a work item")
def project_add_work(request, project_id: int, payload: WorkIn):
    _require(request, MANAGE)
    _refused(do_add_work, _scoped(request, project_id), by=request.user, **payload.dict())
    return 201, _detail(_scoped(request, project_id))


@router.post("/works/{work_id}", response=ProjectDetailOut, summary="Move a work item")
def work_status(request, work_id: RowId, payload: WorkStatusIn):
    _require(request, MANAGE)
    work = get_scoped_or_404(request.user, Work.objects.select_related("project"), pk=work_id)
    _refused(do_set_work_status, work, payload.status, on=payload.on, by=request.user)
    return _detail(_scoped(request, work.project_id))


@router.post("/projects/{project_id}/spending", response=ProjectDetailOut, summary="Spending to date")
def project_spending(request, project_id: int, payload: SpendingIn):
    _require(request, MANAGE)
    _refused(do_record_spending, _scoped(request, project_id), payload.spent, by=request.user)
    return _detail(_scoped(request, project_id))


class TargetIn(Schema):
    programme: str | None = None
    year: int
    district_code: str | None = None  # empty: the whole city
    to_start: int
    to_finish: int
    budget: Decimal = Decimal(0)


class TargetOut(Schema):
    id: int
    year: int
    district_id: int | None
    to_start: int
    to_finish: int
    budget: Decimal


@router.put("/targets", response=TargetOut, summary="Set a yearly target (city command)")
def target_set(request, payload: TargetIn):
    _require(request, MANAGE)
    if not jurisdiction_of(request.user).everything:
        raise HttpError(403, "targets are set by those who see the whole city")
    district = None
    if payload.district_code:
        district = Division.objects.filter(code=payload.district_code, level="district").first()
        if district is None:
            raise HttpError(404, "no such district")
    target = _refused(
        do_set_target,
        _programme(payload.programme),
        payload.year,
        district,
        to_start=payload.to_start,
        to_finish=payload.to_finish,
        budget=payload.budget,
    )
    return {
        "id": target.pk,
        "year": target.year,
        "district_id": target.district_id,
        "to_start": target.to_start,
        "to_finish": target.to_finish,
        "budget": target.budget,
    }
