"""Tracing API: the caller's containments with their 24-hour clocks, and one containment's board
and contacts (masked identity numbers, read-logged). Out-of-scope containments answer 404."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from core.audit import log_reads
from core.choices import ReadAction
from core.paging import window
from core.scoping import get_scoped_or_404, restrict
from people.identity import mask_id_number
from people.models import Resident
from tracing import board as boards
from tracing.models import Containment, ContainmentState

router = Router(tags=["tracing"])
MAX_LIMIT = 200


class StepOut(Schema):
    label: str
    total: int
    done: int
    overdue: int
    owners: list[str]


class ContainmentOut(Schema):
    id: int
    case_id_number: str  # masked
    category: str
    state: str
    started_at: dt.datetime
    due_at: dt.datetime
    seconds_left: int
    at_risk: bool
    close_contacts: int
    secondary_contacts: int
    venues: int
    steps: list[StepOut]


class ContactOut(Schema):
    degree: int
    id_number: str  # masked
    via: str  # masked
    first_exposure: dt.datetime
    reasons: list[dict]


class ContainmentDetailOut(ContainmentOut):
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    window_rule: str
    contacts: list[ContactOut]


class ContainmentPageOut(Schema):
    count: int
    results: list[ContainmentOut]


def _out(containment: Containment) -> dict:
    board = boards.board(containment)
    return {
        "id": containment.pk,
        "case_id_number": mask_id_number(containment.case.id_number),
        "category": containment.category,
        "state": containment.state,
        "started_at": containment.started_at,
        "due_at": containment.due_at,
        "seconds_left": board.seconds_left,
        "at_risk": board.at_risk,
        "close_contacts": containment.close_count,
        "secondary_contacts": containment.secondary_count,
        "venues": containment.venue_count,
        "steps": [s.__dict__ for s in board.steps],
    }


@router.get("/containments", response=ContainmentPageOut)
def list_containments(request, state: ContainmentState = ContainmentState.OPEN, offset: int = 0, limit: int = 50):
    qs = restrict(request.user, Containment.objects.filter(state=state)).select_related("case").order_by("due_at")
    page = list(qs[window(offset, limit, MAX_LIMIT)])
    log_reads(request.user, ReadAction.API_VIEW, Resident, [c.case_id for c in page])
    return {"count": qs.count(), "results": [_out(c) for c in page]}


@router.get("/containments/{containment_id}", response=ContainmentDetailOut)
def get_containment(request, containment_id: int):
    containment = get_scoped_or_404(request.user, Containment.objects.select_related("case"), pk=containment_id)
    contacts = list(containment.contacts.all()[:5000])
    log_reads(
        request.user,
        ReadAction.API_VIEW,
        Resident,
        [containment.case_id, *(c.person_id for c in contacts if c.person_id)],
    )
    return {
        **_out(containment),
        "window_start": containment.window_start,
        "window_end": containment.window_end,
        "window_rule": containment.window_rule,
        "contacts": [
            {
                "degree": c.degree,
                "id_number": mask_id_number(c.id_number),
                "via": mask_id_number(c.via_id_number) if c.via_id_number else "",
                "first_exposure": c.first_exposure,
                "reasons": c.reasons,
            }
            for c in contacts
        ],
    }
