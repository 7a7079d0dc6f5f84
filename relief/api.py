"""The relief API: applications (masked, scoped: area staff see their area, bank officers their
bank's shortlist), a bank's decision, bulk screening and matching, clearing a flag, the totals.

Auth is global (linli.api): anonymous answers 401. An application outside the caller's view
answers 404 like a missing one (a decision for an unknown application is a 404 here, a reject
reason in the ``loan_decisions`` import); a refused action answers 400 with its reason code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from core.audit import log_reads
from core.choices import ReadAction
from core.paging import window
from relief.choices import FlagStatus
from relief.models import Applicant, Application, Flag, Match
from relief.services import (
    ReliefError,
    bank_ids_of,
    do_clear_flag,
    do_decide,
    do_match_all,
    do_screen_all,
    get_application_or_404,
    matches_seen_by,
    totals,
    visible_applications,
)

router = Router(tags=["relief"])
REVIEW, DECIDE = "relief.review_application", "relief.decide_loan"
MAX_LIMIT = 500


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise HttpError(403, f"{permission} needed")


class MatchOut(Schema):
    id: int
    rank: int
    bank_code: str
    product_code: str
    product_name: str
    rate: Decimal
    term_months: int
    min_yuan: int
    max_yuan: int
    status: str
    amount_yuan: float | None
    decided_on: dt.date | None
    disbursed_on: dt.date | None
    decline_reason: str


class FlagOut(Schema):
    id: int
    kind: str
    detail: str
    status: str
    note: str


class ReliefApplicationOut(Schema):
    id: int
    reference: str
    fund_code: str
    applicant_kind: str
    applicant_code: str  # an owner's ID number masked (domain.md §2)
    applicant_name: str
    sector: str
    district_code: str | None
    need: str
    amount_yuan: float
    status: str
    reasons: list[dict]
    open_flags: int


class ApplicationDetailOut(ReliefApplicationOut):
    purpose: str
    phone: str  # masked
    documents: list[str]
    flags: list[FlagOut]
    matches: list[MatchOut]


class ApplicationPageOut(Schema):
    count: int
    results: list[ReliefApplicationOut]


class ApplicationQuery(Schema):
    status: str | None = None
    flagged: bool = False
    limit: int = 100
    offset: int = 0


def _application_out(a: Application, open_flags: int) -> dict:
    applicant = a.applicant
    return {
        "id": a.pk,
        "reference": a.reference,
        "fund_code": a.fund.code,
        "applicant_kind": applicant.kind,
        "applicant_code": applicant.masked_code,
        "applicant_name": applicant.name,
        "sector": applicant.sector,
        "district_code": a.district.code if a.district_id else None,
        "need": a.need,
        "amount_yuan": a.amount_fen / 100,
        "status": a.status,
        "reasons": a.reasons,
        "open_flags": open_flags,
    }


def _match_out(m: Match) -> dict:
    p = m.product
    return {
        "id": m.pk,
        "rank": m.rank,
        "bank_code": m.bank.code,
        "product_code": p.code,
        "product_name": p.name,
        "rate": m.rate if m.rate is not None else p.rate,
        "term_months": m.term_months or p.term_months,
        "min_yuan": p.min_fen // 100,
        "max_yuan": p.max_fen // 100,
        "status": m.status,
        "amount_yuan": None if m.amount_fen is None else m.amount_fen / 100,
        "decided_on": m.decided_on,
        "disbursed_on": m.disbursed_on,
        "decline_reason": m.decline_reason,
    }


@router.get("/applications", response=ApplicationPageOut, summary="Applications I may see, newest first")
def application_list(request, query: Query[ApplicationQuery]):
    from django.db.models import Count, Q

    rows = visible_applications(request.user).select_related("applicant", "fund", "district")
    rows = rows.annotate(open_flags=Count("flags", filter=Q(flags__status=FlagStatus.OPEN)))
    if query.status:
        rows = rows.filter(status=query.status)
    if query.flagged:
        rows = rows.filter(open_flags__gt=0)
    page = list(rows.order_by("-submitted_at", "-id")[window(query.offset, query.limit, MAX_LIMIT)])
    log_reads(request.user, ReadAction.LIST, Applicant, [a.applicant_id for a in page])
    return {"count": rows.count(), "results": [_application_out(a, a.open_flags) for a in page]}


@router.get("/applications/{application_id}", response=ApplicationDetailOut, summary="One application")
def application_detail(request, application_id: int):
    application = get_application_or_404(request.user, pk=application_id)
    log_reads(request.user, ReadAction.API_VIEW, Applicant, [application.applicant_id])
    flags = list(application.flags.all())
    body = _application_out(application, sum(1 for f in flags if f.status == FlagStatus.OPEN))
    return body | {
        "purpose": application.purpose,
        "phone": application.applicant.masked_phone,
        "documents": sorted(application.documents.values_list("kind", flat=True)),
        "flags": [{"id": f.pk, "kind": f.kind, "detail": f.detail, "status": f.status, "note": f.note} for f in flags],
        "matches": [_match_out(m) for m in matches_seen_by(request.user, application)],
    }


class LoanDecisionIn(Schema):
    product_code: str
    decision: str  # approve or decline
    amount_yuan: Decimal | None = None
    rate: Decimal | None = None
    term_months: int | None = None
    decided_on: dt.date | None = None
    disbursed_on: dt.date | None = None
    reason: str = ""


@router.post("/applications/{application_id}/decisions", response=MatchOut, summary="My bank's decision")
def decide(request, application_id: int, payload: LoanDecisionIn):
    _require(request, DECIDE)
    application = get_application_or_404(request.user, pk=application_id)
    match = (
        Match.objects.filter(
            application=application, bank_id__in=bank_ids_of(request.user), product__code=payload.product_code
        )
        .select_related("application")
        .first()
    )
    if match is None:
        raise HttpError(404, "no such product of your bank on this application's shortlist")
    amount = None if payload.amount_yuan is None else int((payload.amount_yuan * 100).to_integral_value())
    try:
        decided = do_decide(
            match,
            payload.decision,
            request.user,
            amount_fen=amount,
            rate=payload.rate,
            term_months=payload.term_months,
            decided_on=payload.decided_on,
            disbursed_on=payload.disbursed_on,
            reason=payload.reason,
        )
    except ReliefError as exc:
        raise HttpError(400, f"{exc.code}: {exc}") from exc
    return _match_out(Match.objects.select_related("product", "bank").get(pk=decided.pk))


class ReliefCountsOut(Schema):
    counts: dict[str, int]


@router.post("/screen", response=ReliefCountsOut, summary="Screen every submitted application")
def screen(request):
    _require(request, REVIEW)
    return {"counts": do_screen_all(request.user)}


@router.post("/match", response=ReliefCountsOut, summary="Shortlist every eligible application without open flags")
def match(request):
    _require(request, REVIEW)
    return {"counts": {"matched": do_match_all(request.user)}}


class ClearIn(Schema):
    note: str


@router.post("/flags/{flag_id}/clear", response=FlagOut, summary="Clear a fraud flag with a note")
def clear_flag(request, flag_id: int, payload: ClearIn):
    _require(request, REVIEW)
    flag = get_object_or_404(Flag, pk=flag_id, application__in=visible_applications(request.user))
    try:
        flag = do_clear_flag(flag, request.user, payload.note)
    except ReliefError as exc:
        raise HttpError(400, f"{exc.code}: {exc}") from exc
    return {"id": flag.pk, "kind": flag.kind, "detail": flag.detail, "status": flag.status, "note": flag.note}


class TotalRow(Schema):
    key: str | None
    name: str | None
    count: int
    yuan: float


class TotalsOut(Schema):
    count: int
    yuan: float
    by_bank: list[TotalRow]
    by_district: list[TotalRow]
    by_sector: list[TotalRow]


def _rows(rows: list[dict], key: str, name: str | None) -> list[dict]:
    return [
        {"key": r[key], "name": r[name] if name else r[key], "count": r["count"], "yuan": (r["fen"] or 0) / 100}
        for r in rows
    ]


@router.get("/totals", response=TotalsOut, summary="Loans disbursed by bank, district and sector")
def totals_view(request):
    found = totals(request.user)
    return {
        "count": found["overall"]["count"],
        "yuan": (found["overall"]["fen"] or 0) / 100,
        "by_bank": _rows(found["by_bank"], "bank__code", "bank__name"),
        "by_district": _rows(found["by_district"], "application__district__code", "application__district__name"),
        "by_sector": _rows(found["by_sector"], "application__applicant__sector", None),
    }
