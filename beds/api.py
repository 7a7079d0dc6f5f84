"""The beds API (issue #8 item 1): facilities and their counts, a facility's own count report, the
city board, and admissions and discharges.

Auth is global (linli.api). Facilities are read through core.scoping, so a facility outside the
caller's jurisdiction answers 404 like a missing one. Reporting counts needs ``beds.report_beds``;
admitting and discharging ``beds.admit_patients``. People come masked and are read-logged.
"""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from beds import selectors, services
from beds.choices import AdmissionStatus, BedSource, FacilityKind
from beds.models import Facility, Stay
from cases.choices import Basis, Category
from cases.services import BasisRefused, TransitionRefused, resolve_basis_case
from core.audit import log_reads
from core.choices import ReadAction
from core.paging import window
from core.scoping import get_scoped_or_404
from people.identity import normalise_id_number
from people.models import Resident

router = Router(tags=["beds"])
REPORT = "beds.report_beds"
ADMIT = "beds.admit_patients"


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise HttpError(403, f"{permission} needed")


def _facility(request, code: str) -> Facility:
    return get_scoped_or_404(request.user, Facility.objects.select_related("district"), code=code)


class FacilityOut(Schema):
    code: str
    name: str
    kind: str
    categories: list[str]
    district_code: str | None
    address: str
    lat: float | None
    lon: float | None
    active: bool
    beds_approved: int
    beds_open: int
    beds_occupied: int
    beds_reserved: int
    beds_free: int
    fill_percent: int | None
    nearly_full: bool
    counts_at: dt.datetime | None
    stale: bool


def _out(f: Facility) -> dict:
    return {
        "code": f.code,
        "name": f.name,
        "kind": f.kind,
        "categories": f.category_list,
        "district_code": f.district.code if f.district_id else None,
        "address": f.address,
        "lat": f.lat,
        "lon": f.lon,
        "active": f.active,
        "beds_approved": f.beds_approved,
        "beds_open": f.beds_open,
        "beds_occupied": f.beds_occupied,
        "beds_reserved": f.beds_reserved,
        "beds_free": f.beds_free,
        "fill_percent": f.fill_percent,
        "nearly_full": f.nearly_full,
        "counts_at": f.counts_at,
        "stale": f.stale,
    }


class FacilityQuery(Schema):
    kind: str | None = None
    category: str | None = None
    district: str | None = None  # the district's 12-digit code


@router.get("/facilities", response=list[FacilityOut], summary="Facilities in your jurisdiction, with their counts")
def facility_list(request, query: Query[FacilityQuery]):
    facilities = selectors.facilities_for(request.user, Facility.objects.select_related("district"))
    if query.kind:
        if query.kind not in FacilityKind.values:
            raise HttpError(400, f"kind must be one of {', '.join(FacilityKind.values)}")
        facilities = facilities.filter(kind=query.kind)
    if query.category:
        if query.category not in Category.values:
            raise HttpError(400, f"category must be one of {', '.join(Category.values)}")
        facilities = selectors.with_wrapped_categories(facilities).filter(selectors.takes(query.category))
    if query.district:
        facilities = facilities.filter(district__code=query.district)
    return [_out(f) for f in facilities.order_by("code")]


@router.get("/facilities/{code}", response=FacilityOut, summary="One facility and its current counts")
def facility_detail(request, code: str):
    return _out(_facility(request, code))


class CountsIn(Schema):
    beds_approved: int
    beds_open: int
    beds_occupied: int
    as_of: dt.datetime | None = None
    note: str = ""


class ReportOut(Schema):
    at: dt.datetime
    source: str
    beds_approved: int
    beds_open: int
    beds_occupied: int
    beds_reserved: int
    note: str


@router.post(
    "/facilities/{code}/counts",
    response={201: FacilityOut},
    summary="The facility's own counts; refused (400, with the reason) when they do not add up",
)
def facility_counts(request, code: str, payload: CountsIn):
    facility = _facility(request, code)
    _require(request, REPORT)
    try:
        services.do_report_counts(
            facility,
            approved=payload.beds_approved,
            open_=payload.beds_open,
            occupied=payload.beds_occupied,
            source=BedSource.API,
            user=request.user,
            note=payload.note,
            at=payload.as_of,
        )
    except services.BedError as exc:
        raise HttpError(400, str(exc)) from exc
    return 201, _out(facility)


@router.get("/facilities/{code}/history", response=list[ReportOut], summary="The facility's counts, newest first")
def facility_history(request, code: str, limit: int = 100, offset: int = 0):
    facility = _facility(request, code)
    return list(facility.reports.order_by("-at", "-id")[window(offset, limit, 1000)])


class BoardRowOut(Schema):
    district_code: str
    district_name: str
    facilities: int
    free: dict[str, int]
    beds_open: int
    beds_occupied: int
    beds_reserved: int


class BoardOut(Schema):
    note: str
    rows: list[BoardRowOut]
    total: BoardRowOut


def _row(row: selectors.BoardRow) -> dict:
    return {
        "district_code": row.code,
        "district_name": row.name,
        "facilities": row.facilities,
        "free": row.free,
        "beds_open": row.beds_open,
        "beds_occupied": row.beds_occupied,
        "beds_reserved": row.beds_reserved,
    }


