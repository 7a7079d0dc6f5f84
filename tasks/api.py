"""Task API: list (scoped, filtered), detail with history and allowed moves, transitions,
assignment, bulk actions, and the caller's notifications. Auth is global (linli.api); every task is
fetched through core.scoping, so out-of-scope tasks answer 404 like missing ones."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError

from core.audit import log_reads
from core.choices import ReadAction
from core.paging import RowId, window
from core.scoping import get_scoped_or_404
from people.models import Resident
from tasks import services
from tasks.choices import TaskStatus
from tasks.filters import TaskFilter, resolve_assignee, task_queryset
from tasks.flow import TransitionError
from tasks.models import Notification, Task

router = Router(tags=["tasks"])
MAX_LIMIT = 500


class TaskOut(Schema):
    id: int
    task_type: str
    title: str
    status: str
    subject_kind: str
    subject_id: int | None
    subject: str
    district_id: int | None
    street_id: int | None
    community_id: int | None
    grid_id: int | None
    compound_id: int | None
    building_id: int | None
    assignee_id: int | None
    assignee: str | None
    assigned_level: str
    escalation_level: int
    opened_at: dt.datetime
    due_at: dt.datetime
    escalated_at: dt.datetime | None
    closed_at: dt.datetime | None
    overdue: bool
    source: str


class EventOut(Schema):
    at: dt.datetime
    user: str | None
    action: str
    from_status: str
    to_status: str
    assignee: str | None
    level: str
    note: str


class TaskDetailOut(TaskOut):
    detail: str
    feedback: str
    evaluation: str
    dedupe_key: str
    events: list[EventOut]
    moves: list[str]


class TaskPageOut(Schema):
    count: int
    results: list[TaskOut]


class TaskTransitionIn(Schema):
    to: str
    note: str = ""
    feedback: str = ""
    evaluation: str = ""


class AssignIn(Schema):
    assignee: str  # user id or user name
    note: str = ""


class BulkIn(Schema):
    action: Literal["assign", "reassign", "close"]
    ids: list[RowId]
    assignee: str = ""
    note: str = ""


class BulkOut(Schema):
    done: int
    skipped: int


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    task_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class ReadIn(Schema):
    ids: list[RowId] = []
    all: bool = False


def _name(user) -> str | None:
    return (user.get_full_name() or user.username) if user is not None else None


def _subject_text(task: Task) -> str:
    subject = task.subject
    if subject is None:
        return ""
    if isinstance(subject, Resident):
        return f"{subject.name} {subject.masked_id_number}"
    return str(subject)


def _out(task: Task, now: dt.datetime) -> dict:
    subject = task.subject
    return {
        **{
            name: getattr(task, name)
            for name in (
                "id",
                "task_type",
                "title",
                "status",
                "subject_kind",
                "district_id",
                "street_id",
                "community_id",
                "grid_id",
                "compound_id",
                "building_id",
                "assignee_id",
                "assigned_level",
                "escalation_level",
                "opened_at",
                "due_at",
                "escalated_at",
                "closed_at",
                "source",
            )
        },
        "subject_id": subject.pk if subject is not None else None,
        "subject": _subject_text(task),
        "assignee": _name(task.assignee) if task.assignee_id else None,
        "overdue": task.is_overdue(now),
    }


def _detail(request, task: Task) -> dict:
    events = task.events.select_related("user", "assignee").order_by("at", "id")
    return {
        **_out(task, timezone.now()),
        "detail": task.detail,
        "feedback": task.feedback,
        "evaluation": task.evaluation,
        "dedupe_key": task.dedupe_key,
        "events": [
            {
                "at": e.at,
                "user": _name(e.user) if e.user_id else None,
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "assignee": _name(e.assignee) if e.assignee_id else None,
                "level": e.level,
                "note": e.note,
            }
            for e in events
        ],
        "moves": services.moves_for(request.user, task),
    }


def _get(request, task_id: int) -> Task:
    return get_scoped_or_404(request.user, task_queryset(request.user), pk=task_id)


@router.get("", response=TaskPageOut)
def list_tasks(
    request,
    type: str = "",
    status: str = "open",
    overdue: bool = False,
    assignee: str = "",
    offset: int = 0,
    limit: int = 100,
):
    """Tasks in the caller's jurisdiction, earliest deadline first. ``status``: a status, or open,
    active, all; ``assignee``: me, none."""
    now = timezone.now()
    f = TaskFilter.from_params({"type": type, "status": status, "overdue": overdue, "assignee": assignee})
    qs = f.apply(task_queryset(request.user), request.user, now).order_by("due_at", "id")
    offset = max(0, offset)
    rows = list(qs[window(offset, limit, MAX_LIMIT)])
    residents = sorted({t.resident_id for t in rows if t.resident_id})
    if residents:
        log_reads(request.user, ReadAction.LIST, Resident, residents)
    return {"count": qs.count(), "results": [_out(t, now) for t in rows]}


@router.get("/notifications", response=list[NotificationOut])
def my_notifications(request, unread: bool = False, offset: int = 0, limit: int = 100):
    qs = Notification.objects.filter(user=request.user).order_by("-created_at", "-id")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return list(qs[window(offset, limit, MAX_LIMIT)])


@router.post("/notifications/read", response=dict)
def read_notifications(request, payload: ReadIn):
    qs = Notification.objects.filter(user=request.user, read_at__isnull=True)
    if not payload.all:
        qs = qs.filter(pk__in=payload.ids)
    return {"read": qs.update(read_at=timezone.now())}


@router.post("/bulk", response=BulkOut)
def bulk(request, payload: BulkIn):
    if not services.can_manage(request.user):
        raise HttpError(403, "tasks.manage_task permission required")
    if payload.action == "close":
        return services.do_bulk_close(payload.ids, request.user, payload.note).as_dict()
    assignee = resolve_assignee(payload.assignee)
    if assignee is None:
        raise HttpError(400, "unknown assignee")
    do = services.do_bulk_assign if payload.action == "assign" else services.do_bulk_reassign
    return do(payload.ids, assignee, request.user, payload.note).as_dict()


@router.get("/{task_id}", response=TaskDetailOut)
def get_task(request, task_id: int):
    task = _get(request, task_id)
    if task.resident_id:
        log_reads(request.user, ReadAction.API_VIEW, Resident, [task.resident_id])
    return _detail(request, task)


@router.post("/{task_id}/transition", response=TaskDetailOut)
def transition(request, task_id: int, payload: TaskTransitionIn):
    """Move the task to ``to`` (one of the detail's ``moves``); 409 when the flow refuses."""
    task = _get(request, task_id)
    if payload.to not in TaskStatus.values:
        raise HttpError(400, "unknown status")
    if payload.to not in services.moves_for(request.user, task):
        raise HttpError(403, f"you may not move this task to {payload.to}")
    try:
        if payload.to == TaskStatus.FED_BACK:
            services.do_feed_back(task, request.user, payload.feedback, payload.note)
        elif payload.to == TaskStatus.EVALUATED:
            services.do_evaluate(task, request.user, payload.evaluation, payload.note)
        elif payload.to == TaskStatus.HANDLING and task.status == TaskStatus.FED_BACK:
            services.do_send_back(task, request.user, payload.note)
        else:
            services.do_transition(task, payload.to, request.user, payload.note)
    except TransitionError as exc:
        raise HttpError(409, str(exc)) from exc
    return _detail(request, _get(request, task_id))


@router.post("/{task_id}/assign", response=TaskDetailOut)
def assign(request, task_id: int, payload: AssignIn):
    if not services.can_manage(request.user):
        raise HttpError(403, "tasks.manage_task permission required")
    task = _get(request, task_id)
    assignee = resolve_assignee(payload.assignee)
    if assignee is None:
        raise HttpError(400, "unknown assignee")
    try:
        services.do_assign(task, assignee, request.user, payload.note)
    except TransitionError as exc:
        raise HttpError(409, str(exc)) from exc
    return _detail(request, _get(request, task_id))
