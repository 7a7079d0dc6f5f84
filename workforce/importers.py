"""Import kinds of the workforce, through the shared import framework (core.imports):

* ``workers`` — worker_code [人员编号] key, name [姓名], kind [类别], grid_code [网格代码], phone [手机号],
  organisation [派出单位], since [到岗日期], login [登录名] (a staff username: the worker's own login;
  left empty, an existing link stays). Upserts the worker on its grid; a new grid closes the open
  :class:`Post` (until ``since``) and opens the next.
* ``duty_roster`` — worker_code [人员编号], date [日期] (key: both), grid_code [网格代码], hours [工时].
  The days and hours actually worked.
* ``training_completions`` — worker_code [人员编号], course_code [课程编号] (key: both),
  completed_on [完成日期], score [成绩].

All three load set-based (staging table, ``UPDATE … FROM`` lookups, one upsert); a file imported
twice changes nothing. Rejects keep the row with a reason: unknown worker, grid or course, hours
outside 0–24, a day that has not come yet, a key repeated in the file, a bad kind or phone.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.imports.columns import Choice, Column, Date, Decimal, Pattern, Phone, Text
from core.imports.kinds import PLACED, ImportKind, LoadContext, place_of, place_of_division, register
from core.imports.reasons import REASON_LABELS, REASONS
from core.imports.sql import Staging, UpsertResult, execute, q, upsert
from workforce.choices import WorkerKind
from workforce.models import Completion, DutyDay, Post, Worker

CODE = Pattern(r"^[0-9A-Za-z][0-9A-Za-z\-_.]{0,31}$", upper=True)
GRID_CODE = Pattern(r"^\d{15}$")  # domain.md §1: a community's 12 digits and 3 for the grid

KIND_SPELLINGS = {
    **{value: value for value in WorkerKind.values},
    "社区工作者": WorkerKind.COMMUNITY_WORKER,
    "社工": WorkerKind.COMMUNITY_WORKER,
    "网格员": WorkerKind.GRID_WORKER,
    "下沉干部": WorkerKind.CADRE,
    "干部": WorkerKind.CADRE,
    "志愿者": WorkerKind.VOLUNTEER,
    "community worker": WorkerKind.COMMUNITY_WORKER,
    "grid worker": WorkerKind.GRID_WORKER,
    "sent-down cadre": WorkerKind.CADRE,
}

WORKFORCE_REASONS = {
    "unknown_worker": (_("The worker code %(detail)s is not registered."), _("Unknown worker code")),
    "unknown_grid": (_("The grid code %(detail)s is not a registered grid."), _("Unknown grid code")),
    "unknown_course": (_("The course code %(detail)s is not registered."), _("Unknown course code")),
    "hours_out_of_range": (
        _("Hours on duty must be between 0 and 24 in a day: %(detail)s."),
        _("Hours outside 0–24"),
    ),
    "unknown_login": (_("No staff login is named %(detail)s."), _("Unknown login")),
    "login_taken": (_("The login %(detail)s belongs to another worker."), _("Login of another worker")),
    "future_date": (
        _("Column %(column)s is a day that has not come yet: %(detail)s."),
        _("Date in the future"),
    ),
}
for _code, (_sentence, _label) in WORKFORCE_REASONS.items():
    REASONS.setdefault(_code, _sentence)
    REASON_LABELS.setdefault(_code, _label)

PLACE_EXTRA = (
    ("_grid_id", "bigint"),
    ("_community_id", "bigint"),
    ("_street_id", "bigint"),
    ("_district_id", "bigint"),
)


def refuse_future(table: pa.Table, column: str, reasons: np.ndarray, columns: np.ndarray, details: np.ndarray) -> None:
    """A day that has not come yet is a typo (a year or a month off), not a forecast."""
    days = pc.cast(table.column(column), pa.int32()).to_numpy(zero_copy_only=False)
    days = np.where(np.isnan(days.astype(float)), -(2**30), days).astype(np.int64)
    today = (timezone.localdate() - dt.date(1970, 1, 1)).days
    future = (reasons == "") & (days > today)
    reasons[future], columns[future] = "future_date", column
    details[future] = [str(dt.date(1970, 1, 1) + dt.timedelta(days=int(d))) for d in days[future]]


def _place_by_grid(ctx: LoadContext, staging: Staging) -> None:
    """Each row's grid and its ancestors; rows naming no registered grid are refused."""
    execute(
        f"UPDATE {q(staging.name)} AS s SET _grid_id = g.id, _community_id = g.community_id, "
        "_street_id = g.street_id, _district_id = g.district_id "
        "FROM geo_division g WHERE g.code = s.grid_code AND g.level = 'grid'"
    )
    ctx.reject(staging, "s._grid_id IS NULL", "unknown_grid", "grid_code", "s.grid_code")


