"""Key-group visits (issue #7 item 3): when each resident on a care ledger is next due, recording a
visit, and turning overdue visits into tasks.

The schedule is derived, never stored: a resident's next visit is due ``interval`` days after the
last visit, or after the earliest membership start (``since``, else the day the membership was
recorded) when never visited; ``interval`` is the shortest of the policy's ``care_visit_days`` over
the resident's groups. One SQL expression (:func:`schedule`) computes it for the lists, the ledgers,
the daily task run and the command, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, Exists, F, IntegerField, Min, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from care.choices import VISITED_GROUPS, Need, VisitKind, Wellbeing
from care.models import NEEDS_SEPARATOR, CareVisit
from care.sql import EPOCH, DayNumber
from core.policy import policy
from core.scoping import restrict
from people.models import PLACE_COLUMNS, KeyGroupMembership, Resident
from people.services import NODE_FIELDS

DUE_SOON_DAYS = 3  # the visits page lists what falls due within this many days, besides the overdue


def visit_days(at: dt.datetime | None = None) -> dict[str, int]:
    """Days between visits per visited group, from the policy in force (groups it leaves out are not
    visited on a schedule)."""
    table = policy(at).care_visit_days
    return {group: int(table[group]) for group in VISITED_GROUPS if group in table}


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def from_day_number(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=n)


def _last_visit() -> Subquery:
    return Subquery(
        CareVisit.objects.filter(resident_id=OuterRef("resident_id")).order_by("-visited_at").values("visited_at")[:1]
    )


def schedule(
    user=None,
    *,
    group: str | None = None,
    node: tuple[str, int] | None = None,
    within: dict[str, int] | None = None,
    days: dict[str, int] | None = None,
) -> QuerySet:
    """One row per resident on a visited ledger (in ``user``'s jurisdiction when given; a group, a
    node or place columns ``within`` narrow it): ``resident_id``, ``interval`` (days),
    ``last_visit_at`` and ``due_day``, the due date as a day number (:func:`from_day_number`).
    Filter and order on ``due_day`` in SQL.

    ``group`` keeps the residents on that ledger but their interval still comes from all their
    groups: someone on two ledgers is visited as often as the stricter one asks."""
    days = days if days is not None else visit_days()
    members = KeyGroupMembership.objects.filter(group__in=list(days))
    if user is not None:
        members = restrict(user, members)
    if node is not None:
        members = members.filter(**{NODE_FIELDS[node[0]]: node[1]})
    if within:
        if set(within) - set(PLACE_COLUMNS):
            raise ValueError(f"within takes place columns only: {', '.join(PLACE_COLUMNS)}")
        members = members.filter(**within)
    if group is not None:
        members = members.filter(resident_id__in=KeyGroupMembership.objects.filter(group=group).values("resident_id"))
    interval = Case(*(When(group=g, then=Value(n)) for g, n in days.items()), output_field=IntegerField())
    start = Coalesce("since", TruncDate("created_at"))
    return (
        members.values("resident_id")
        .annotate(interval=Min(interval), start=Min(start), last_visit_at=_last_visit())
        .annotate(due_day=DayNumber(Coalesce(TruncDate("last_visit_at"), F("start"))) + F("interval"))
        .order_by()
    )


def due_rows(user, *, today: dt.date | None = None, group=None, node=None, overdue_only: bool = False) -> QuerySet:
    """The visits due within :data:`DUE_SOON_DAYS` or overdue, most overdue first."""
    today = today or timezone.localdate()
    horizon = day_number(today) - 1 if overdue_only else day_number(today) + DUE_SOON_DAYS
    return schedule(user, group=group, node=node).filter(due_day__lte=horizon).order_by("due_day", "resident_id")


@dataclass(frozen=True)
class Due:
    """A resident's place in the schedule, as the pages show it."""

    due_on: dt.date
    last_visit_at: dt.datetime | None
    interval: int
    days_overdue: int


def as_due(row: dict, today: dt.date | None = None) -> Due:
    today = today or timezone.localdate()
    return Due(
        due_on=from_day_number(row["due_day"]),
        last_visit_at=row["last_visit_at"],
        interval=row["interval"],
        days_overdue=max(day_number(today) - row["due_day"], 0),
    )


