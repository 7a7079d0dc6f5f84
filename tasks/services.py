"""Task actions (the business operations views, the API, jobs and other apps call).

Open a task, assign it, move it through the GB/T 30428 flow (domain.md §9), feed back, verify and
close, evaluate, cancel; and the bulk versions. Every status change goes through
tasks.flow.TRANSITIONS: single actions lock the row (select_for_update) and write TaskEvent rows;
bulk actions go through the set-based change set of tasks.bulk. Actions do not check permissions —
views and the API do (:func:`moves_for`, :func:`can_manage`); the system calls them with by=None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.imports.sql import as_json, execute
from core.policy import policy
from core.scoping import restrict
from tasks import bulk
from tasks.choices import CHAIN, NotificationKind, TaskEvaluation, TaskEventAction, TaskStatus, TaskType
from tasks.flow import ACTIVE, DONE, TransitionError, allowed, check, path, sources_of
from tasks.models import Task, TaskEvent
from tasks.notify import notify
from tasks.routing import (
    ANSWERABLE_TABLE,
    OWNER_LEVEL,
    Owner,
    create_answerable_table,
    level_case_sql,
    level_of,
    owner_sql,
    resolve_owner,
)

S = TaskStatus
MANAGE_PERMISSION = "tasks.manage_task"

__all__ = [
    "BulkResult",
    "TransitionError",
    "can_manage",
    "do_assign",
    "do_bulk_assign",
    "do_bulk_close",
    "do_bulk_reassign",
    "do_cancel",
    "do_close",
    "do_comment",
    "do_complete_many",
    "do_evaluate",
    "do_feed_back",
    "do_open_many",
    "do_open_task",
    "do_send_back",
    "do_start",
    "do_transition",
    "moves_for",
]


def _user_id(user) -> int | None:
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


def _copy_into(source: Task, target: Task) -> Task:
    if target is not source:
        for field in Task._meta.concrete_fields:
            setattr(target, field.attname, getattr(source, field.attname))
    return target


# --- opening ---------------------------------------------------------------------------------------


def do_open_task(
    task_type: str,
    *,
    subject,
    title: str,
    detail: str = "",
    source: str = "",
    dedupe_key: str = "",
    opened_by=None,
    due_at: dt.datetime | None = None,
    owner_level: str | None = None,
    assignee=None,
) -> Task:
    """Open a task about ``subject`` (a Resident, Household, Building, Compound or Venue).

    The deadline is ``policy().deadline_hours(task_type)`` from now unless ``due_at`` is given. The
    assignee is the answerable person (包保) at the type's owner level (tasks.routing.OWNER_LEVEL, or
    ``owner_level``), else at the nearest level above that has one, unless ``assignee`` names someone
    (a specialist, e.g. the district's CDC epidemiologist, at ``owner_level``); the task then passes
    reported → registered → dispatched (one event each) and the assignee is notified. With nobody
    answerable up the whole chain it stays registered, unassigned. A non-empty ``dedupe_key`` that
    already exists returns the existing task instead of opening a second one.
    """
    if task_type not in TaskType.values:
        raise ValueError(f"unknown task type {task_type!r}")
    if owner_level is not None and owner_level not in CHAIN:
        raise ValueError(f"unknown level {owner_level!r}")
    if dedupe_key:
        existing = Task.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    now = timezone.now()
    task = Task(
        task_type=task_type,
        title=title[:200],
        detail=detail,
        source=source[:100],
        dedupe_key=dedupe_key[:200],
        opened_by_id=_user_id(opened_by),
        opened_at=now,
        due_at=due_at or now + dt.timedelta(hours=policy(now).deadline_hours(task_type)),
    )
    task.set_subject(subject)
    level = owner_level or OWNER_LEVEL[task_type]
    owner = Owner(assignee, level) if assignee is not None else resolve_owner(task, level)
    task.assignee, task.assigned_level = owner.user, owner.level
    final = S.DISPATCHED if owner.user is not None else S.REGISTERED
    steps = path(S.REPORTED, final)
    task.status = final
    by = _user_id(opened_by)
    try:
        with transaction.atomic():
            task.save()
            events = [TaskEvent(task=task, at=now, user_id=by, action=TaskEventAction.TRANSITION, to_status=S.REPORTED)]
            current = S.REPORTED
            for step in steps:
                check(current, step)
                action = TaskEventAction.ASSIGN if step == S.DISPATCHED else TaskEventAction.TRANSITION
                events.append(
                    TaskEvent(
                        task=task,
                        at=now,
                        user_id=by,
                        action=action,
                        from_status=current,
                        to_status=step,
                        assignee=task.assignee if action == TaskEventAction.ASSIGN else None,
                        level=task.assigned_level if action == TaskEventAction.ASSIGN else "",
                    )
                )
                current = step
            TaskEvent.objects.bulk_create(events)
            if owner.user is not None:
                notify(owner.user, _("New task: %(title)s") % {"title": task.title}, task, NotificationKind.ASSIGNED)
    except IntegrityError:
        if dedupe_key:  # opened by a concurrent run of the same rule
            existing = Task.objects.filter(dedupe_key=dedupe_key).first()
            if existing is not None:
                return existing
        raise
    return task


@dataclass(frozen=True)
class NewTask:
    """One task for :func:`do_open_many`: its subject (a resident or building id), title, detail and
    deduplication key (required: it is how a repeat run finds the tasks it opened already)."""

    subject_id: int
    title: str
    dedupe_key: str
    detail: str = ""


_SUBJECT_SOURCES = {
    # subject column -> (table, its place columns as SQL over alias r)
    "resident": (
        "people_resident",
        {col: f"r.{col}_id" for col in ("district", "street", "community", "grid", "compound", "building")},
    ),
    "subject_building": (
        "geo_building",
        {**{col: f"r.{col}_id" for col in ("district", "street", "community", "grid", "compound")}, "building": "r.id"},
    ),
}
NEW_TASKS = "tasks_new"


def do_open_many(
    task_type: str, tasks: Iterable[NewTask], *, subject: str = "resident", source: str = "", opened_by=None
) -> int:
    """Open many tasks at once (a positive tube's members, a campaign's door-to-door lists): the
    same result as :func:`do_open_task` for each — reported → registered → dispatched to the
    answerable person at the type's owner level or the nearest level above, each step an event,
    the assignee told (one digest when many) — written set-based. Tasks whose deduplication key
    exists already are skipped. ``subject`` is "resident" or "subject_building". Returns how many
    were opened."""
    if task_type not in TaskType.values:
        raise ValueError(f"unknown task type {task_type!r}")
    table, places = _SUBJECT_SOURCES[subject]
    empty_json = as_json("'{}'")
    rows = [(t.subject_id, t.title[:200], t.detail, t.dedupe_key[:200]) for t in tasks if t.dedupe_key]
    if not rows:
        return 0
    now = timezone.now()
    due = now + dt.timedelta(hours=policy(now).deadline_hours(task_type))
    by = _user_id(opened_by)
    with transaction.atomic():
        bulk.drop_temporary_tables(NEW_TASKS)
        execute(f"CREATE TEMPORARY TABLE {NEW_TASKS} (subject_id bigint, title text, detail text, dedupe_key text)")
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {NEW_TASKS} VALUES (%s, %s, %s, %s)", rows)
        scope = ", ".join(f"{col}_id" for col in places)
        opened = execute(
            f"INSERT INTO tasks_task (task_type, title, detail, status, {subject}_id, {scope}, assigned_level, "
            "escalation_level, opened_at, due_at, source, dedupe_key, opened_by_id, evaluation, feedback, extra, "
            "created_at, updated_at) "
            f"SELECT DISTINCT %s, n.title, n.detail, %s, n.subject_id, {', '.join(places.values())}, %s, 0, %s, %s, "
            f"%s, n.dedupe_key, CAST(%s AS integer), '', '', {empty_json}, %s, %s FROM {NEW_TASKS} n "
            f"JOIN {table} r ON r.id = n.subject_id "
            "WHERE NOT EXISTS (SELECT 1 FROM tasks_task t WHERE t.dedupe_key = n.dedupe_key)",
            [
                task_type,
                S.REPORTED,
                OWNER_LEVEL[task_type],
                *[bulk.db_time(v) for v in (now, due)],
                source[:100],
                by,
                *[bulk.db_time(now)] * 2,
            ],
        )
        if opened:
            _advance_new_tasks(task_type, now, by)
        bulk.drop_temporary_tables(NEW_TASKS, bulk.CHANGESET, bulk.TARGETS, ANSWERABLE_TABLE)
    return max(opened, 0)


def _advance_new_tasks(task_type: str, now: dt.datetime, by: int | None) -> None:
    """The just-inserted (reported) tasks: their first event, registered, then dispatched to the
    answerable person found set-based (tasks.routing), exactly the steps do_open_task takes."""
    from core.audit import current_actor
    from core.choices import ChangeAction
    from core.models import ChangeLog

    execute(f"DROP TABLE IF EXISTS {bulk.TARGETS}")
    execute(f"CREATE TEMPORARY TABLE {bulk.TARGETS} (task_id bigint PRIMARY KEY)")
    count = execute(
        f"INSERT INTO {bulk.TARGETS} (task_id) SELECT t.id FROM tasks_task t JOIN {NEW_TASKS} n "
        "ON n.dedupe_key = t.dedupe_key WHERE t.status = %s AND t.opened_at = %s",
        [S.REPORTED, bulk.db_time(now)],
    )
    execute(
        "INSERT INTO tasks_taskevent (task_id, at, user_id, action, from_status, to_status, assignee_id, level, note) "
        f"SELECT g.task_id, %s, %s, %s, '', %s, NULL, '', '' FROM {bulk.TARGETS} g",
        [bulk.db_time(now), by, TaskEventAction.TRANSITION, S.REPORTED],
    )
    actor = current_actor()
    ChangeLog.objects.create(
        at=now,
        user_id=actor.user_id if actor else by,
        source=actor.source if actor else "system",
        action=ChangeAction.BULK_CREATE,
        model=Task._meta.label_lower,
        after={"count": count, "task_type": task_type},
    )
    bulk.fill_from_targets((S.REPORTED,), S.REGISTERED, to_level_sql="NULL")  # the level stays; no level event
    bulk.apply_changeset(bulk.Change(action=TaskEventAction.TRANSITION, by_id=by, now=now, log_each=False))
    create_answerable_table()
    joins, user_sql, level_sql = owner_sql(OWNER_LEVEL[task_type])
    bulk.create_changeset()
    execute(
        f"INSERT INTO {bulk.CHANGESET} "
        "(task_id, from_status, to_status, from_user, to_user, from_level, to_level, from_escalation) "
        f"SELECT t.id, t.status, %s, NULL, {user_sql}, t.assigned_level, {level_sql}, 0 "
        f"FROM tasks_task t JOIN {bulk.TARGETS} g ON g.task_id = t.id {joins}",
        [S.DISPATCHED],
    )
    bulk.drop_unroutable()  # nobody answerable up the whole chain: it stays registered, as do_open_task leaves it
    bulk.apply_changeset(
        bulk.Change(
            action=TaskEventAction.ASSIGN,
            by_id=by,
            now=now,
            log_each=False,
            notify_kind=NotificationKind.ASSIGNED,
            message=_("New task: "),
            digest=_digest("%(n)d new task", "%(n)d new tasks"),
        )
    )


# --- single-task moves -----------------------------------------------------------------------------


def do_transition(
    task: Task,
    to_status: str,
    user,
    note: str = "",
    *,
    walk: bool = False,
    via: Iterable[str] | None = None,
    action: str = TaskEventAction.TRANSITION,
    changes: dict | None = None,
) -> Task:
    """Move ``task`` to ``to_status`` as ``user``: lock the row, check the transitions table, save,
    write one TaskEvent per move. ``walk`` passes through intermediate statuses (``via`` limits
    which), one checked move and one event each; the last event gets ``action`` and ``note``.
    ``changes`` are field values set with the move (assignee, feedback …). Returns the task, with
    the caller's instance refreshed.
    """
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if walk:
            steps = path(locked.status, to_status, frozenset(via) if via is not None else None)
            if not steps:
                steps = [to_status]  # a move onto itself (a hand-over), if the table allows it
        else:
            steps = [to_status]
        now = timezone.now()
        for name, value in (changes or {}).items():
            setattr(locked, name, value)
        events, current = [], locked.status
        for i, step in enumerate(steps):
            check(current, step)
            last = i == len(steps) - 1
            events.append(
                TaskEvent(
                    task=locked,
                    at=now,
                    user_id=_user_id(user),
                    action=action if last else TaskEventAction.TRANSITION,
                    from_status=current,
                    to_status=step,
                    note=note if last else "",
                )
            )
            current = step
        _require_for(locked, current)
        locked.status = current
        if current in DONE and locked.closed_at is None:
            locked.closed_at = now
        locked.updated_at = now
        locked.save()
        for event in events:
            event.assignee_id, event.level = locked.assignee_id, locked.assigned_level
        TaskEvent.objects.bulk_create(events)
    return _copy_into(locked, task)


def _require_for(task: Task, status: str) -> None:
    """What a status needs on the task itself."""
    if status == S.DISPATCHED and task.assignee_id is None:
        raise TransitionError(_("a task is dispatched to someone: assign it"))
    if status == S.FED_BACK and not task.feedback.strip():
        raise TransitionError(_("feeding back needs the feedback"))
    if status == S.EVALUATED and task.evaluation not in TaskEvaluation.values:
        raise TransitionError(_("an evaluation is satisfied or unsatisfied"))


def do_assign(task: Task, user, by, note: str = "") -> Task:
    """Give an open task to ``user`` (who must have it in their jurisdiction); status becomes dispatched."""
    if task.status not in ACTIVE:
        raise TransitionError(_("a %(status)s task cannot be assigned") % {"status": task.get_status_display()})
    level = level_of(user, task)
    if level is None:
        raise TransitionError(_("the task is outside the assignee's jurisdiction"))
    if task.assignee_id == user.pk:
        return task
    previous = task.assignee
    do_transition(
        task,
        S.DISPATCHED,
        by,
        note,
        walk=True,
        via={S.REGISTERED},
        action=TaskEventAction.ASSIGN,
        changes={"assignee": user, "assigned_level": level},
    )
    if previous is not None:
        notify(
            previous, _("Handed to someone else: %(title)s") % {"title": task.title}, task, NotificationKind.TAKEN_OVER
        )
    notify(user, _("Assigned to you: %(title)s") % {"title": task.title}, task, NotificationKind.ASSIGNED)
    return task


def do_start(task: Task, by, note: str = "") -> Task:
    """The assignee starts handling (dispatched → handling)."""
    return do_transition(task, S.HANDLING, by, note)


def do_feed_back(task: Task, by, feedback: str, note: str = "") -> Task:
    """Report what was done (→ fed back; a dispatched task passes through handling)."""
    if not feedback.strip():
        raise TransitionError(_("feeding back needs the feedback"))
    do_transition(task, S.FED_BACK, by, note, walk=True, via={S.HANDLING}, changes={"feedback": feedback.strip()})
    if task.opened_by_id and task.opened_by_id != _user_id(by):
        notify(
            task.opened_by, _("Fed back, to verify: %(title)s") % {"title": task.title}, task, NotificationKind.FED_BACK
        )
    return task


def do_close(task: Task, by, note: str = "") -> Task:
    """Verify the feedback and close (fed back → closed)."""
    return do_transition(task, S.CLOSED, by, note)


def do_complete(task: Task, by, feedback: str) -> Task:
    """Close a task whose outcome was decided elsewhere (an appeal or an exit request decided on its
    own page): take it if nobody has it, feed back the decision, close. A finished task is left as is."""
    if task.status in (S.CLOSED, S.EVALUATED, S.CANCELLED):
        return task
    if task.status in (S.REPORTED, S.REGISTERED) and by is not None and level_of(by, task) is not None:
        do_assign(task, by, by)
    if task.status != S.FED_BACK:
        do_feed_back(task, by, feedback)
    return do_close(task, by, feedback)


def do_send_back(task: Task, by, note: str = "") -> Task:
    """Verification failed: back to the handler (fed back → handling)."""
    do_transition(task, S.HANDLING, by, note)
    notify(task.assignee, _("Sent back: %(title)s") % {"title": task.title}, task, NotificationKind.SENT_BACK)
    return task


def do_evaluate(task: Task, by, evaluation: str, note: str = "") -> Task:
    """Record how the closed task was judged (closed → evaluated)."""
    if evaluation not in TaskEvaluation.values:
        raise TransitionError(_("an evaluation is satisfied or unsatisfied"))
    return do_transition(task, S.EVALUATED, by, note, changes={"evaluation": evaluation})


def do_cancel(task: Task, by, note: str = "") -> Task:
    """Cancel an open task (opened by mistake, duplicate, no longer needed)."""
    return do_transition(task, S.CANCELLED, by, note)


def do_comment(task: Task, by, note: str) -> TaskEvent:
    if not note.strip():
        raise ValueError("empty comment")
    return TaskEvent.objects.create(
        task=task,
        user_id=_user_id(by),
        action=TaskEventAction.COMMENT,
        assignee_id=task.assignee_id,
        level=task.assigned_level,
        note=note.strip(),
    )


# --- who may do what (for views and the API) -------------------------------------------------------


def can_manage(user) -> bool:
    return user.has_perm(MANAGE_PERMISSION)


# the moves a button offers, by target status; dispatched happens by assigning
_ASSIGNEE_MOVES = {S.HANDLING, S.FED_BACK}


def moves_for(user, task: Task) -> list[str]:
    """The target statuses the user may move the task to now, in flow order, from the table."""
    manager = can_manage(user)
    mine = task.assignee_id == user.pk
    out = []
    for status in S.values:
        if status == S.DISPATCHED or not allowed(task.status, status):
            continue
        if task.status == S.FED_BACK and status == S.HANDLING:
            ok = manager  # sending back is the verifier's
        elif status in _ASSIGNEE_MOVES:
            ok = mine or manager
        else:
            ok = manager
        if ok:
            out.append(status)
    return out


# --- bulk ------------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: int = 0
    skipped: int = 0

    def as_dict(self) -> dict:
        return {"done": self.done, "skipped": self.skipped}


def _queryset(tasks: QuerySet | Iterable[int], by) -> QuerySet:
    qs = tasks if isinstance(tasks, QuerySet) else Task.objects.filter(pk__in=[int(pk) for pk in tasks])
    return restrict(by, qs) if by is not None else qs


def _digest(singular: str, plural: str):
    def message(n: int) -> str:
        return ngettext(singular, plural, n) % {"n": n}

    return message


def do_bulk_assign(tasks: QuerySet | Iterable[int], user, by, note: str = "") -> BulkResult:
    """Give the unassigned open tasks among ``tasks`` to ``user``; others are skipped.

    Tasks outside ``by``'s or ``user``'s jurisdiction are skipped too. Reported tasks pass through
    registered. Set-based: a few statements whatever the number of tasks.
    """
    now = timezone.now()
    with transaction.atomic():
        total = _queryset(tasks, by).count()
        bulk.load_targets(restrict(user, _queryset(tasks, by)))
        level_sql, level_params = level_case_sql(user)
        moves = [S.REPORTED, *path(S.REPORTED, S.DISPATCHED)]
        done = 0
        for current, nxt in pairwise(moves):
            check(current, nxt)
            final = nxt == S.DISPATCHED
            bulk.fill_from_targets(
                (current,),
                nxt,
                to_user=user.pk if final else None,
                to_level_sql=level_sql if final else "t.assigned_level",
                to_level_params=level_params if final else None,
                where="AND t.assignee_id IS NULL",
            )
            done = bulk.apply_changeset(
                bulk.Change(
                    action=TaskEventAction.ASSIGN if final else TaskEventAction.TRANSITION,
                    by_id=_user_id(by),
                    now=now,
                    note=note,
                    notify_kind=NotificationKind.ASSIGNED if final else None,
                    message=_("Assigned to you: "),
                    digest=_digest("%(n)d task assigned to you", "%(n)d tasks assigned to you"),
                )
            )
        bulk.drop_temporary_tables(bulk.CHANGESET, bulk.TARGETS)
    return BulkResult(done, total - done)


def do_bulk_reassign(tasks: QuerySet | Iterable[int], user, by, note: str = "") -> BulkResult:
    """Hand assigned open tasks (dispatched or handling) over to ``user``; they restart at dispatched.

    The new assignee is told, and so is the previous one. Tasks already ``user``'s, unassigned,
    fed back or finished, or outside either jurisdiction, are skipped.
    """
    now = timezone.now()
    sources = tuple(s for s in sources_of(S.DISPATCHED) if s in (S.DISPATCHED, S.HANDLING))
    with transaction.atomic():
        total = _queryset(tasks, by).count()
        bulk.load_targets(restrict(user, _queryset(tasks, by)))
        level_sql, level_params = level_case_sql(user)
        bulk.fill_from_targets(
            sources,
            S.DISPATCHED,
            to_user=user.pk,
            to_level_sql=level_sql,
            to_level_params=level_params,
            where="AND t.assignee_id IS NOT NULL AND t.assignee_id <> %s",
            where_params=[user.pk],
        )
        done = bulk.apply_changeset(
            bulk.Change(
                action=TaskEventAction.ASSIGN,
                by_id=_user_id(by),
                now=now,
                note=note,
                notify_kind=NotificationKind.ASSIGNED,
                message=_("Assigned to you: "),
                digest=_digest("%(n)d task assigned to you", "%(n)d tasks assigned to you"),
                previous_kind=NotificationKind.TAKEN_OVER,
                previous_message=_("Handed to someone else: "),
                previous_digest=_digest("%(n)d task handed to someone else", "%(n)d tasks handed to someone else"),
            )
        )
        bulk.drop_temporary_tables(bulk.CHANGESET, bulk.TARGETS)
    return BulkResult(done, total - done)


def do_complete_many(feedback: dict[int, str]) -> int:
    """Close, as the system, many tasks whose outcome was decided elsewhere (a lab result answered
    every recall of a tube): the set-based :func:`do_complete` for tasks nobody need verify. An
    assigned task walks dispatched → handling → fed back → closed, an event per step; one nobody
    answerable ever took (reported, registered) is cancelled; a finished one is left. ``feedback``
    maps task ids to what is written on each. Returns how many were finished."""
    if not feedback:
        return 0
    now = timezone.now()
    finished = 0
    with transaction.atomic():
        bulk.load_targets(Task.objects.filter(pk__in=list(feedback)))
        bulk.fill_from_targets((S.REPORTED, S.REGISTERED), S.CANCELLED)
        finished += bulk.apply_changeset(
            bulk.Change(action=TaskEventAction.TRANSITION, by_id=None, now=now, close=True)
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE tasks_task SET feedback = %s WHERE id = %s AND status IN ({', '.join(['%s'] * len(ACTIVE))})",
                [(text[:2000], pk, *ACTIVE) for pk, text in feedback.items()],
            )
        for current, step in ((S.DISPATCHED, S.HANDLING), (S.HANDLING, S.FED_BACK), (S.FED_BACK, S.CLOSED)):
            check(current, step)
            bulk.fill_from_targets((current,), step)
            moved = bulk.apply_changeset(
                bulk.Change(action=TaskEventAction.TRANSITION, by_id=None, now=now, close=step == S.CLOSED)
            )
            finished += moved if step == S.CLOSED else 0
        bulk.drop_temporary_tables(bulk.CHANGESET, bulk.TARGETS)
    return finished


def do_bulk_close(tasks: QuerySet | Iterable[int], by, note: str = "") -> BulkResult:
    """Verify and close every fed-back task among ``tasks``; the others are skipped."""
    now = timezone.now()
    with transaction.atomic():
        total = bulk.load_targets(_queryset(tasks, by))
        bulk.fill_from_targets(sources_of(S.CLOSED), S.CLOSED)
        done = bulk.apply_changeset(
            bulk.Change(action=TaskEventAction.TRANSITION, by_id=_user_id(by), now=now, note=note, close=True)
        )
        bulk.drop_temporary_tables(bulk.CHANGESET, bulk.TARGETS)
    return BulkResult(done, total - done)
