"""The 24-hour board: every step of a containment, who owns it and the time left (domain.md §4).

A containment is sealed when its investigation, every contact's notify/transfer/test task and every
venue's disinfection are done. It is *at risk* while open with less than a quarter of its time left
(or past due) and steps still open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from tasks.flow import DONE
from tasks.models import Task
from tracing.models import Containment, ContainmentState, Degree

AT_RISK_SHARE = 0.25


def containment_tasks(containment: Containment):
    """The investigation of the case, the contacts' lists per building, the venues' disinfection."""
    return Task.objects.filter(
        Q(dedupe_key=f"cases:{containment.case_id}:{containment.episode}:investigate")
        | Q(source=f"containment:{containment.pk}")
    )


@dataclass
class Step:
    label: str
    total: int
    done: int
    overdue: int
    owners: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.total == self.done


@dataclass
class Board:
    containment: Containment
    steps: list[Step]
    seconds_left: int
    at_risk: bool

    @property
    def done(self) -> int:
        return sum(s.done for s in self.steps)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.steps)


def board(containment: Containment, now: dt.datetime | None = None) -> Board:
    from django.utils.translation import gettext as _

    now = now or timezone.now()
    tasks = containment_tasks(containment).select_related("assignee")
    by_type: dict[str, list[Task]] = {}
    for task in tasks:
        by_type.setdefault(task.task_type, []).append(task)
    labels = {
        "investigate": _("Investigation of the case"),
        "notify": _("Contact lists notified"),
        "transfer": _("Close contacts moved to observation"),
        "test": _("Close contacts tested"),
        "disinfect": _("Venues disinfected"),
    }
    steps = [
        Step(
            _("Contacts traced"),
            1,
            1 if containment.traced_at else 0,
            0,
        )
    ]
    for task_type, label in labels.items():
        items = by_type.get(task_type, [])
        owners = sorted({t.assignee.get_username() for t in items if t.assignee_id})
        steps.append(
            Step(
                label,
                len(items),
                sum(t.status in DONE for t in items),
                sum(t.status not in DONE and t.due_at < now for t in items),
                owners[:5],
            )
        )
    left = int((containment.due_at - now).total_seconds())
    total_seconds = max(1, int((containment.due_at - containment.started_at).total_seconds()))
    unfinished = any(not s.complete for s in steps)
    at_risk = containment.state == ContainmentState.OPEN and unfinished and left < AT_RISK_SHARE * total_seconds
    return Board(containment, steps, left, at_risk)


def seal_finished_containments(now: dt.datetime | None = None) -> int:
    """Open containments whose steps are all done become sealed (the time is recorded)."""
    now = now or timezone.now()
    sealed = 0
    for containment in Containment.objects.filter(state=ContainmentState.OPEN, traced_at__isnull=False):
        pending = containment_tasks(containment).exclude(status__in=DONE).exists()
        if not pending:
            containment.state, containment.sealed_at = ContainmentState.SEALED, now
            containment.save(update_fields=["state", "sealed_at", "updated_at"])
            sealed += 1
    return sealed


def summary(queryset) -> dict[str, int]:
    counts = queryset.aggregate(
        open=Count("pk", filter=Q(state=ContainmentState.OPEN)),
        sealed=Count("pk", filter=Q(state=ContainmentState.SEALED)),
        close=Count("contacts", filter=Q(contacts__degree=Degree.CLOSE)),
    )
    return {k: v or 0 for k, v in counts.items()}
