"""The reopening API: units (filters, one unit with its history), applications (draft, evidence,
submit, verdicts, decision, withdrawal), staff-back reports, the resumption rates and the outbreak
reviews.

Auth is global (linli.api). Units and applications are read through reopening.selectors, so one
out of the caller's sight answers 404 like a missing one; acting needs ``reopening.apply_reopening``
or ``reopening.inspect_reopening`` (403 without). A refused action answers 400 with its code, the
sentence and, when items are the reason, the item codes.
"""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import File, Query, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile

from core.paging import window
from reopening.choices import RateLevel
from reopening.models import ReopeningApplication, Unit, UnitReview
from reopening.rates import resumption, resumption_series
from reopening.selectors import visible_applications, visible_reviews, visible_units
from reopening.services import (
    ReopeningError,
    do_add_evidence,
    do_decide,
    do_decide_review,
    do_record_verdict,
    do_report_staff,
    do_start_application,
    do_submit,
    do_update_draft,
    do_withdraw,
)

router = Router(tags=["reopening"])
APPLY = "reopening.apply_reopening"
INSPECT = "reopening.inspect_reopening"
MAX_LIMIT = 500
MAX_SERIES_DAYS = 366


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise HttpError(403, f"{permission} needed")


class Refused(Schema):
    """A refusal with its reason; a body the API cannot read at all is refused by django-ninja with
    ``detail`` alone (found by Schemathesis), so the code and the items are optional."""

    code: str = ""
    detail: str
    items: list[str] = []


def _refused(exc: ReopeningError) -> tuple[int, dict]:
    return 400, {"code": exc.code, "detail": str(exc), "items": exc.items}


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    sector: str
    staff_count: int
    pupils: int | None
    status: str
    status_since: dt.datetime | None
    district_id: int | None
    street_id: int | None
    community_id: int | None
    grid_id: int | None
    compound_id: int | None
    venue_id: int | None


class UnitPageOut(Schema):
    count: int
    results: list[UnitOut]


class UnitQuery(Schema):
    district: int | None = None
    kind: str | None = None
    sector: str | None = None
    status: str | None = None
    limit: int = 100
    offset: int = 0


class HistoryOut(Schema):
    at: dt.datetime
    from_status: str
    to_status: str
    reason: str
    source: str


class UnitDetailOut(UnitOut):
    history: list[HistoryOut]
    applications: list[int]


@router.get("/units", response=UnitPageOut, summary="Schools and enterprises I may see")
def unit_list(request, query: Query[UnitQuery]):
    units = visible_units(request.user)
    for field, column in (("district", "district_id"), ("kind", "kind"), ("sector", "sector"), ("status", "status")):
        value = getattr(query, field)
        if value:
            units = units.filter(**{column: value})
    units = units.order_by("code")
    return {"count": units.count(), "results": list(units[window(query.offset, query.limit, MAX_LIMIT)])}


def _unit(request, unit_id: int) -> Unit:
    return get_object_or_404(visible_units(request.user), pk=unit_id)


@router.get("/units/{unit_id}", response=UnitDetailOut, summary="One unit with its status history")
def unit_detail(request, unit_id: int):
    unit = _unit(request, unit_id)
    return {
        **UnitOut.from_orm(unit).dict(),
        "history": list(unit.history.order_by("at", "id")),
        "applications": list(unit.applications.order_by("-created_at").values_list("pk", flat=True)),
    }


class EntryOut(Schema):
    item: str
    required: bool
    verdict: str
    verdict_reason: str
    evidence: list[int]


class ApplicationOut(Schema):
    id: int
    unit_id: int
    status: str
    planned_on: dt.date | None
    note: str
    policy_version: int | None
    checklist: list[str]
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_reason: str
    task_id: int | None
    entries: list[EntryOut]


