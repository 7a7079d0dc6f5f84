"""The ``renovation_projects`` import kind: the districts' ledger of renovation projects, one row
per compound in a programme, through the shared import framework (core.imports).

Columns (English or Chinese header): **programme_code** [改造计划编号], **compound_code** [小区编码],
**year** [计划年度], **status** [状态] (selected 已入选, planned 已计划, started 已开工, finished 已完工,
cancelled 已取消), **selected_on** [入选日期], planned_on [计划日期], started_on [开工日期],
inspected_on [竣工验收日期], finished_on [完工日期], cancelled_on [取消日期], budget_central [中央补助],
budget_provincial [省级资金], budget_city [市级资金], budget_district [区级资金], budget_residents
[居民出资], budget_enterprise [社会资本] and spent [已支出] (10,000 yuan), and the latest consultation
of the households: consulted_on [征求意见日期], consultation_kind [征求意见方式], households [总户数],
participating [参与户数], in_favour [同意户数], against [反对户数]. Key: (programme_code, compound_code).

The same rules as the pages (renovation.services), as reject reasons: the compound must exist and
have been built before ``renovation_built_before`` (a year unknown is refused too), may be in no
other programme's active project; each status reached needs its date, dates in order and not in
the future, a finished row its final inspection; a started or finished row needs a consultation on
or before the start (in the row, or already recorded) reaching ``renovation_consent``. Everything
loads set-based: staging, checks in SQL, one upsert, then the steps and consultations the rows
bring with INSERT … SELECT. Re-importing a file changes nothing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.imports.columns import Choice, Column, Date, Decimal, Integer, Text
from core.imports.kinds import PLACED, ImportKind, LoadContext, place_of, register
from core.imports.reasons import REASON_LABELS, REASONS
from core.imports.sql import Staging, UpsertResult, as_json, execute, q, upsert
from core.policy import policy
from renovation.choices import ConsultationKind, ProjectStatus
from renovation.models import BUDGET_FIELDS, Consultation, Programme, Project, ProjectStep

STATUS_SPELLINGS = {
    **{value: value for value in ProjectStatus.values},
    "已入选": ProjectStatus.SELECTED,
    "入选": ProjectStatus.SELECTED,
    "已计划": ProjectStatus.PLANNED,
    "计划": ProjectStatus.PLANNED,
    "已开工": ProjectStatus.STARTED,
    "开工": ProjectStatus.STARTED,
    "在建": ProjectStatus.STARTED,
    "已完工": ProjectStatus.FINISHED,
    "完工": ProjectStatus.FINISHED,
    "已取消": ProjectStatus.CANCELLED,
    "取消": ProjectStatus.CANCELLED,
}
KIND_SPELLINGS = {
    **{value: value for value in ConsultationKind.values},
    "问卷": ConsultationKind.SURVEY,
    "意见征询": ConsultationKind.SURVEY,
    "听证会": ConsultationKind.HEARING,
    "公示": ConsultationKind.NOTICE,
    "业主表决": ConsultationKind.VOTE,
}
MONEY = Decimal(0.0, 1e9)
COUNT = Integer(0, 1_000_000)
EPOCH = dt.date(1970, 1, 1)

RENOVATION_REASONS = {
    "unknown_programme": (_("The programme code %(detail)s is not registered."), _("Unknown programme")),
    "year_outside_programme": (_("The year %(detail)s is not a year of the programme."), _("Year outside programme")),
    "unknown_compound": (_("The compound code %(detail)s is not registered."), _("Unknown compound")),
    "built_year_unknown": (
        _("The compound's year of building is not known, so it cannot be shown to be old (%(detail)s)."),
        _("Year built unknown"),
    ),
    "compound_too_new": (
        _("The compound was built too recently for the programme: %(detail)s."),
        _("Compound too new"),
    ),
    "compound_in_other_project": (
        _("The compound is already in an active project of another programme (%(detail)s)."),
        _("Compound in another project"),
    ),
    "missing_step_date": (_("The status needs the date in column %(column)s."), _("Step date missing")),
    "date_beyond_status": (
        _("Column %(column)s has a date for a step the status has not reached: %(detail)s."),
        _("Date beyond the status"),
    ),
    "dates_out_of_order": (_("Dates out of order: %(detail)s."), _("Dates out of order")),
    "finished_without_start": (_("The project is finished but has no start date."), _("Finished without start")),
    "finished_without_inspection": (
        _("The project is finished but has no final inspection date."),
        _("Finished without inspection"),
    ),
    "consultation_incomplete": (
        _("The consultation needs its date and all four counts; column %(column)s is empty."),
        _("Consultation incomplete"),
    ),
    "consultation_counts": (_("The consultation's counts do not add up: %(detail)s."), _("Consultation counts wrong")),
    "consent_not_reached": (
        _("The works cannot have started without the households' consent (Civil Code art. 278): %(detail)s."),
        _("Consent not reached"),
    ),
}
for _code, (_sentence, _label) in RENOVATION_REASONS.items():
    REASONS.setdefault(_code, _sentence)
    REASON_LABELS.setdefault(_code, _label)

# the step each status has reached, and the column holding each step's date
STEPS = (
    ("selected", "selected_on"),
    ("planned", "planned_on"),
    ("started", "started_on"),
    ("finished", "finished_on"),
)
RANK = {"selected": 0, "planned": 1, "started": 2, "finished": 3, "cancelled": -1}
COUNT_COLUMNS = ("households", "participating", "in_favour", "against")


def _days(table: pa.Table, name: str) -> np.ndarray:
    """Days since 1970 of a date column, -1 where empty."""
    column = pc.cast(table.column(name), pa.int32())
    return pc.fill_null(column, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _ints(table: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(table.column(name), -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _refuse(reasons, columns, details, bad, code: str, column: str = "", detail=None) -> None:
    bad = bad & (reasons == "")
    if bad.any():
        reasons[bad], columns[bad] = code, column
        if detail is not None:
            details[bad] = detail[bad] if isinstance(detail, np.ndarray) else detail


def check_project_rows(table: pa.Table, reasons: np.ndarray, columns: np.ndarray, details: np.ndarray) -> None:
    """Per-row rules, vectorised: dates of the steps reached, in order, not in the future; the
    consultation complete and adding up."""
    status = np.asarray(pc.fill_null(table.column("status"), "").to_pylist(), dtype=object)
    rank = np.array([RANK.get(s, 0) for s in status])
    cancelled = status == ProjectStatus.CANCELLED
    days = {
        name: _days(table, name)
        for name in (
            "selected_on",
            "planned_on",
            "started_on",
            "inspected_on",
            "finished_on",
            "cancelled_on",
            "consulted_on",
        )
    }
    has = {name: d >= 0 for name, d in days.items()}
    today = (timezone.localdate() - EPOCH).days
    for name, d in days.items():
        _refuse(reasons, columns, details, has[name] & (d > today), "invalid_date", name, "future")
    finished = status == ProjectStatus.FINISHED
    _refuse(
        reasons,
        columns,
        details,
        (finished | has["finished_on"]) & ~has["started_on"],
        "finished_without_start",
        "started_on",
    )
    for step, (_name, column) in enumerate(STEPS):
        _refuse(reasons, columns, details, (rank >= step) & ~cancelled & ~has[column], "missing_step_date", column)
        beyond = has[column] & (rank < step) & ~cancelled
        _refuse(reasons, columns, details, beyond, "date_beyond_status", column, status.astype(str))
    _refuse(reasons, columns, details, finished & ~has["inspected_on"], "finished_without_inspection", "inspected_on")
    _refuse(reasons, columns, details, cancelled & ~has["cancelled_on"], "missing_step_date", "cancelled_on")
    pairs = (
        ("selected_on", "planned_on"),
        ("planned_on", "started_on"),
        ("started_on", "inspected_on"),
        ("inspected_on", "finished_on"),
        ("started_on", "finished_on"),
        ("selected_on", "cancelled_on"),
        ("selected_on", "consulted_on"),
    )
    for earlier, later in pairs:
        bad = has[earlier] & has[later] & (days[later] < days[earlier])
        _refuse(reasons, columns, details, bad, "dates_out_of_order", later, f"{later} < {earlier}")
    counts = {name: _ints(table, name) for name in COUNT_COLUMNS}
    given = has["consulted_on"] | np.logical_or.reduce([counts[n] >= 0 for n in COUNT_COLUMNS])
    for name in ("consulted_on", *COUNT_COLUMNS):
        missing = ~has[name] if name == "consulted_on" else counts[name] < 0
        _refuse(reasons, columns, details, given & missing, "consultation_incomplete", name)
    h, p, f, a = (counts[n] for n in COUNT_COLUMNS)
    zero = given & (h == 0)
    _refuse(reasons, columns, details, zero, "consultation_counts", "households", "households = 0")
    over = given & (p > h)
    _refuse(
        reasons,
        columns,
        details,
        over,
        "consultation_counts",
        "participating",
        np.char.add(np.char.add(p.astype(str), " > "), h.astype(str)).astype(object),
    )
    votes = given & (f + a > p)
    _refuse(
        reasons,
        columns,
        details,
        votes,
        "consultation_counts",
        "in_favour",
        np.char.add(np.char.add((f + a).astype(str), " > "), p.astype(str)).astype(object),
    )


@register
class ProjectImport(ImportKind):
    name = "renovation_projects"
    label = _("Renovation projects")
    key = ("programme_code", "compound_code")
    columns = (
        Column("programme_code", "改造计划编号", True, Text(32)),
        Column("compound_code", "小区编码", True, Text(32)),
        Column("year", "计划年度", True, Integer(1990, 2100)),
        Column("status", "状态", True, Choice(STATUS_SPELLINGS)),
        Column("selected_on", "入选日期", True, Date()),
        Column("planned_on", "计划日期", False, Date()),
        Column("started_on", "开工日期", False, Date()),
        Column("inspected_on", "竣工验收日期", False, Date()),
        Column("finished_on", "完工日期", False, Date()),
        Column("cancelled_on", "取消日期", False, Date()),
        Column("budget_central", "中央补助", False, MONEY),
        Column("budget_provincial", "省级资金", False, MONEY),
        Column("budget_city", "市级资金", False, MONEY),
        Column("budget_district", "区级资金", False, MONEY),
        Column("budget_residents", "居民出资", False, MONEY),
        Column("budget_enterprise", "社会资本", False, MONEY),
        Column("spent", "已支出", False, MONEY),
        Column("consulted_on", "征求意见日期", False, Date()),
        Column("consultation_kind", "征求意见方式", False, Choice(KIND_SPELLINGS)),
        Column("households", "总户数", False, COUNT),
        Column("participating", "参与户数", False, COUNT),
        Column("in_favour", "同意户数", False, COUNT),
        Column("against", "反对户数", False, COUNT),
    )
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_programme_id", "bigint"),
        ("_compound_id", "bigint"),
        ("_consent_ok", "integer"),
    )

    def check(self, table, reasons, columns, details) -> None:
        check_project_rows(table, reasons, columns, details)

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In the compound renovated."""
        return (
            f"SELECT s._line, {place_of('c', compound='id', building='NULL')} FROM {staging.name} s "
            "JOIN geo_compound c ON c.code = s.compound_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s, p = q(staging.name), q(Project._meta.db_table)
        rules = policy()
        before = int(rules.renovation_built_before)
        share_in, share_for = (float(rules.renovation_consent[k]) - 1e-9 for k in ("participation", "consent"))
        execute(
            f"UPDATE {s} AS s SET _programme_id = g.id FROM {q(Programme._meta.db_table)} g "
            "WHERE g.code = s.programme_code"
        )
        ctx.reject(staging, "s._programme_id IS NULL", "unknown_programme", "programme_code", "s.programme_code")
        ctx.reject(
            staging,
            f"EXISTS (SELECT 1 FROM {q(Programme._meta.db_table)} g WHERE g.id = s._programme_id "
            "AND (s.year < g.first_year OR s.year > g.last_year))",
            "year_outside_programme",
            "year",
            "CAST(s.year AS text)",
        )
        execute(f"UPDATE {s} AS s SET _compound_id = c.id FROM geo_compound c WHERE c.code = s.compound_code")
        ctx.reject(staging, "s._compound_id IS NULL", "unknown_compound", "compound_code", "s.compound_code")
        compound = "(SELECT c.built_year FROM geo_compound c WHERE c.id = s._compound_id)"
        ctx.reject(staging, f"{compound} IS NULL", "built_year_unknown", "compound_code", "s.compound_code")
        ctx.reject(
            staging,
            f"{compound} >= {before}",
            "compound_too_new",
            "compound_code",
            f"CAST({compound} AS text) || ' >= {before}'",
        )
        active = ", ".join(f"'{status}'" for status in ("selected", "planned", "started", "finished"))
        other = (
            f"SELECT g.code FROM {p} x JOIN {q(Programme._meta.db_table)} g ON g.id = x.programme_id "
            f"WHERE x.compound_id = s._compound_id AND x.programme_id <> s._programme_id AND x.status IN ({active})"
        )
        ctx.reject(
            staging,
            f"s.status <> 'cancelled' AND EXISTS ({other})",
            "compound_in_other_project",
            "compound_code",
            f"({other} LIMIT 1)",
        )
        # consent (Civil Code art. 278): the row's own consultation, held by the start …
        meets = (
            "{c}.households > 0 AND {c}.participating >= {c}.households * %s "
            "AND {c}.in_favour >= {c}.participating * %s"
        )
        execute(
            f"UPDATE {s} AS s SET _consent_ok = 1 WHERE s.consulted_on IS NOT NULL AND s.started_on IS NOT NULL "
            f"AND s.consulted_on <= s.started_on AND {meets.format(c='s')}",
            [share_in, share_for],
        )
        # … or the latest one already recorded on or before the start
        c = q(Consultation._meta.db_table)
        latest = (
            f"SELECT c.id FROM {c} c JOIN {p} x ON x.id = c.project_id WHERE x.programme_id = s._programme_id "
            "AND x.compound_id = s._compound_id AND c.held_on <= s.started_on "
            "ORDER BY c.held_on DESC, c.id DESC LIMIT 1"
        )
        execute(
            f"UPDATE {s} AS s SET _consent_ok = 1 WHERE s._consent_ok IS NULL AND s.started_on IS NOT NULL "
            f"AND (s.consulted_on IS NULL OR s.consulted_on > s.started_on) "
            f"AND EXISTS (SELECT 1 FROM {c} k WHERE k.id = ({latest}) AND {meets.format(c='k')})",
            [share_in, share_for],
        )
        ctx.reject(
            staging,
            "s.status IN ('started', 'finished') AND s._consent_ok IS NULL",
            "consent_not_reached",
            "status",
            "CASE WHEN s.consulted_on IS NULL THEN 'no consultation on or before the start' ELSE "
            "CAST(s.participating AS text) || '/' || CAST(s.households AS text) || ' taking part, ' || "
            "CAST(s.in_favour AS text) || ' in favour' END",
        )
        place = "(SELECT c.{col} FROM geo_compound c WHERE c.id = s._compound_id)"
        result = upsert(
            staging,
            target=Project._meta.db_table,
            model_label=Project._meta.label_lower,
            key=[("programme_id", "s._programme_id"), ("compound_id", "s._compound_id")],
            values=[
                ("year", "s.year"),
                ("status", "s.status"),
                *(
                    (name, f"s.{name}")
                    for name in (
                        "selected_on",
                        "planned_on",
                        "started_on",
                        "inspected_on",
                        "finished_on",
                        "cancelled_on",
                    )
                ),
                *((field, f"COALESCE(s.{field}, 0)") for field in BUDGET_FIELDS.values()),
                ("spent", "COALESCE(s.spent, 0)"),
            ],
            insert_only=[
                ("note", "''"),
                ("extra", as_json("s._extra")),
                *((f"{level}_id", place.format(col=f"{level}_id")) for level in ("district", "street", "community")),
                ("grid_id", place.format(col="grid_id")),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
        self._write_steps(ctx, staging)
        self._write_consultations(ctx, staging)
        return result

    @staticmethod
    def _write_steps(ctx: LoadContext, staging: Staging) -> None:
        """The history row of every step a row dates, once (re-imports add none)."""
        s, t = q(staging.name), q(ProjectStep._meta.db_table)
        now = timezone.now()
        for status, column in (*STEPS, ("cancelled", "cancelled_on")):
            execute(
                f"INSERT INTO {t} (project_id, status, {q('on')}, recorded_at, user_id, source, note) "
                f"SELECT s._target_id, %s, s.{column}, %s, %s, 'import', %s FROM {s} s "
                f"WHERE s.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {t} x WHERE x.project_id = s._target_id AND x.status = %s)",
                [status, now, ctx.user_id, f"renovation_projects import #{ctx.batch_id}", status],
            )

    @staticmethod
    def _write_consultations(ctx: LoadContext, staging: Staging) -> None:
        s, t = q(staging.name), q(Consultation._meta.db_table)
        now = timezone.now()
        kind = f"COALESCE(s.consultation_kind, '{ConsultationKind.SURVEY}')"
        execute(
            f"INSERT INTO {t} (project_id, held_on, kind, households, participating, in_favour, against, minutes, "
            "note, recorded_by_id, extra, created_at, updated_at) "
            f"SELECT s._target_id, s.consulted_on, {kind}, s.households, s.participating, s.in_favour, s.against, '', "
            f"%s, %s, {as_json(chr(39) + '{}' + chr(39))}, %s, %s FROM {s} s WHERE s.consulted_on IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.project_id = s._target_id AND x.held_on = s.consulted_on "
            f"AND x.kind = {kind})",
            [f"renovation_projects import #{ctx.batch_id}", ctx.user_id, now, now],
        )
