"""The overdue sweep: late tasks go up the 包保 chain (domain.md §9; style.md: deadlines are indexed
columns, a recurring job sweeps what is overdue and escalates).

Set-based, whatever the number of tasks: a temporary table of one answerable person per staffed
node (tasks.routing.create_answerable_table), one INSERT … SELECT choosing for every late task the
nearest staffed level above its current one (grid → community → street → district → city; a task
at a building or compound goes to the grid first), then the change set of tasks.bulk writes the
events, the tasks and the notifications, and one summary row goes to the change log. Runs every 5 minutes as the job
``tasks.sweep_overdue`` (tasks.jobs).
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.audit import current_actor
from core.choices import ChangeAction
from core.imports.sql import execute, fetch, is_postgres
from core.policy import policy
from tasks import bulk
from tasks.choices import CHAIN, NotificationKind, TaskEventAction, TaskStatus
from tasks.flow import ACTIVE, sources_of
from tasks.routing import ANSWERABLE_TABLE, create_answerable_table, next_owner_sql


def overdue_where(alias: str = "t") -> str:
    """The sweep's predicate over tasks ``alias``; params: due cutoff (now), escalation cutoff."""
    active = ", ".join(f"'{s}'" for s in ACTIVE)
    below_top = ", ".join(f"'{lv}'" for lv in CHAIN[:-1])
    return (
        f"{alias}.status IN ({active}) AND {alias}.due_at < %s "
        f"AND ({alias}.escalated_at IS NULL OR {alias}.escalated_at <= %s) "
        f"AND {alias}.assigned_level IN ({below_top})"
    )


def _log_sweep(now: dt.datetime, escalated: int, by_level: dict) -> None:
    """One change-log row per sweep. Each escalated task has its TaskEvent (action "escalate", at
    ``now``) with the status, assignee and level it moved to: the per-task record of this system
    change (style.md lists "task escalated" in the domain event log). One before/after row per task
    as well would double the sweep's writes (measured: +5 to +10 s per 300,000 tasks)."""
    from core.models import ChangeLog

    ChangeLog.objects.create(
        at=now,
        user_id=None,
        source=current_actor().source,
        action=ChangeAction.UPDATE,
        model="tasks.task",
        object_id=None,
        object_repr=ngettext("Overdue sweep: %(n)d task escalated", "Overdue sweep: %(n)d tasks escalated", escalated)
        % {"n": escalated},
        before=None,
        after={"escalated": escalated, "by_level": by_level, "events": {"action": "escalate", "at": now.isoformat()}},
    )


def sweep_overdue(now: dt.datetime | None = None) -> dict:
    """Escalate every active task past its deadline, not escalated within the step, one level up.

    A task is given to the answerable person of the nearest level above its current one that has
    someone (escalation_level + 1, escalated_at = now, status dispatched where the transitions
    table allows it, a reported task stays reported for the new owner to register). Late tasks with
    nobody above them are counted as ``unassignable`` and left as they are. ``now`` lets tests and
    the benchmark travel in time.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    step = dt.timedelta(hours=float(policy(now).escalation_step_hours))
    levels = CHAIN[:-1]
    with transaction.atomic():
        if is_postgres():  # the change set's hash join stays in memory (300,000 rows ≈ 20 MB)
            execute("SET LOCAL work_mem = '64MB'")
        staffed = create_answerable_table(timezone.localdate(now))
        bulk.create_changeset()
        joins, user_expr, level_expr = next_owner_sql(levels)
        to_dispatched = ", ".join(f"'{s}'" for s in sources_of(TaskStatus.DISPATCHED) if s in ACTIVE)
        late = execute(
            f"INSERT INTO {bulk.CHANGESET} "
            "(task_id, from_status, to_status, from_user, to_user, from_level, to_level, from_escalation) "
            f"SELECT t.id, t.status, "
            f"CASE WHEN t.status IN ({to_dispatched}) THEN '{TaskStatus.DISPATCHED}' ELSE t.status END, "
            f"t.assignee_id, {user_expr}, t.assigned_level, {level_expr}, t.escalation_level "
            f"FROM {bulk.TASKS} t {joins} WHERE {overdue_where('t')}{bulk.lock_clause()}",
            [bulk.db_time(now), bulk.db_time(now - step)],
        )
        unassignable = bulk.drop_unroutable()
        escalated = bulk.apply_changeset(
            bulk.Change(
                action=TaskEventAction.ESCALATE,
                by_id=None,
                now=now,
                note=_("Past the deadline"),
                escalate=True,
                log_each=False,
                notify_kind=NotificationKind.ESCALATED,
                notify_unchanged=True,
                message=_("Escalated to you, past the deadline: "),
                digest=lambda n: (
                    ngettext("%(n)d overdue task escalated to you", "%(n)d overdue tasks escalated to you", n)
                    % {"n": n}
                ),
            )
        )
        by_level = dict(fetch(f"SELECT to_level, COUNT(*) FROM {bulk.CHANGESET} GROUP BY to_level"))
        bulk.drop_temporary_tables(bulk.CHANGESET, ANSWERABLE_TABLE)
        if escalated:
            _log_sweep(now, escalated, by_level)
    return {
        "late": late,
        "escalated": escalated,
        "unassignable": unassignable,
        "by_level": {level: by_level[level] for level in CHAIN if level in by_level},
        "staffed_nodes": staffed,
        "now": now.isoformat(),
        "seconds": round(time.perf_counter() - started, 3),
    }