def _application_out(application: ReopeningApplication) -> dict:
    entries = application.entries.prefetch_related("evidence").order_by("-required", "position")
    return {
        **{
            f: getattr(application, f)
            for f in (
                "id",
                "unit_id",
                "status",
                "planned_on",
                "note",
                "policy_version",
                "checklist",
                "submitted_at",
                "decided_at",
                "decision_reason",
                "task_id",
            )
        },
        "entries": [
            {
                "item": e.item,
                "required": e.required,
                "verdict": e.verdict,
                "verdict_reason": e.verdict_reason,
                "evidence": [f.pk for f in e.evidence.all()],
            }
            for e in entries
        ],
    }


def _application(request, application_id: int) -> ReopeningApplication:
    return get_object_or_404(visible_applications(request.user).select_related("unit"), pk=application_id)


class DraftIn(Schema):
    planned_on: dt.date | None = None
    note: str = ""


@router.post(
    "/units/{unit_id}/applications",
    response={201: ApplicationOut, 400: Refused},
    summary="Start an application (a draft with the checklist in force)",
)
def application_start(request, unit_id: int, body: DraftIn):
    unit = _unit(request, unit_id)
    _require(request, APPLY)
    try:
        application = do_start_application(unit, request.user, body.planned_on, body.note[:2000])
    except ReopeningError as exc:
        return _refused(exc)
    return 201, _application_out(application)


@router.get("/applications/{application_id}", response=ApplicationOut, summary="One application")
def application_detail(request, application_id: int):
    return _application_out(_application(request, application_id))


@router.patch("/applications/{application_id}", response={200: ApplicationOut, 400: Refused}, summary="Edit a draft")
def application_edit(request, application_id: int, body: DraftIn):
    application = _application(request, application_id)
    _require(request, APPLY)
    try:
        do_update_draft(application, request.user, body.planned_on, body.note[:2000])
    except ReopeningError as exc:
        return _refused(exc)
    return _application_out(application)


class EvidenceOut(Schema):
    id: int
    item: str
    content_type: str
    size: int


@router.post(
    "/applications/{application_id}/evidence/{item}",
    response={201: EvidenceOut, 400: Refused},
    summary="Attach a photo (JPEG, PNG) or a PDF to one item of a draft",
)
def evidence_add(request, application_id: int, item: str, file: File[UploadedFile]):
    application = _application(request, application_id)
    _require(request, APPLY)
    try:
        evidence = do_add_evidence(application, item, file.read(), file.name or "", request.user)
    except ReopeningError as exc:
        return _refused(exc)
    return 201, {"id": evidence.pk, "item": item, "content_type": evidence.content_type, "size": evidence.size}


@router.post(
    "/applications/{application_id}/submit",
    response={200: ApplicationOut, 400: Refused},
    summary="Submit for inspection (refused naming the items without evidence)",
)
def application_submit(request, application_id: int):
    application = _application(request, application_id)
    _require(request, APPLY)
    try:
        application = do_submit(application, request.user)
    except ReopeningError as exc:
        return _refused(exc)
    return _application_out(application)


class WithdrawIn(Schema):
    reason: str = ""


@router.post(
    "/applications/{application_id}/withdraw", response={200: ApplicationOut, 400: Refused}, summary="Withdraw"
)
def application_withdraw(request, application_id: int, body: WithdrawIn):
    application = _application(request, application_id)
    _require(request, APPLY)
    try:
        application = do_withdraw(application, request.user, body.reason[:300])
    except ReopeningError as exc:
        return _refused(exc)
    return _application_out(application)


class VerdictIn(Schema):
    item: str
    verdict: str
    reason: str = ""


@router.post(
    "/applications/{application_id}/verdicts",
    response={200: ApplicationOut, 400: Refused},
    summary="The inspector's verdict on one item",
)
def verdict_record(request, application_id: int, body: VerdictIn):
    application = _application(request, application_id)
    _require(request, INSPECT)
    try:
        do_record_verdict(application, body.item, body.verdict, body.reason, request.user)
    except ReopeningError as exc:
        return _refused(exc)
    return _application_out(application)


class DecisionIn(Schema):
    approve: bool
    reason: str = ""


@router.post(
    "/applications/{application_id}/decision",
    response={200: ApplicationOut, 400: Refused},
    summary="Approve (every required item approved: the unit opens) or reject with reasons",
)
def application_decide(request, application_id: int, body: DecisionIn):
    application = _application(request, application_id)
    _require(request, INSPECT)
    try:
        application = do_decide(application, body.approve, body.reason[:2000], request.user)
    except ReopeningError as exc:
        return _refused(exc)
    return _application_out(application)