def _find_workers(ctx: LoadContext, staging: Staging) -> None:
    execute(
        f"UPDATE {q(staging.name)} AS s SET _worker_id = w.id FROM {q(Worker._meta.db_table)} w "
        "WHERE w.code = s.worker_code"
    )
    ctx.reject(staging, "s._worker_id IS NULL", "unknown_worker", "worker_code", "s.worker_code")


PLACE_VALUES = [
    ("community_id", "s._community_id"),
    ("street_id", "s._street_id"),
    ("district_id", "s._district_id"),
]


@register
class WorkerImport(ImportKind):
    name = "workers"
    label = _("Front-line workers")
    key = ("worker_code",)
    columns = (
        Column("worker_code", "人员编号", True, CODE),
        Column("name", "姓名", True, Text(60)),
        Column("kind", "类别", True, Choice(KIND_SPELLINGS)),
        Column("grid_code", "网格代码", True, GRID_CODE),
        Column("phone", "手机号", False, Phone()),
        Column("organisation", "派出单位", False, Text(120)),
        Column("since", "到岗日期", False, Date()),
        Column("login", "登录名", False, Text(150)),
    )
    staging_extra = (("_target_id", "bigint"), ("_action", "text"), ("_user_id", "bigint"), *PLACE_EXTRA)

    def check(self, table, reasons, columns, details) -> None:
        refuse_future(table, "since", reasons, columns, details)

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In the grid of the post; a worker already posted also where they are now."""
        s = staging.name
        return (
            f"SELECT s._line, {place_of_division('g')} FROM {s} s "
            "JOIN geo_division g ON g.code = s.grid_code AND g.level = 'grid' "
            f"UNION ALL SELECT s._line, {place_of('w', compound='NULL', building='NULL')} FROM {s} s "
            "JOIN workforce_worker w ON w.code = s.worker_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        _place_by_grid(ctx, staging)
        self._link_logins(ctx, staging)
        result = upsert(
            staging,
            target=Worker._meta.db_table,
            model_label=Worker._meta.label_lower,
            key=[("code", "s.worker_code")],
            values=[
                ("name", "s.name"),
                ("kind", "s.kind"),
                ("phone", "COALESCE(s.phone, '')"),
                ("organisation", "COALESCE(s.organisation, '')"),
                ("grid_id", "s._grid_id"),
                ("user_id", "s._user_id"),
                *PLACE_VALUES,
            ],
            insert_only=[("active", "TRUE"), ("extra", "'{}'")],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
        self._move_posts(staging)
        return result

    @staticmethod
    def _link_logins(ctx: LoadContext, staging: Staging) -> None:
        """A login names one staff user, and one user is at most one worker."""
        s, w = q(staging.name), q(Worker._meta.db_table)
        execute(f"UPDATE {s} AS s SET _user_id = u.id FROM auth_user u WHERE u.username = s.login")
        ctx.reject(staging, "s.login IS NOT NULL AND s._user_id IS NULL", "unknown_login", "login", "s.login")
        ctx.reject_repeats(staging, "s._user_id", "login_taken", "login", where="s._user_id IS NOT NULL")
        ctx.reject(
            staging,
            f"EXISTS (SELECT 1 FROM {w} x WHERE x.user_id = s._user_id AND x.code <> s.worker_code)",
            "login_taken",
            "login",
            "s.login",
        )
        execute(f"UPDATE {s} AS s SET _user_id = x.user_id FROM {w} x WHERE x.code = s.worker_code AND s.login IS NULL")

    @staticmethod
    def _move_posts(staging: Staging) -> None:
        """Close the open post of each worker now on another grid, and open a post where none is open."""
        s, p = q(staging.name), q(Post._meta.db_table)
        today = timezone.localdate()
        execute(
            # a post never ends before it started (a 'since' older than the post it closes)
            f"UPDATE {p} AS p SET ends_on = CASE WHEN COALESCE(s.since, %s) > p.starts_on "
            f"THEN COALESCE(s.since, %s) ELSE p.starts_on END FROM {s} s "
            "WHERE p.worker_id = s._target_id AND p.ends_on IS NULL AND p.grid_id <> s._grid_id",
            [today, today],
        )
        execute(
            f"INSERT INTO {p} (worker_id, grid_id, community_id, street_id, district_id, starts_on, ends_on) "
            f"SELECT s._target_id, s._grid_id, s._community_id, s._street_id, s._district_id, COALESCE(s.since, %s), "
            f"NULL FROM {s} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {p} x WHERE x.worker_id = s._target_id AND x.ends_on IS NULL)",
            [today],
        )


@register
class DutyRosterImport(ImportKind):
    name = "duty_roster"
    label = _("Duty days and hours")
    key = ("worker_code", "date")
    columns = (
        Column("worker_code", "人员编号", True, CODE),
        Column("date", "日期", True, Date()),
        Column("grid_code", "网格代码", True, GRID_CODE),
        Column("hours", "工时", True, Decimal(-1e6, 1e6)),
    )
    staging_extra = (("_target_id", "bigint"), ("_action", "text"), ("_worker_id", "bigint"), *PLACE_EXTRA)

    def derive(self, table: pa.Table) -> pa.Table:
        """Hours kept to the tenth stored, so a re-import of 7.25 compares equal to the 7.3 kept."""
        index = table.column_names.index("hours")
        return table.set_column(index, "hours", pc.round(table.column("hours"), 1, round_mode="half_up"))

    def check(self, table, reasons, columns, details) -> None:
        hours = pc.fill_null(table.column("hours"), 0).to_numpy(zero_copy_only=False)
        bad = (reasons == "") & ((hours < 0) | (hours > 24))
        reasons[bad], columns[bad] = "hours_out_of_range", "hours"
        details[bad] = [f"{h:g}" for h in hours[bad]]
        refuse_future(table, "date", reasons, columns, details)

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In the grid worked."""
        return (
            f"SELECT s._line, {place_of_division('g')} FROM {staging.name} s "
            "JOIN geo_division g ON g.code = s.grid_code AND g.level = 'grid'"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        _find_workers(ctx, staging)
        _place_by_grid(ctx, staging)
        return upsert(
            staging,
            target=DutyDay._meta.db_table,
            model_label=DutyDay._meta.label_lower,
            key=[("worker_id", "s._worker_id"), ("day", "s.date")],
            values=[("grid_id", "s._grid_id"), ("hours", "s.hours"), *PLACE_VALUES],
            insert_only=[("batch_id", str(int(ctx.batch_id)))],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )


@register
class TrainingCompletionImport(ImportKind):
    name = "training_completions"
    label = _("Training completions")
    key = ("worker_code", "course_code")
    columns = (
        Column("worker_code", "人员编号", True, CODE),
        Column("course_code", "课程编号", True, CODE),
        Column("completed_on", "完成日期", True, Date()),
        Column("score", "成绩", False, Decimal(0, 100)),
    )
    staging_extra = (("_target_id", "bigint"), ("_action", "text"), ("_worker_id", "bigint"), ("_course_id", "bigint"))

    def check(self, table, reasons, columns, details) -> None:
        refuse_future(table, "completed_on", reasons, columns, details)

    def derive(self, table: pa.Table) -> pa.Table:
        index = table.column_names.index("score")
        return table.set_column(index, "score", pc.round(table.column("score"), 1, round_mode="half_up"))

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """Where the worker is posted."""
        return (
            f"SELECT s._line, {place_of('w', compound='NULL', building='NULL')} "
            f"FROM {staging.name} s JOIN workforce_worker w ON w.code = s.worker_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        _find_workers(ctx, staging)
        execute(
            f"UPDATE {q(staging.name)} AS s SET _course_id = c.id FROM workforce_course c WHERE c.code = s.course_code"
        )
        ctx.reject(staging, "s._course_id IS NULL", "unknown_course", "course_code", "s.course_code")
        return upsert(
            staging,
            target=Completion._meta.db_table,
            model_label=Completion._meta.label_lower,
            key=[("worker_id", "s._worker_id"), ("course_id", "s._course_id")],
            values=[("completed_on", "s.completed_on"), ("score", "s.score")],
            insert_only=[("batch_id", str(int(ctx.batch_id)))],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