def with_visit_columns(residents: QuerySet) -> QuerySet:
    """Residents with their last visit (time and needs) and next due day annotated, as subqueries
    of the same query: for the ledgers, which show them beside every person."""
    last = CareVisit.objects.filter(resident_id=OuterRef("pk")).order_by("-visited_at")
    return residents.annotate(
        care_last_visit_at=Subquery(last.values("visited_at")[:1]),
        care_last_needs=Subquery(last.values("needs")[:1]),
        care_due_day=Subquery(schedule().filter(resident_id=OuterRef("pk")).values("due_day")[:1]),
    )


# --- recording a visit ---------------------------------------------------------------------------


class VisitError(ValueError):
    """A visit that cannot be recorded as given."""


def do_record_visit(
    resident: Resident,
    *,
    by,
    kind: str,
    wellbeing: str,
    needs: Iterable[str] = (),
    note: str = "",
    visited_at: dt.datetime | None = None,
) -> CareVisit:
    """Record a visit and close the resident's open care_visit tasks with it (as fed back by the
    system, with the visit's outcome): the visit is the task's work, nobody need close it twice."""
    from tasks.choices import TaskType
    from tasks.flow import OPEN
    from tasks.models import Task
    from tasks.services import do_complete_many

    now = timezone.now()
    visited_at = visited_at or now
    if visited_at > now + dt.timedelta(minutes=5):
        raise VisitError(_("A visit cannot be in the future."))
    if kind not in VisitKind.values:
        raise VisitError(_("Unknown kind of visit."))
    if wellbeing not in Wellbeing.values:
        raise VisitError(_("Say how the person was."))
    chosen = set(needs)
    if chosen - set(Need.values):
        raise VisitError(_("Unknown need."))
    visit = CareVisit(
        resident=resident,
        visited_at=visited_at,
        visited_by=by if getattr(by, "is_authenticated", False) else None,
        kind=kind,
        wellbeing=wellbeing,
        needs=NEEDS_SEPARATOR.join(n for n in Need.values if n in chosen),
        note=note.strip(),
        recorded_at=now,
    )
    visit.copy_place(resident)
    open_tasks = list(
        Task.objects.filter(resident=resident, task_type=TaskType.CARE_VISIT, status__in=OPEN)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        if open_tasks:
            visit.task_id = open_tasks[0]
        visit.save()
        if open_tasks:
            feedback = _("Visited on %(date)s (%(kind)s): %(wellbeing)s") % {
                "date": timezone.localtime(visited_at).strftime("%Y-%m-%d %H:%M"),
                "kind": VisitKind(kind).label,
                "wellbeing": Wellbeing(wellbeing).label,
            }
            do_complete_many(dict.fromkeys(open_tasks, feedback))
    return visit


# --- overdue visits become tasks -----------------------------------------------------------------


def overdue_rows(today: dt.date | None = None, **within: int) -> QuerySet:
    """Residents whose visit is overdue (due before today) and who have no open care_visit task."""
    from tasks.choices import TaskType
    from tasks.flow import OPEN
    from tasks.models import Task

    today = today or timezone.localdate()
    rows = schedule(within=within).filter(due_day__lt=day_number(today))
    open_task = Task.objects.filter(resident_id=OuterRef("resident_id"), task_type=TaskType.CARE_VISIT, status__in=OPEN)
    return rows.filter(~Exists(open_task))


def do_open_overdue_visits(today: dt.date | None = None, by=None, **within: int) -> int:
    """One care_visit task per resident whose visit is overdue, for the grid worker answerable,
    opened set-based (tasks.services.do_open_many). The key ``care_visit:<resident>:<due date>``
    makes a re-run open nothing twice; a visit moves the due date, so the next lapse opens a new
    task. ``within`` narrows by place column (``community_id=…``). Returns how many were opened."""
    from people.identity import mask_name
    from tasks.services import NewTask, do_open_many

    rows = (
        overdue_rows(today, **within).annotate(name=Min("resident__name")).values_list("resident_id", "due_day", "name")
    )
    tasks = []
    for resident_id, due_day, name in rows:
        due_on = from_day_number(due_day).isoformat()
        tasks.append(
            NewTask(
                resident_id,
                _("Key-group visit overdue since %(date)s: %(name)s") % {"date": due_on, "name": mask_name(name)},
                f"care_visit:{resident_id}:{due_on}",
            )
        )
    return do_open_many("care_visit", tasks, subject="resident", source="care.visits", opened_by=by)
