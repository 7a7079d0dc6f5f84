"""Set-based changes to many tasks: a change set in a temporary table, applied by a few statements.

Bulk actions (assign, reassign, close) and the overdue sweep all work the same way (style.md:
set-based bulk paths). They fill :data:`CHANGESET` with one row per task — its status, assignee
and level before and after — by one INSERT … SELECT that locks the tasks (``FOR UPDATE`` on
PostgreSQL; SQLite holds the database write lock for the whole transaction), then
:func:`apply_changeset` writes, each with one statement:

1. the domain events (tasks.TaskEvent),
2. the change log (core.ChangeLog, before/after, like core.imports.sql.upsert does for imports;
   the overdue sweep writes one summary row instead, its events being the per-task record),
3. the tasks themselves (UPDATE … FROM),
4. the inbox notifications (tasks.Notification), when the inbox sender is in use,

and hands the other senders one digest per user. The same statements run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, QuerySet

from core.audit import current_actor
from core.choices import ChangeAction
from core.imports.sql import execute, fetch, is_postgres, json_object
from tasks import notify

CHANGESET = "tasks_changeset"
TARGETS = "tasks_targets"
TASKS = "tasks_task"


def db_time(value: dt.datetime):
    """A datetime as the backend stores it (SQLite keeps naive UTC text; raw SQL must match it)."""
    return connection.ops.adapt_datetimefield_value(value)


def lock_clause() -> str:
    """Row locks for the INSERT … SELECT that reads the tasks (alias ``t``) into a change set."""
    return " FOR UPDATE OF t" if is_postgres() else ""


def create_changeset() -> None:
    execute(f"DROP TABLE IF EXISTS {CHANGESET}")
    execute(
        f"CREATE TEMPORARY TABLE {CHANGESET} ("
        " task_id bigint PRIMARY KEY, from_status varchar(16) NOT NULL, to_status varchar(16) NOT NULL,"
        " from_user bigint, to_user bigint, from_level varchar(16) NOT NULL, to_level varchar(16),"
        " from_escalation integer NOT NULL)"
    )


def drop_temporary_tables(*names: str) -> None:
    for name in names:
        execute(f"DROP TABLE IF EXISTS {name}")


def load_targets(queryset: QuerySet) -> int:
    """The ids of ``queryset`` into :data:`TARGETS`, so later passes see the same tasks."""
    execute(f"DROP TABLE IF EXISTS {TARGETS}")
    execute(f"CREATE TEMPORARY TABLE {TARGETS} (task_id bigint PRIMARY KEY)")
    try:
        sql, params = queryset.order_by().annotate(target_id=F("pk")).values("target_id").query.sql_with_params()
    except EmptyResultSet:  # e.g. restrict() of a user with no jurisdiction, or no ids
        return 0
    return execute(f"INSERT INTO {TARGETS} (task_id) SELECT DISTINCT q.target_id FROM ({sql}) q", params)


def fill_from_targets(
    from_statuses: tuple[str, ...],
    to_status: str,
    *,
    to_user: int | str | None = "keep",
    to_level_sql: str = "t.assigned_level",
    to_level_params: list | None = None,
    where: str = "",
    where_params: list | None = None,
) -> int:
    """Change set over the targets whose status is one of ``from_statuses``.

    ``to_user``: a user id, None to unassign, or "keep". ``to_level_sql`` is an SQL expression over
    the task ``t`` (NULL drops the row: see :func:`drop_unroutable`).
    """
    create_changeset()
    placeholders = ", ".join(["%s"] * len(from_statuses))
    user_sql, user_params = ("t.assignee_id", []) if to_user == "keep" else ("%s", [to_user])
    return execute(
        f"INSERT INTO {CHANGESET} "
        "(task_id, from_status, to_status, from_user, to_user, from_level, to_level, from_escalation) "
        f"SELECT t.id, t.status, %s, t.assignee_id, {user_sql}, t.assigned_level, {to_level_sql}, t.escalation_level "
        f"FROM {TASKS} t JOIN {TARGETS} g ON g.task_id = t.id "
        f"WHERE t.status IN ({placeholders}) {where}{lock_clause()}",
        [to_status, *user_params, *(to_level_params or []), *from_statuses, *(where_params or [])],
    )


def drop_unroutable() -> int:
    """Remove change rows with nobody to take the task (no user or no level); returns how many."""
    return execute(f"DELETE FROM {CHANGESET} WHERE to_user IS NULL OR to_level IS NULL")


@dataclass
class Change:
    """What applying a change set means: the event to write and who to tell."""

    action: str
    by_id: int | None
    now: dt.datetime
    note: str = ""
    escalate: bool = False  # escalation_level + 1, escalated_at = now
    log_each: bool = True  # a change-log row per task (else the caller writes one summary row)
    close: bool = False  # closed_at = now
    notify_kind: str | None = None  # tell the new assignee, with ``message`` + the task's title
    message: str = ""
    digest: Callable[[int], str] | None = None  # "n tasks …" for the senders other than the inbox
    notify_unchanged: bool = False  # also tell a new assignee who already had the task (escalation)
    previous_kind: str | None = None  # tell the previous assignee (reassign), with previous_message
    previous_message: str = ""
    previous_digest: Callable[[int], str] | None = None


def apply_changeset(change: Change) -> int:
    """Write events, change log, notifications and the task updates for every row of the change set.

    The task rows are updated last: on PostgreSQL the foreign keys of the new events and
    notifications are checked statement by statement (SET CONSTRAINTS … IMMEDIATE) while the rows
    they point at are still the versions this transaction locked when it read them, so the checks
    lock nothing new; checked at COMMIT instead (Django's default, DEFERRED) they would lock and
    rewrite every updated task row a second time.
    """
    (count,) = fetch(f"SELECT COUNT(*) FROM {CHANGESET}")[0]
    if not count:
        return 0
    if is_postgres():
        execute("SET CONSTRAINTS ALL IMMEDIATE")
    _write_events(change)
    if change.log_each:
        _write_change_log(change)
    if change.notify_kind:
        newly = "" if change.notify_unchanged else " AND (c.from_user IS NULL OR c.from_user <> c.to_user)"
        _notify_set(change, "c.to_user", change.notify_kind, change.message, newly, change.digest)
    if change.previous_kind:
        moved = " AND c.to_user IS NOT NULL AND c.from_user <> c.to_user"
        _notify_set(change, "c.from_user", change.previous_kind, change.previous_message, moved, change.previous_digest)
    _update_tasks(change)
    if is_postgres():  # back to Django's default for the rest of the transaction (INITIALLY DEFERRED)
        execute("SET CONSTRAINTS ALL DEFERRED")
    return count


def _write_events(change: Change) -> None:
    execute(
        "INSERT INTO tasks_taskevent (task_id, at, user_id, action, from_status, to_status, assignee_id, level, note) "
        f"SELECT c.task_id, %s, %s, %s, c.from_status, c.to_status, c.to_user, COALESCE(c.to_level, ''), %s "
        f"FROM {CHANGESET} c",
        [db_time(change.now), change.by_id, change.action, change.note],
    )


def _write_change_log(change: Change) -> None:
    """Before/after of every changed task, as core.imports.sql.upsert writes them for imports."""
    escalation_after = "c.from_escalation + 1" if change.escalate else "c.from_escalation"
    before = [
        ("status", "c.from_status"),
        ("assignee_id", "c.from_user"),
        ("assigned_level", "c.from_level"),
        ("escalation_level", "c.from_escalation"),
    ]
    after = [
        ("status", "c.to_status"),
        ("assignee_id", "c.to_user"),
        ("assigned_level", "COALESCE(c.to_level, c.from_level)"),
        ("escalation_level", escalation_after),
    ]
    if change.escalate:
        after.append(("escalated_at", "CAST(%s AS text)"))
    if change.close:
        after.append(("closed_at", "CAST(%s AS text)"))
    stamps = [change.now.isoformat()] * (change.escalate + change.close)
    execute(
        "INSERT INTO core_changelog "
        "(at, user_id, source, action, model, object_id, object_repr, before, after, batch_id) "
        f"SELECT %s, %s, %s, %s, 'tasks.task', c.task_id, '', {json_object(before)}, {json_object(after)}, NULL "
        f"FROM {CHANGESET} c",
        [db_time(change.now), change.by_id, str(current_actor().source), ChangeAction.UPDATE.value, *stamps],
    )


def _update_tasks(change: Change) -> None:
    now = db_time(change.now)
    sets = [
        "status = c.to_status",
        "assignee_id = c.to_user",
        "assigned_level = COALESCE(c.to_level, c.from_level)",
        "updated_at = %s",
    ]
    params: list = [now]
    if change.escalate:
        sets += ["escalation_level = c.from_escalation + 1", "escalated_at = %s"]
        params.append(now)
    if change.close:
        sets.append("closed_at = %s")
        params.append(now)
    execute(f"UPDATE {TASKS} AS t SET {', '.join(sets)} FROM {CHANGESET} c WHERE t.id = c.task_id", params)


def _notify_set(
    change: Change, user_column: str, kind: str, message: str, condition: str, digest: Callable[[int], str] | None
) -> None:
    """Tell every user concerned: one inbox row per task, or one digest when a user has more than
    notify.EACH_UP_TO tasks in this change (a community worker handed 2,000 late tasks at once
    needs one message, not 2,000); the other senders get one digest per user."""
    where = f"{user_column} IS NOT NULL{condition}"
    counts = dict(fetch(f"SELECT {user_column}, COUNT(*) FROM {CHANGESET} c WHERE {where} GROUP BY {user_column}"))
    if not counts:
        return
    if notify.inbox_in_use():
        many = sorted(user for user, n in counts.items() if n > notify.EACH_UP_TO)
        excluded, params = "", []
        if many:
            excluded = f" AND {user_column} NOT IN ({', '.join(['%s'] * len(many))})"
            params = many
        if len(many) < len(counts):
            execute(
                "INSERT INTO tasks_notification (user_id, task_id, kind, message, created_at, read_at) "
                f"SELECT {user_column}, c.task_id, %s, CAST(%s AS text) || t.title, %s, NULL "
                f"FROM {CHANGESET} c JOIN {TASKS} t ON t.id = c.task_id WHERE {where}{excluded}",
                [kind, message, db_time(change.now), *params],
            )
        if many:
            from tasks.models import Notification

            text = digest or (lambda n: message + str(n))
            Notification.objects.bulk_create(
                Notification(user_id=user, kind=kind, message=text(counts[user]), created_at=change.now)
                for user in many
            )
    if digest is not None and any(not getattr(s, "writes_inbox", False) for s in notify.senders()):
        transaction.on_commit(lambda: notify.send_digests(counts, digest, kind))
