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

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.policy import policy
from core.scoping import restrict
from tasks import bulk
from tasks.choices import CHAIN, NotificationKind, TaskEvaluation, TaskEventAction, TaskStatus, TaskType
from tasks.flow import ACTIVE, DONE, TransitionError, allowed, check, path, sources_of
from tasks.models import Task, TaskEvent
from tasks.notify import notify
from tasks.routing import OWNER_LEVEL, level_case_sql, level_of, resolve_owner

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
    "do_evaluate",
    "do_feed_back",
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
) -> Task:
    """Open a task about ``subject`` (a Resident, Household, Building, Compound or Venue).

    The deadline is ``policy().deadline_hours(task_type)`` from now unless ``due_at`` is given. The
    assignee is the answerable person (包保) at the type's owner level (tasks.routing.OWNER_LEVEL, or
    ``owner_level``), else at the nearest level above that has one; the task then passes
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
    owner = resolve_owner(task, owner_level or OWNER_LEVEL[task_type])
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