@router.get("/board", response=BoardOut, summary="Free beds by category and district, and the total")
def board(request):
    result = selectors.board(request.user)
    return {
        "note": "a free bed at a facility taking several categories counts under each of them",
        "rows": [_row(r) for r in result.rows],
        "total": _row(result.total),
    }


# --- stays -----------------------------------------------------------------------------------------


class StayOut(Schema):
    id: int
    facility_code: str
    person_id: int
    name: str  # masked
    id_number: str  # masked
    category: str
    status: str
    reserved_at: dt.datetime | None
    admitted_at: dt.datetime | None
    discharged_at: dt.datetime | None
    reference: str


def _stay_out(stay: Stay) -> dict:
    return {
        "id": stay.pk,
        "facility_code": stay.facility.code,
        "person_id": stay.person_id,
        "name": stay.person.masked_name,
        "id_number": stay.person.masked_id_number,
        "category": stay.category,
        "status": stay.status,
        "reserved_at": stay.reserved_at,
        "admitted_at": stay.admitted_at,
        "discharged_at": stay.discharged_at,
        "reference": stay.reference,
    }


@router.get("/facilities/{code}/stays", response=list[StayOut], summary="People holding a bed here now")
def facility_stays(request, code: str):
    facility = _facility(request, code)
    stays = list(
        Stay.objects.filter(facility=facility, status__in=(AdmissionStatus.RESERVED, AdmissionStatus.ADMITTED))
        .select_related("person", "facility")
        .order_by("id")
    )
    log_reads(request.user, ReadAction.API_VIEW, Resident, [s.person_id for s in stays])
    return [_stay_out(s) for s in stays]


class WalkInIn(Schema):
    category: str
    person_id: int | None = None
    id_number: str | None = None
    # issue #11: putting a person new to the register (or whose episode is closed) into a category
    # is a decision with a legal basis; a person already in an open category keeps theirs
    basis: str = Field(
        "",
        description="Legal basis of the category decision, one of the policy's category_change_bases "
        "(lab_report, clinical_diagnosis, contact_of_case, cdc_notice, fever_measured); needed when "
        "the walk-in puts the person into a category",
    )
    note: str = Field("", max_length=300, description="Why (required with a basis); kept with the basis")
    case_person_id: int | None = Field(None, description="contact_of_case: the recorded case's person id")
    case_id_number: str | None = Field(None, description="contact_of_case: or the case's full identity number")


@router.post(
    "/facilities/{code}/admissions",
    response={201: StayOut},
    summary="Admit a person without a reservation (walk-in): reserve and admit in one go; a person put "
    "into a category by it needs a legal basis and a note (400 otherwise, nothing changed)",
)
def facility_walk_in(request, code: str, payload: WalkInIn):
    facility = _facility(request, code)
    _require(request, ADMIT)
    people = Resident.objects.filter(merged_into__isnull=True)
    if payload.person_id is not None:
        person = people.filter(pk=payload.person_id).first()
    elif payload.id_number:
        person = people.filter(id_number=normalise_id_number(payload.id_number)).first()
    else:
        raise HttpError(400, "person_id or id_number needed")
    if person is None:
        raise HttpError(404, "person")
    try:
        case = None
        if payload.basis == Basis.CONTACT_OF_CASE and (payload.case_person_id is not None or payload.case_id_number):
            case = resolve_basis_case(payload.case_id_number or "", payload.case_person_id)
            log_reads(request.user, ReadAction.API_VIEW, Resident, [case.pk])
        stay = services.do_admit_direct(
            facility,
            person,
            payload.category,
            request.user,
            basis=payload.basis,
            note=payload.note,
            basis_case=case,
        )
    except (services.BedError, TransitionRefused, BasisRefused) as exc:
        raise HttpError(400, str(exc)) from exc
    return 201, _stay_out(stay)


def _stay(request, pk: int) -> Stay:
    stay = get_object_or_404(Stay.objects.select_related("person", "facility"), pk=pk)
    _facility(request, stay.facility.code)  # 404 outside the jurisdiction
    return stay


@router.post("/stays/{pk}/admit", response=StayOut, summary="The person with a reserved bed arrived")
def stay_admit(request, pk: int):
    stay = _stay(request, pk)
    _require(request, ADMIT)
    try:
        stay = services.do_admit(stay, request.user)
    except (services.BedError, TransitionRefused) as exc:
        raise HttpError(400, str(exc)) from exc
    return _stay_out(Stay.objects.select_related("person", "facility").get(pk=stay.pk))


class DischargeIn(Schema):
    released: bool = False


@router.post("/stays/{pk}/discharge", response=StayOut, summary="The person left (discharged or released)")
def stay_discharge(request, pk: int, payload: DischargeIn):
    stay = _stay(request, pk)
    _require(request, ADMIT)
    try:
        stay = services.do_discharge(stay, request.user, released=payload.released)
    except (services.BedError, TransitionRefused) as exc:
        raise HttpError(400, str(exc)) from exc
    return _stay_out(Stay.objects.select_related("person", "facility").get(pk=stay.pk))
