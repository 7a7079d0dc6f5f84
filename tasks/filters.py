"""Task list filters and read-side queries shared by the pages and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils import timezone

from core.scoping import jurisdiction_of, restrict
from geo.models import Building, Compound, Division
from geo.services import active_assignments
from tasks.choices import TaskStatus, TaskType
from tasks.flow import ACTIVE, DONE, OPEN
from tasks.models import Task

STATUS_GROUPS = ("open", "active", "all")
SLA_LEVELS = ("district", "street", "community", "grid")
SLA_ROWS_PER_LEVEL = 100


def task_queryset(user) -> QuerySet:
    """Tasks in the user's jurisdiction with what a list row shows, in one query."""
    return restrict(user, Task.objects.all()).select_related(
        "resident",
        "household__building__compound",
        "subject_building__compound",
        "subject_compound",
        "venue",
        "subject_division",
        "subject_facility",
        "assignee",
        "grid",
    )


@dataclass
class TaskFilter:
    """``status`` is a status, or "open" (default), "active" (waiting for the assignee) or "all";
    ``assignee`` is "me", "none" or "" (anyone)."""

    task_type: str = ""
    status: str = "open"
    overdue: bool = False
    assignee: str = ""

    @classmethod
    def from_params(cls, params) -> TaskFilter:
        task_type = params.get("type", "")
        status = params.get("status", "") or "open"
        assignee = params.get("assignee", "")
        return cls(
            task_type=task_type if task_type in TaskType.values else "",
            status=status if status in STATUS_GROUPS or status in TaskStatus.values else "open",
            overdue=str(params.get("overdue", "")).lower() in {"1", "true", "on", "yes"},
            assignee=assignee if assignee in {"me", "none"} else "",
        )

    def apply(self, qs: QuerySet, user, now: dt.datetime | None = None) -> QuerySet:
        now = now or timezone.now()
        if self.task_type:
            qs = qs.filter(task_type=self.task_type)
        if self.status == "open":
            qs = qs.filter(status__in=OPEN)
        elif self.status == "active":
            qs = qs.filter(status__in=ACTIVE)
        elif self.status != "all":
            qs = qs.filter(status=self.status)
        if self.overdue:
            qs = qs.filter(status__in=ACTIVE, due_at__lt=now)
        if self.assignee == "me":
            qs = qs.filter(assignee=user)
        elif self.assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        return qs


def my_open_tasks(user) -> QuerySet:
    """Assigned to the user; open unless a TaskFilter narrows the status (TaskFilter.apply)."""
    return task_queryset(user).filter(assignee=user).order_by("due_at", "id")


def staff_in_scope(user, limit: int = 300) -> list:
    """Staff assigned anywhere inside the user's jurisdiction (who tasks can be given to), by name."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.is_empty():
        return []
    assignments = active_assignments()
    if not jurisdiction.everything:
        assignments = assignments.filter(
            Q(division__in=restrict(user, Division.objects.all()))
            | Q(compound__in=restrict(user, Compound.objects.all()))
            | Q(building__in=restrict(user, Building.objects.all()))
        )
    users = get_user_model().objects.filter(is_active=True, pk__in=assignments.values("user_id")).order_by("username")
    return list(users[:limit])


def resolve_assignee(value) -> object | None:
    """A user by id or username (forms and the API accept either)."""
    if value in (None, ""):
        return None
    users = get_user_model().objects.filter(is_active=True)
    text = str(value).strip()
    if text.isdigit():
        return users.filter(pk=int(text)).first() or users.filter(username=text).first()
    return users.filter(username=text).first()


def sla_table(user, now: dt.datetime | None = None) -> list[dict]:
    """Per level, the divisions inside the user's jurisdiction with their task figures.

    One aggregate query per level (open, overdue, closed in the last 7 days, average hours to close
    over those) plus one for the names; no per-row queries.
    """
    now = now or timezone.now()
    week_ago = now - dt.timedelta(days=7)
    tasks = restrict(user, Task.objects.all())
    visible = restrict(user, Division.objects.all())
    sections = []
    names: set[int] = set()
    for level in SLA_LEVELS:
        column = f"{level}_id"
        rows = list(
            tasks.filter(**{f"{level}__in": visible.filter(level=level).values("pk")})
            .values(column)
            .annotate(
                open=Count("id", filter=Q(status__in=OPEN)),
                overdue=Count("id", filter=Q(status__in=ACTIVE, due_at__lt=now)),
                closed_7d=Count("id", filter=Q(status__in=DONE, closed_at__gte=week_ago)),
                time_to_close=Avg(F("closed_at") - F("opened_at"), filter=Q(status__in=DONE, closed_at__gte=week_ago)),
            )
            .order_by("-overdue", "-open", column)[:SLA_ROWS_PER_LEVEL]
        )
        for row in rows:
            row["node_id"] = row.pop(column)
            duration = row.pop("time_to_close")
            row["avg_hours"] = round(duration.total_seconds() / 3600, 1) if duration is not None else None
            names.add(row["node_id"])
        sections.append({"level": level, "rows": rows})
    nodes = Division.objects.in_bulk(list(names)) if names else {}
    for section in sections:
        for row in section["rows"]:
            row["node"] = nodes.get(row["node_id"])
    return sections


__all__ = [
    "TaskFilter",
    "my_open_tasks",
    "resolve_assignee",
    "sla_table",
    "staff_in_scope",
    "task_queryset",
]
