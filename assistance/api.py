"""The help-requests API (/api/help/): staff and systems list, file, read and close requests, and read
the counts. Requests are scoped to the caller's jurisdiction (out of scope answers 404, like a
missing one); every request shown writes the read log. Civic apps use the Open311 endpoints
(assistance.open311) instead, which call the same actions."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema
from ninja.errors import HttpError

from assistance import counts as help_counts
from assistance.choices import HelpChannel
from assistance.models import HelpRequest
from assistance.services import Ask, HelpRequestError, do_ask, do_resolve, progress, visible_to
from assistance.views import node_in_scope
from core.audit import log_reads
from core.choices import ReadAction
from core.middleware import client_ip
from core.moments import local_bounds
from core.scoping import get_scoped_or_404
from people.identity import mask_phone
from people.models import Resident
from people.services import parse_node
from tasks.services import can_manage

router = Router(tags=["help"])
MAX_LISTED = 500


class HelpRequestOut(Schema):
    id: int
    reference: str
    category: str
    text: str
    stage: str
    progress: str
    progress_label: str
    channel: str
    phone: str  # masked
    resident: int | None
    community: int | None
    grid: int | None
    building: int | None
    created_at: dt.datetime
    task: int | None
    assignee: str | None
    due_at: dt.datetime | None
    closed_at: dt.datetime | None
    rating: int | None


class HelpRequestIn(Schema):
    category: str
    text: str
    phone: str
    contact_name: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None


class ResolveIn(Schema):
    feedback: str


class ErrorOut(Schema):
    code: str
    detail: str


def _out(item: HelpRequest) -> dict:
    key, label = progress(item)
    task = item.task
    return {
        "id": item.pk,
        "reference": item.reference,
        "category": item.category,
        "text": item.text,
        "stage": item.stage,
        "progress": key,
        "progress_label": label,
        "channel": item.channel,
        "phone": mask_phone(item.phone),
        "resident": item.resident_id,
        "community": item.community_id,
        "grid": item.grid_id,
        "building": item.building_id,
        "created_at": item.created_at,
        "task": item.task_id,
        "assignee": task.assignee.get_username() if task and task.assignee_id else None,
        "due_at": task.due_at if task else None,
        "closed_at": task.closed_at if task else None,
        "rating": item.rating,
    }


def _scoped(request):
    return visible_to(request.user).select_related("task", "task__assignee")


@router.get("/requests", response=list[HelpRequestOut])
def list_requests(request, stage: str = "", category: str = "", since: dt.datetime | None = None, limit: int = 100):
    qs = _scoped(request)
    if stage:
        qs = qs.filter(stage=stage)
    if category:
        qs = qs.filter(category=category)
    if since:
        # an offset beyond ±14 h is no time zone: PostgreSQL refuses it (found by Schemathesis)
        offset = since.utcoffset()
        if offset is not None and abs(offset) > dt.timedelta(hours=14):
            raise HttpError(422, "since: the time zone offset must be within ±14 hours")
        qs = qs.filter(created_at__gte=since)
    items = list(qs.order_by("-created_at", "-id")[: max(1, min(limit, MAX_LISTED))])
    log_reads(request.user, ReadAction.API_VIEW, Resident, [i.resident_id for i in items if i.resident_id])
    return [_out(i) for i in items]


@router.post("/requests", response={201: HelpRequestOut, 400: ErrorOut, 429: ErrorOut})
def create_request(request, payload: HelpRequestIn):
    """A request taken by staff or sent by a system on a resident's behalf (channel ``staff``)."""
    try:
        item = do_ask(
            Ask(
                category=payload.category,
                text=payload.text,
                phone=payload.phone,
                channel=HelpChannel.STAFF,
                contact_name=payload.contact_name,
                address=payload.address,
                lat=payload.lat,
                lon=payload.lon,
                ip=client_ip(request),
                taken_by=request.user,
            )
        )
    except HelpRequestError as exc:
        return (429 if exc.code == "rate_limited" else 400), {"code": exc.code, "detail": str(exc)}
    return 201, _out(HelpRequest.objects.select_related("task", "task__assignee").get(pk=item.pk))


@router.get("/requests/{request_id}", response=HelpRequestOut)
def get_request(request, request_id: int):
    item = get_scoped_or_404(request.user, _scoped(request), pk=request_id)
    if item.resident_id:
        log_reads(request.user, ReadAction.API_VIEW, Resident, [item.resident_id])
    return _out(item)


@router.post("/requests/{request_id}/resolve", response={200: HelpRequestOut, 400: ErrorOut})
def resolve_request(request, request_id: int, payload: ResolveIn):
    """Done: feedback and close, by the assignee or someone who manages tasks."""
    item = get_scoped_or_404(request.user, _scoped(request), pk=request_id)
    if item.task is None or not (item.task.assignee_id == request.user.pk or can_manage(request.user)):
        raise HttpError(403, "only the assignee or a task manager can close this request")
    try:
        do_resolve(item, request.user, payload.feedback)
    except (HelpRequestError, ValueError) as exc:
        return 400, {"code": getattr(exc, "code", "refused"), "detail": str(exc)}
    return 200, _out(HelpRequest.objects.select_related("task", "task__assignee").get(pk=item.pk))


class CountsQuery(Schema):
    node: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


@router.get("/counts")
def counts(request, query: Query[CountsQuery]):
    """The command centre's figures for a node (``community:12``; empty: the caller's jurisdiction)
    over [start, end] (local days; default the last 7)."""
    node = parse_node(query.node)
    node_in_scope(request.user, node)
    start, end = help_counts.default_period(query.start, query.end)
    if start > end:
        raise HttpError(400, "start is after end")
    figures = help_counts.help_figures(
        request.user, node[0] if node else None, node[1] if node else None, *local_bounds(start, end)
    )
    return {"node": query.node or None, "start": start, "end": end, **figures.as_dict()}