class StaffIn(Schema):
    day: dt.date
    staff_back: int


class StaffOut(Schema):
    unit_id: int
    day: dt.date
    staff_back: int


@router.post("/units/{unit_id}/staff", response={200: StaffOut, 400: Refused}, summary="Report staff back on a day")
def staff_report(request, unit_id: int, body: StaffIn):
    unit = _unit(request, unit_id)
    _require(request, APPLY)
    if not -(2**31) < body.staff_back < 2**31:
        return 400, {"code": "invalid_number", "detail": "staff_back out of range", "items": []}
    try:
        return do_report_staff(unit, body.day, body.staff_back, request.user, source="api")
    except ReopeningError as exc:
        return _refused(exc)


class ResumptionRateOut(Schema):
    key: str
    label: str
    units: int
    open: int
    staff: int
    staff_back: int
    open_share: float | None
    staff_share: float | None


class RateQuery(Schema):
    level: RateLevel = RateLevel.DISTRICT
    day: dt.date | None = None
    kind: str | None = None


@router.get(
    "/resumption", response=list[ResumptionRateOut], summary="Resumption rates on a day, over the units I may see"
)
def rates(request, query: Query[RateQuery]):
    return [r.as_dict() for r in resumption(query.level, query.day, units=visible_units(request.user), kind=query.kind)]


class SeriesQuery(Schema):
    level: RateLevel = RateLevel.DISTRICT
    first: dt.date | None = None
    last: dt.date | None = None
    kind: str | None = None


class SeriesGroupOut(Schema):
    key: str
    label: str
    units: list[int]
    open: list[int]
    staff: list[int]
    staff_back: list[int]


class ResumptionSeriesOut(Schema):
    days: list[dt.date]
    groups: list[SeriesGroupOut]


@router.get("/resumption/series", response={200: ResumptionSeriesOut, 400: Refused}, summary="Daily resumption counts")
def rate_series(request, query: Query[SeriesQuery]):
    last = query.last or timezone.localdate()
    first = query.first or last - dt.timedelta(days=29)
    if first > last or (last - first).days >= MAX_SERIES_DAYS:
        return 400, {"code": "bad_range", "detail": f"first ≤ last, at most {MAX_SERIES_DAYS} days", "items": []}
    series = resumption_series(query.level, first, last, units=visible_units(request.user), kind=query.kind)
    return {
        "days": series.days,
        "groups": [
            {
                "key": key,
                "label": label,
                "units": series.units[g].tolist(),
                "open": series.open[g].tolist(),
                "staff": series.staff[g].tolist(),
                "staff_back": series.staff_back[g].tolist(),
            }
            for g, (key, label) in enumerate(zip(series.keys, series.labels, strict=True))
        ],
    }


class ReviewOut(Schema):
    id: int
    unit_id: int
    cases: int
    first_case_at: dt.datetime | None
    decision: str
    reason: str
    task_id: int | None


class ReviewQuery(Schema):
    pending: bool = False
    limit: int = 100
    offset: int = 0


@router.get("/reviews", response=list[ReviewOut], summary="Outbreak reviews of open units")
def review_list(request, query: Query[ReviewQuery]):
    reviews = visible_reviews(request.user).order_by("-created_at", "-id")
    if query.pending:
        reviews = reviews.filter(decision="pending")
    return list(reviews[window(query.offset, query.limit, MAX_LIMIT)])


class ReviewIn(Schema):
    suspend: bool
    reason: str


@router.post("/reviews/{review_id}/decision", response={200: ReviewOut, 400: Refused}, summary="Suspend or keep open")
def review_decide(request, review_id: int, body: ReviewIn):
    review: UnitReview = get_object_or_404(visible_reviews(request.user), pk=review_id)
    _require(request, INSPECT)
    try:
        return do_decide_review(review, body.suspend, body.reason[:2000], request.user)
    except ReopeningError as exc:
        return _refused(exc)
