"""Import kinds of reopening, through the shared framework (core.imports):

- ``units``: the register of schools and enterprises (key ``code``), placed by compound or venue;
- ``unit_status``: dated status changes the education or economy bureau decided before Linli kept the
  checklists (their lists of units reopened or suspended), key (``unit_code``, ``at``);
- ``staff_back``: staff back at work per unit and day, key (``unit_code``, ``day``).

All three load set-based: rows are staged, checked in SQL against what is registered, then written
with one statement each. Re-importing a file changes nothing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import ChangeAction
from core.imports.columns import Choice, Column, Date, DateTime, Integer, Pattern, Text
from core.imports.kinds import PLACED, ImportKind, LoadContext, place_of, register
from core.imports.reasons import REASON_LABELS, REASONS
from core.imports.sql import Staging, UpsertResult, as_json, execute, json_object, q, upsert
from core.moments import local_day_sql
from reopening.choices import RECORDED_TRANSITIONS, SECTORS_BY_KIND, Sector, UnitKind, UnitStatus
from reopening.models import StaffReport, Unit, UnitStatusChange

UNIT_CODE = Pattern(r"^[0-9A-Za-z][0-9A-Za-z\-_.]{0,31}$", upper=True)
FUTURE_SLACK_SECONDS = 300

KIND_SPELLINGS = {
    "school": UnitKind.SCHOOL,
    "学校": UnitKind.SCHOOL,
    "enterprise": UnitKind.ENTERPRISE,
    "企业": UnitKind.ENTERPRISE,
    "company": UnitKind.ENTERPRISE,
}
SECTOR_SPELLINGS = {
    **{value: value for value in Sector.values},
    **{value.replace("_", " "): value for value in Sector.values},
    "制造业": Sector.MANUFACTURING,
    "建筑业": Sector.CONSTRUCTION,
    "零售": Sector.RETAIL,
    "批发零售": Sector.RETAIL,
    "批发和零售业": Sector.RETAIL,
    "餐饮": Sector.CATERING,
    "住宿餐饮": Sector.CATERING,
    "物流": Sector.LOGISTICS,
    "交通运输": Sector.LOGISTICS,
    "服务业": Sector.SERVICES,
    "金融": Sector.FINANCE,
    "金融业": Sector.FINANCE,
    "其他": Sector.OTHER,
    "幼儿园": Sector.KINDERGARTEN,
    "小学": Sector.PRIMARY,
    "初中": Sector.JUNIOR_SECONDARY,
    "高中": Sector.SENIOR_SECONDARY,
    "中职": Sector.VOCATIONAL,
    "职业学校": Sector.VOCATIONAL,
    "高校": Sector.HIGHER,
    "高等教育": Sector.HIGHER,
}
RECORDED_SPELLINGS = {
    "open": UnitStatus.OPEN,
    "opened": UnitStatus.OPEN,
    "复课": UnitStatus.OPEN,
    "复工": UnitStatus.OPEN,
    "开放": UnitStatus.OPEN,
    "suspended": UnitStatus.SUSPENDED,
    "暂停": UnitStatus.SUSPENDED,
    "停课": UnitStatus.SUSPENDED,
    "停工": UnitStatus.SUSPENDED,
}

UNIT_REASONS = {
    "unknown_unit": (_("The unit code %(detail)s is not registered."), _("Unknown unit code")),
    "unknown_compound": (_("The compound code %(detail)s is not registered."), _("Unknown compound code")),
    "no_location": (_("Give the unit's compound_code or venue_code."), _("No compound or venue")),
    "sector_not_of_kind": (
        _("The sector %(detail)s is not one of this kind of unit's."),
        _("Sector does not fit the kind"),
    ),
    "venue_kind_mismatch": (
        _("The venue %(detail)s is not a place of this kind of unit."),
        _("Venue of the wrong kind"),
    ),
    "venue_compound_mismatch": (
        _("The venue and the compound are in different grids: %(detail)s."),
        _("Venue and compound apart"),
    ),
    "pupils_for_enterprise": (_("An enterprise has no pupils: %(detail)s."), _("Pupils given for an enterprise")),
    "negative_count": (_("Column %(column)s cannot be negative: %(detail)s."), _("Negative count")),
    "staff_back_over_staff": (
        _("More staff back than the unit has: %(detail)s."),
        _("More staff back than staff"),
    ),
    "before_registration": (
        _("The change is dated before the unit was registered (%(detail)s)."),
        _("Dated before registration"),
    ),
    "out_of_order": (
        _("The unit's history already has a later change (%(detail)s)."),
        _("Older than the unit's history"),
    ),
    "status_move_not_allowed": (
        _("This status change cannot be recorded: %(detail)s."),
        _("Status change not allowed"),
    ),
    "after_refused_row": (
        _("An earlier change of the same unit was refused (row %(detail)s)."),
        _("After a refused change"),
    ),
    "history_conflict": (
        _("The unit's history has another status at this time: %(detail)s."),
        _("Conflicts with history"),
    ),
}
for _code, (_sentence, _label) in UNIT_REASONS.items():
    REASONS.setdefault(_code, _sentence)
    REASON_LABELS.setdefault(_code, _label)


def _ints(table: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(table.column(name), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def _strings(table: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(table.column(name), "").to_numpy(zero_copy_only=False).astype(object)


def _refuse_negative(table, names, reasons, columns, details) -> None:
    for name in names:
        values = _ints(table, name)
        bad = (reasons == "") & (values < 0)
        reasons[bad], columns[bad] = "negative_count", name
        details[bad] = values[bad].astype(str)


def _refuse_future(stamps: np.ndarray, column: str, reasons, columns, details) -> None:
    future = (reasons == "") & (stamps > timezone.now().timestamp() + FUTURE_SLACK_SECONDS)
    reasons[future], columns[future] = "invalid_date", column
    details[future] = "future"


@register
class UnitImport(ImportKind):
    """The register of schools and enterprises: an idempotent upsert by code. A unit placed by a
    venue takes the venue's grid and the nearest compound of that grid (where an outbreak would
    concern it); new units start closed."""

    name = "units"
    label = _("Schools and enterprises")
    key = ("code",)
    columns = (
        Column("code", "单位编码", True, UNIT_CODE),
        Column("name", "单位名称", True, Text(120)),
        Column("kind", "类型", True, Choice(KIND_SPELLINGS)),
        Column("sector", "行业或学段", True, Choice(SECTOR_SPELLINGS)),
        Column("compound_code", "小区编码", False, Text(32)),
        Column("venue_code", "场所码", False, Text(32)),
        Column("staff", "职工人数", True, Integer()),
        Column("pupils", "学生人数", False, Integer()),
        Column("registered_on", "登记日期", False, Date()),
    )
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_compound_id", "bigint"),
        ("_venue_id", "bigint"),
        ("_grid_id", "bigint"),
        ("_community_id", "bigint"),
        ("_street_id", "bigint"),
        ("_district_id", "bigint"),
    )

    def check(self, table, reasons, columns, details) -> None:
        _refuse_negative(table, ("staff", "pupils"), reasons, columns, details)
        kinds, sectors = _strings(table, "kind"), _strings(table, "sector")
        fits = np.array(
            [sector in SECTORS_BY_KIND.get(kind, ()) for kind, sector in zip(kinds, sectors, strict=True)], dtype=bool
        )
        bad = (reasons == "") & ~fits
        reasons[bad], columns[bad], details[bad] = "sector_not_of_kind", "sector", sectors[bad]
        placed = (_strings(table, "compound_code") != "") | (_strings(table, "venue_code") != "")
        bad = (reasons == "") & ~placed
        reasons[bad], columns[bad] = "no_location", "compound_code"
        pupils = pc.is_valid(table.column("pupils")).to_numpy(zero_copy_only=False)
        bad = (reasons == "") & pupils & (kinds == UnitKind.ENTERPRISE) & (_ints(table, "pupils") > 0)
        reasons[bad], columns[bad] = "pupils_for_enterprise", "pupils"
        details[bad] = _ints(table, "pupils")[bad].astype(str)

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In its compound, or where its venue is; an existing unit also where it is now."""
        s = staging.name
        return (
            f"SELECT s._line, {place_of('c', compound='id', building='NULL')} FROM {s} s "
            "JOIN geo_compound c ON c.code = s.compound_code "
            f"UNION ALL SELECT s._line, {place_of('v', compound='NULL', building='NULL')} FROM {s} s "
            "JOIN geo_venue v ON v.code = s.venue_code "
            f"UNION ALL SELECT s._line, {place_of('u', compound='compound_id', building='NULL')} FROM {s} s "
            "JOIN reopening_unit u ON u.code = s.code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s = q(staging.name)
        execute(f"UPDATE {s} AS s SET _compound_id = c.id FROM geo_compound c WHERE c.code = s.compound_code")
        ctx.reject(
            staging,
            "s.compound_code IS NOT NULL AND s.compound_code <> '' AND s._compound_id IS NULL",
            "unknown_compound",
            "compound_code",
            "s.compound_code",
        )
        execute(f"UPDATE {s} AS s SET _venue_id = v.id FROM geo_venue v WHERE v.code = s.venue_code")
        ctx.reject(
            staging,
            "s.venue_code IS NOT NULL AND s.venue_code <> '' AND s._venue_id IS NULL",
            "unknown_venue",
            "venue_code",
            "s.venue_code",
        )
        ctx.reject(
            staging,
            "EXISTS (SELECT 1 FROM geo_venue v WHERE v.id = s._venue_id AND ("
            "(s.kind = 'school' AND v.kind <> 'school') OR (s.kind = 'enterprise' AND v.kind IN ('school', 'gate'))))",
            "venue_kind_mismatch",
            "venue_code",
            "s.venue_code",
        )
        ctx.reject(
            staging,
            "EXISTS (SELECT 1 FROM geo_venue v JOIN geo_compound c ON c.id = s._compound_id "
            "WHERE v.id = s._venue_id AND v.grid_id <> c.grid_id)",
            "venue_compound_mismatch",
            "compound_code",
            "s.venue_code || ' / ' || s.compound_code",
        )
        # a venue's unit is in the venue's grid, at the compound of that grid nearest to it
        execute(
            f"UPDATE {s} AS s SET _compound_id = (SELECT c.id FROM geo_compound c JOIN geo_venue v "
            "ON v.id = s._venue_id WHERE c.grid_id = v.grid_id "
            "ORDER BY (COALESCE(c.lat, 0) - COALESCE(v.lat, 0)) * (COALESCE(c.lat, 0) - COALESCE(v.lat, 0)) "
            "+ (COALESCE(c.lon, 0) - COALESCE(v.lon, 0)) * (COALESCE(c.lon, 0) - COALESCE(v.lon, 0)), c.id LIMIT 1) "
            "WHERE s._compound_id IS NULL AND s._venue_id IS NOT NULL"
        )
        execute(
            f"UPDATE {s} AS s SET _grid_id = v.grid_id, _community_id = v.community_id, _street_id = v.street_id, "
            "_district_id = v.district_id FROM geo_venue v WHERE v.id = s._venue_id"
        )
        execute(
            f"UPDATE {s} AS s SET _grid_id = c.grid_id, _community_id = c.community_id, _street_id = c.street_id, "
            "_district_id = c.district_id FROM geo_compound c WHERE c.id = s._compound_id AND s._venue_id IS NULL"
        )
        return upsert(
            staging,
            target=Unit._meta.db_table,
            model_label=Unit._meta.label_lower,
            key=[("code", "s.code")],
            values=[
                ("name", "s.name"),
                ("kind", "s.kind"),
                ("sector", "s.sector"),
                ("staff_count", "s.staff"),
                ("pupils", "s.pupils"),
                ("compound_id", "s._compound_id"),
                ("venue_id", "s._venue_id"),
                ("grid_id", "s._grid_id"),
                ("community_id", "s._community_id"),
                ("street_id", "s._street_id"),
                ("district_id", "s._district_id"),
                ("extra", as_json("s._extra")),
            ],
            insert_only=[
                ("status", f"'{UnitStatus.CLOSED.value}'"),
                ("registered_on", f"COALESCE(s.registered_on, {_quoted(timezone.localdate().isoformat())})"),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )


def _quoted(text: str) -> str:
    """A date literal for SQL (from our own date, never from a file)."""
    return "'" + text.replace("'", "") + "'"


@register
class UnitStatusImport(ImportKind):
    """Status changes decided by the authority: appended to each unit's history in time order, only
    the moves of RECORDED_TRANSITIONS (reopening.choices). A unit's rows after a refused one are
    refused too: its history must stay whole. The unit's current status follows its newest row."""

    name = "unit_status"
    label = _("Units reopened or suspended (authority's list)")
    key = ("unit_code", "at")
    columns = (
        Column("unit_code", "单位编码", True, UNIT_CODE),
        Column("at", "时间", True, DateTime()),
        Column("status", "状态", True, Choice(RECORDED_SPELLINGS)),
        Column("reason", "依据", True, Text(300)),
    )
    staging_extra = (
        ("_unit_id", "bigint"),
        ("_target_id", "bigint"),
        ("_prev", "text"),
        ("_first_bad", "text"),
        ("_bad_line", "bigint"),
    )

    def check(self, table, reasons, columns, details) -> None:
        stamps = pc.fill_null(pc.cast(table.column("at"), pa.int64()), 0).to_numpy(zero_copy_only=False)
        _refuse_future(stamps, "at", reasons, columns, details)

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """Where the unit is."""
        return (
            f"SELECT s._line, {place_of('u', compound='compound_id', building='NULL')} "
            f"FROM {staging.name} s JOIN reopening_unit u ON u.code = s.unit_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s, h, u = q(staging.name), q(UnitStatusChange._meta.db_table), q(Unit._meta.db_table)
        execute(f"UPDATE {s} AS s SET _unit_id = u.id FROM {u} u WHERE u.code = s.unit_code")
        ctx.reject(staging, "s._unit_id IS NULL", "unknown_unit", "unit_code", "s.unit_code")
        execute(
            f"UPDATE {s} AS s SET _target_id = h.id FROM {h} h "
            "WHERE h.unit_id = s._unit_id AND h.at = s.at AND h.source = 'import'"
        )
        ctx.reject(
            staging,
            f"s._target_id IS NOT NULL AND EXISTS (SELECT 1 FROM {h} h WHERE h.id = s._target_id "
            "AND h.to_status <> s.status)",
            "history_conflict",
            "status",
            "s.status",
        )
        new = "s._target_id IS NULL"
        ctx.reject(
            staging,
            f"{new} AND EXISTS (SELECT 1 FROM {u} u WHERE u.id = s._unit_id "
            f"AND {local_day_sql('s.at')} < u.registered_on)",
            "before_registration",
            "at",
            f"(SELECT CAST(u.registered_on AS text) FROM {u} u WHERE u.id = s._unit_id)",
        )
        ctx.reject(
            staging,
            f"{new} AND EXISTS (SELECT 1 FROM {h} h WHERE h.unit_id = s._unit_id AND h.at >= s.at)",
            "out_of_order",
            "at",
            f"(SELECT CAST(MAX(h.at) AS text) FROM {h} h WHERE h.unit_id = s._unit_id)",
        )
        # each new row's previous status: the unit's row before it in the file, else the unit's now
        execute(
            f"UPDATE {s} AS s SET _prev = COALESCE("
            f"(SELECT x.status FROM {s} x WHERE x._unit_id = s._unit_id AND x._target_id IS NULL AND x.at < s.at "
            "ORDER BY x.at DESC LIMIT 1), "
            f"(SELECT u.status FROM {u} u WHERE u.id = s._unit_id)) WHERE {new}"
        )
        allowed = " OR ".join(f"(s._prev = '{a}' AND s.status = '{b}')" for a, b in sorted(RECORDED_TRANSITIONS))
        bad = f"{new} AND NOT ({allowed})"
        execute(
            f"UPDATE {s} AS s SET _first_bad = (SELECT CAST(MIN(x.at) AS text) FROM {s} x "
            f"WHERE x._unit_id = s._unit_id AND x._target_id IS NULL AND NOT ({allowed.replace('s.', 'x.')})) "
            f"WHERE {new}"
        )
        execute(
            f"UPDATE {s} AS s SET _bad_line = (SELECT MIN(x._line) FROM {s} x WHERE x._unit_id = s._unit_id "
            f"AND x._target_id IS NULL AND CAST(x.at AS text) = s._first_bad) WHERE {new} AND s._first_bad IS NOT NULL"
        )
        ctx.reject(
            staging,
            f"{new} AND s._first_bad IS NOT NULL AND CAST(s.at AS text) > s._first_bad",
            "after_refused_row",
            "at",
            "CAST(s._bad_line AS text)",
        )
        ctx.reject(staging, bad, "status_move_not_allowed", "status", "s._prev || ' → ' || s.status")
        unchanged = staging.count("s._target_id IS NOT NULL")
        inserted = execute(
            f"INSERT INTO {h} (unit_id, at, from_status, to_status, reason, by_id, source, application_id) "
            f"SELECT s._unit_id, s.at, s._prev, s.status, s.reason, %s, 'import', NULL FROM {s} s WHERE {new}",
            [ctx.user_id],
        )
        if inserted:
            self._move_units(ctx, staging)
        return UpsertResult(inserted=max(inserted, 0), updated=0, unchanged=unchanged)

    @staticmethod
    def _move_units(ctx: LoadContext, staging: Staging) -> None:
        """Each unit takes its newest new row's status; the change log keeps before and after."""
        s, u = q(staging.name), q(Unit._meta.db_table)
        newest = (
            f"s._target_id IS NULL AND s.at = (SELECT MAX(x.at) FROM {s} x "
            "WHERE x._unit_id = s._unit_id AND x._target_id IS NULL)"
        )
        now = timezone.now()
        before = json_object([("status", "u.status")])
        after = json_object([("status", "s.status")])
        execute(
            "INSERT INTO core_changelog (at, user_id, source, action, model, object_id, object_repr, before, after, "
            f"batch_id) SELECT %s, %s, %s, %s, %s, u.id, '', {before}, {after}, %s FROM {s} s "
            f"JOIN {u} u ON u.id = s._unit_id WHERE {newest} AND u.status <> s.status",
            [now, ctx.user_id, ctx.source, ChangeAction.UPDATE.value, Unit._meta.label_lower, ctx.batch_id],
        )
        execute(
            f"UPDATE {u} AS u SET status = s.status, status_since = s.at, updated_at = %s FROM {s} s "
            f"WHERE u.id = s._unit_id AND {newest}",
            [now],
        )


@register
class StaffBackImport(ImportKind):
    """Staff back at work per unit and day (the unit's own count or the bureau's survey)."""

    name = "staff_back"
    label = _("Staff back at work")
    key = ("unit_code", "day")
    columns = (
        Column("unit_code", "单位编码", True, UNIT_CODE),
        Column("day", "日期", True, Date()),
        Column("staff_back", "到岗人数", True, Integer()),
    )
    staging_extra = (("_target_id", "bigint"), ("_action", "text"), ("_unit_id", "bigint"))

    def check(self, table, reasons, columns, details) -> None:
        _refuse_negative(table, ("staff_back",), reasons, columns, details)
        days = pc.fill_null(pc.cast(table.column("day"), pa.int32()), 0).to_numpy(zero_copy_only=False)
        today = (timezone.localdate() - dt.date(1970, 1, 1)).days
        future = (reasons == "") & (days > today)
        reasons[future], columns[future], details[future] = "invalid_date", "day", "future"

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """Where the unit is."""
        return (
            f"SELECT s._line, {place_of('u', compound='compound_id', building='NULL')} "
            f"FROM {staging.name} s JOIN reopening_unit u ON u.code = s.unit_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s, u = q(staging.name), q(Unit._meta.db_table)
        execute(f"UPDATE {s} AS s SET _unit_id = u.id FROM {u} u WHERE u.code = s.unit_code")
        ctx.reject(staging, "s._unit_id IS NULL", "unknown_unit", "unit_code", "s.unit_code")
        ctx.reject(
            staging,
            f"EXISTS (SELECT 1 FROM {u} u WHERE u.id = s._unit_id AND s.staff_back > u.staff_count)",
            "staff_back_over_staff",
            "staff_back",
            f"CAST(s.staff_back AS text) || ' > ' || (SELECT CAST(u.staff_count AS text) FROM {u} u "
            "WHERE u.id = s._unit_id)",
        )
        return upsert(
            staging,
            target=StaffReport._meta.db_table,
            model_label=StaffReport._meta.label_lower,
            key=[("unit_id", "s._unit_id"), ("day", "s.day")],
            values=[("staff_back", "s.staff_back")],
            insert_only=[
                ("source", "'import'"),
                ("reported_at", "CURRENT_TIMESTAMP"),
                ("reported_by_id", "NULL" if ctx.user_id is None else str(int(ctx.user_id))),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
            timestamps=False,
        )
