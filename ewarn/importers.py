"""Import kinds of the two new early-warning sources (issue #9, item 1), through the shared import
framework: ``pharmacy_sales`` (units sold per pharmacy, day and product class, placed by the area
code it gives) and ``school_absence`` (a school's roll call, placed by the school's registered venue).

Both are keyed by what identifies a report (pharmacy, day and class; school and day), so a file sent
twice changes nothing and a corrected file replaces the figures it carries. The days a file touches
are recounted into the signal table in the same transaction.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.imports.columns import Choice, Column, Date, Integer, Pattern
from core.imports.kinds import PLACED, ImportKind, LoadContext, place_of, place_of_division, register
from core.imports.reasons import REASON_LABELS, REASONS
from core.imports.sql import Staging, UpsertResult, execute, fetch, q, upsert
from ewarn.choices import ProductClass
from ewarn.models import PharmacySale, SchoolAbsence
from ewarn.signals import PHARMACY_SIGNALS, SCHOOL_SIGNALS, recount

CODE = Pattern(r"^[0-9A-Za-z][0-9A-Za-z\-_.]{0,31}$", upper=True)
AREA_CODE = Pattern(r"^\d{9,15}$")

PRODUCT_SPELLINGS = {
    **{value: value for value in ProductClass.values},
    "退热": ProductClass.ANTIPYRETIC,
    "退烧": ProductClass.ANTIPYRETIC,
    "解热镇痛": ProductClass.ANTIPYRETIC,
    "antipyretics": ProductClass.ANTIPYRETIC,
    "止咳": ProductClass.COUGH,
    "镇咳": ProductClass.COUGH,
    "止咳化痰": ProductClass.COUGH,
    "抗病毒": ProductClass.ANTIVIRAL,
    "antivirals": ProductClass.ANTIVIRAL,
}

EWARN_REASONS = {
    "unknown_area": (
        _("The area code %(detail)s is not a registered community or grid."),
        _("Unknown area code"),
    ),
    "unknown_school": (
        _("The school code %(detail)s is not a registered venue of kind school."),
        _("Unknown school code"),
    ),
    "absent_over_enrolled": (
        _("More pupils absent than enrolled: %(detail)s."),
        _("More absent than enrolled"),
    ),
    "fever_over_absent": (
        _("More pupils absent with fever than absent: %(detail)s."),
        _("More absent with fever than absent"),
    ),
    "future_date": (
        _("Column %(column)s is a day that has not come yet: %(detail)s."),
        _("Date in the future"),
    ),
}
for _code, (_sentence, _label) in EWARN_REASONS.items():
    REASONS.setdefault(_code, _sentence)
    REASON_LABELS.setdefault(_code, _label)


def _refuse_future_days(table: pa.Table, reasons: np.ndarray, columns: np.ndarray, details: np.ndarray) -> None:
    """A count for a day that has not come yet is a typo (a year or a month off), not a forecast."""
    days = pc.cast(table.column("date"), pa.int32()).to_numpy(zero_copy_only=False)
    today = (timezone.localdate() - dt.date(1970, 1, 1)).days
    future = (reasons == "") & ~np.isnan(days.astype(float)) & (days > today)
    reasons[future], columns[future] = "future_date", "date"
    details[future] = [str(dt.date(1970, 1, 1) + dt.timedelta(days=int(d))) for d in days[future]]


def _day_range(staging: Staging) -> tuple[dt.date, dt.date] | None:
    first, last = fetch(f"SELECT MIN(s.date), MAX(s.date) FROM {q(staging.name)} s")[0]
    if first is None:
        return None
    as_date = lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v  # noqa: E731 - SQLite gives text
    return as_date(first), as_date(last)


PLACE = [("community_id", "s._community_id"), ("street_id", "s._street_id"), ("district_id", "s._district_id")]


def _store_and_recount(ctx: LoadContext, staging: Staging, model, *, key, values, signals) -> UpsertResult:
    """Upsert the staged reports with their place, then recount the days the file covers."""
    days = _day_range(staging)
    result = upsert(
        staging,
        target=model._meta.db_table,
        model_label=model._meta.label_lower,
        key=key,
        values=[*values, *PLACE],
        insert_only=[("batch_id", str(int(ctx.batch_id)))],
        batch_id=ctx.batch_id,
        user_id=ctx.user_id,
        source=ctx.source,
    )
    if days:
        recount(*days, signals=signals)
    return result


@register
class PharmacySalesImport(ImportKind):
    """Daily units sold by product class; the area (a community, or a grid inside one) places it."""

    name = "pharmacy_sales"
    label = _("Pharmacy sales")
    key = ("pharmacy_code", "date", "product_class")
    columns = (
        Column("pharmacy_code", "药店编码", True, CODE),
        Column("date", "日期", True, Date()),
        Column("product_class", "品类", True, Choice(PRODUCT_SPELLINGS)),
        Column("units", "数量", True, Integer(0, 10_000_000)),
        Column("area_code", "区域代码", True, AREA_CODE),
    )
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_community_id", "bigint"),
        ("_street_id", "bigint"),
        ("_district_id", "bigint"),
    )

    def check(self, table, reasons, columns, details) -> None:
        _refuse_future_days(table, reasons, columns, details)

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In the community or grid the row names."""
        return (
            f"SELECT s._line, {place_of_division('d')} FROM {q(staging.name)} s "
            "JOIN geo_division d ON d.code = s.area_code AND d.level IN ('community', 'grid')"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s = q(staging.name)
        execute(
            f"UPDATE {s} AS s SET _community_id = c.id, _street_id = c.street_id, _district_id = c.district_id "
            "FROM geo_division a JOIN geo_division c "
            "ON c.id = CASE WHEN a.level = 'community' THEN a.id ELSE a.community_id END "
            "WHERE a.code = s.area_code AND a.level IN ('community', 'grid')"
        )
        ctx.reject(staging, "s._community_id IS NULL", "unknown_area", "area_code", "s.area_code")
        return _store_and_recount(
            ctx,
            staging,
            PharmacySale,
            key=[("pharmacy_code", "s.pharmacy_code"), ("day", "s.date"), ("product_class", "s.product_class")],
            values=[("units", "s.units")],
            signals=PHARMACY_SIGNALS,
        )


@register
class SchoolAbsenceImport(ImportKind):
    """A school's daily roll call: enrolled, absent, absent with fever."""

    name = "school_absence"
    label = _("School absences")
    key = ("school_code", "date")
    columns = (
        Column("school_code", "学校编码", True, CODE),
        Column("date", "日期", True, Date()),
        Column("enrolled", "在册人数", True, Integer(0, 100_000)),
        Column("absent", "缺勤人数", True, Integer(0, 100_000)),
        Column("absent_fever", "因发热缺勤", True, Integer(0, 100_000)),
    )
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_school_id", "bigint"),
        ("_community_id", "bigint"),
        ("_street_id", "bigint"),
        ("_district_id", "bigint"),
    )

    def check(self, table, reasons, columns, details) -> None:
        _refuse_future_days(table, reasons, columns, details)
        enrolled, absent, fever = (
            pc.fill_null(table.column(name), 0).to_numpy(zero_copy_only=False)
            for name in ("enrolled", "absent", "absent_fever")
        )
        for bad, code, column, detail in (
            ((reasons == "") & (absent > enrolled), "absent_over_enrolled", "absent", (absent, enrolled)),
            ((reasons == "") & (fever > absent), "fever_over_absent", "absent_fever", (fever, absent)),
        ):
            reasons[bad], columns[bad] = code, column
            details[bad] = [f"{a} > {b}" for a, b in zip(detail[0][bad], detail[1][bad], strict=True)]

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """Where the school is."""
        return (
            f"SELECT s._line, {place_of('v', compound='NULL', building='NULL')} FROM {q(staging.name)} s "
            "JOIN geo_venue v ON v.code = s.school_code AND v.kind = 'school'"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s = q(staging.name)
        execute(
            f"UPDATE {s} AS s SET _school_id = v.id, _community_id = v.community_id, _street_id = v.street_id, "
            "_district_id = v.district_id FROM geo_venue v WHERE v.code = s.school_code AND v.kind = 'school'"
        )
        ctx.reject(staging, "s._school_id IS NULL", "unknown_school", "school_code", "s.school_code")
        return _store_and_recount(
            ctx,
            staging,
            SchoolAbsence,
            key=[("school_id", "s._school_id"), ("day", "s.date")],
            values=[("enrolled", "s.enrolled"), ("absent", "s.absent"), ("absent_fever", "s.absent_fever")],
            signals=SCHOOL_SIGNALS,
        )
