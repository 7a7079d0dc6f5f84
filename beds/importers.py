"""Import kinds of facilities and beds: the city's list of facilities (``facilities``) and the
facilities' dated bed counts (``bed_status``), through the shared import framework (core.imports).

Both load set-based: the rows a file brings are staged, checked in SQL against what is registered,
upserted, and the facilities' current counts moved in one ``UPDATE … FROM`` each. Bed reports are
few (hundreds a day), but the same statements serve a city's first load of thousands.

``bed_status`` rows are history (:class:`beds.models.BedReport`, source ``import``), keyed by
facility and ``as_of``: re-importing a file matches every row and changes nothing. A facility's
current counts take a row only when it is the newest the facility has (a late file fills the
history without turning the board back).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beds.choices import DEFAULT_CATEGORIES, FacilityKind
from beds.models import CATEGORY_SEPARATOR, BedReport, Facility
from cases.choices import Category
from core.imports.columns import Choice, Column, DateTime, Decimal, Integer, Pattern, TagList, Text
from core.imports.kinds import PLACED, ImportKind, LoadContext, register
from core.imports.reasons import REASON_LABELS, REASONS
from core.imports.sql import Staging, UpsertResult, as_json, distinct, execute, q, upsert

FACILITY_CODE = Pattern(r"^[0-9A-Za-z][0-9A-Za-z\-_.]{0,31}$", upper=True)
DISTRICT_CODE = Pattern(r"^\d{12}$")
FUTURE_SLACK_SECONDS = 300  # a report dated a few minutes ahead is a clock off, not the future

KIND_SPELLINGS = {
    **{value: value for value in FacilityKind.values},
    "designated hospital": FacilityKind.DESIGNATED_HOSPITAL,
    "定点医院": FacilityKind.DESIGNATED_HOSPITAL,
    "shelter hospital": FacilityKind.SHELTER_HOSPITAL,
    "方舱": FacilityKind.SHELTER_HOSPITAL,
    "方舱医院": FacilityKind.SHELTER_HOSPITAL,
    "central isolation": FacilityKind.CENTRAL_ISOLATION,
    "集中隔离点": FacilityKind.CENTRAL_ISOLATION,
    "集中隔离": FacilityKind.CENTRAL_ISOLATION,
    "quarantine hotel": FacilityKind.QUARANTINE_HOTEL,
    "隔离酒店": FacilityKind.QUARANTINE_HOTEL,
    "集中医学观察点": FacilityKind.QUARANTINE_HOTEL,
    "fever clinic": FacilityKind.FEVER_CLINIC,
    "发热门诊": FacilityKind.FEVER_CLINIC,
}

# Reject reasons of these kinds, added to the framework's table the way apps add their hooks (core
# keeps no list of the domain apps); setdefault, so a sentence moved into core.imports.reasons wins.
BED_REASONS = {
    "unknown_facility": (
        _("The facility code %(detail)s is not registered."),
        _("Unknown facility code"),
    ),
    "negative_count": (
        _("Column %(column)s cannot be negative: %(detail)s."),
        _("Negative bed count"),
    ),
    "occupied_over_approved": (
        _("More beds occupied than approved: %(detail)s."),
        _("More occupied than approved"),
    ),
    "open_over_approved": (
        _("More beds open than approved: %(detail)s."),
        _("More open than approved"),
    ),
    "occupied_over_open": (
        _("More beds occupied than open: %(detail)s."),
        _("More occupied than open"),
    ),
}
for _code, (_sentence, _label) in BED_REASONS.items():
    REASONS.setdefault(_code, _sentence)
    REASON_LABELS.setdefault(_code, _label)

COUNT_COLUMNS = ("beds_approved", "beds_open", "beds_occupied")


def _ints(table: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(table.column(name), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def check_bed_counts(table: pa.Table, reasons: np.ndarray, columns: np.ndarray, details: np.ndarray) -> None:
    """The rules of beds.services.check_counts, vectorised: no negative count, then occupied within
    approved (the issue's named bad input), open within approved, occupied within open. Only the
    columns a kind has are checked (``facilities`` has no occupied)."""
    present = [name for name in COUNT_COLUMNS if name in table.column_names]
    values = {name: _ints(table, name) for name in present}
    for name in present:
        bad = (reasons == "") & (values[name] < 0)
        reasons[bad], columns[bad] = "negative_count", name
        details[bad] = values[name][bad].astype(str)
    pairs = (
        ("beds_occupied", "beds_approved", "occupied_over_approved"),
        ("beds_open", "beds_approved", "open_over_approved"),
        ("beds_occupied", "beds_open", "occupied_over_open"),
    )
    for more, less, code in pairs:
        if more not in values or less not in values:
            continue
        bad = (reasons == "") & (values[more] > values[less])
        if bad.any():
            reasons[bad], columns[bad] = code, more
            details[bad] = [f"{a} > {b}" for a, b in zip(values[more][bad], values[less][bad], strict=True)]


@register
class FacilityImport(ImportKind):
    """The city's list of facilities: an idempotent upsert by code. Approved and open beds are the
    city's figures and move the current counts (with a history row); occupancy stays the
    facility's own to report, so ``counts_at`` (when the facility last counted) is left alone: a
    new facility shows as not yet reporting until its first ``bed_status`` row or report."""

    name = "facilities"
    label = _("Facilities and beds")
    key = ("code",)
    columns = (
        Column("code", "机构代码", True, FACILITY_CODE),
        Column("name", "名称", True, Text(120)),
        Column("kind", "类型", True, Choice(KIND_SPELLINGS)),
        Column("categories", "收治类别", False, TagList(tuple(Category.values))),
        Column("district_code", "所在区代码", False, DISTRICT_CODE),
        Column("address", "地址", False, Text(200)),
        Column("lat", "纬度", False, Decimal(-90.0, 90.0)),
        Column("lon", "经度", False, Decimal(-180.0, 180.0)),
        Column("beds_approved", "核定床位", True, Integer()),
        Column("beds_open", "开放床位", True, Integer()),
    )
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_district_id", "bigint"),
        ("_counts_changed", "integer"),
    )

    def check(self, table, reasons, columns, details) -> None:
        check_bed_counts(table, reasons, columns, details)

    def derive(self, table: pa.Table) -> pa.Table:
        """Empty categories mean the kind's defaults (domain.md §3, beds.choices.DEFAULT_CATEGORIES)."""
        defaults = pa.array(
            [CATEGORY_SEPARATOR.join(sorted(DEFAULT_CATEGORIES[kind])) for kind in table.column("kind").to_pylist()],
            type=pa.string(),
        )
        given = table.column("categories")
        chosen = pc.if_else(pc.fill_null(pc.not_equal(given, ""), False), given, defaults)
        return table.append_column("_categories", chosen)

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s, t = q(staging.name), q(Facility._meta.db_table)
        execute(
            f"UPDATE {s} AS s SET _district_id = d.id FROM geo_division d "
            "WHERE d.code = s.district_code AND d.level = 'district'"
        )
        ctx.reject(
            staging,
            "s.district_code IS NOT NULL AND s._district_id IS NULL",
            "unknown_parent",
            "district_code",
            "s.district_code",
        )
        # fewer open beds than patients already in them: the facility must discharge first
        ctx.reject(
            staging,
            f"EXISTS (SELECT 1 FROM {t} f WHERE f.code = s.code AND f.beds_occupied > s.beds_open)",
            "occupied_over_open",
            "beds_open",
            f"(SELECT CAST(f.beds_occupied AS text) FROM {t} f WHERE f.code = s.code) || ' > ' "
            "|| CAST(s.beds_open AS text)",
        )
        execute(
            f"UPDATE {s} AS s SET _counts_changed = 1 WHERE NOT EXISTS (SELECT 1 FROM {t} f WHERE f.code = s.code) "
            f"OR EXISTS (SELECT 1 FROM {t} f WHERE f.code = s.code AND "
            f"({distinct('f.beds_approved', 's.beds_approved')} OR {distinct('f.beds_open', 's.beds_open')}))"
        )
        result = upsert(
            staging,
            target=Facility._meta.db_table,
            model_label=Facility._meta.label_lower,
            key=[("code", "s.code")],
            values=[
                ("name", "s.name"),
                ("kind", "s.kind"),
                ("categories", "s._categories"),
                ("district_id", "s._district_id"),
                ("address", "COALESCE(s.address, '')"),
                ("lat", "s.lat"),
                ("lon", "s.lon"),
                ("beds_approved", "s.beds_approved"),
                ("beds_open", "s.beds_open"),
                ("extra", as_json("s._extra")),
            ],
            insert_only=[("active", "TRUE"), ("beds_occupied", "0"), ("beds_reserved", "0")],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
        now = timezone.now()
        changed = f"SELECT s._target_id FROM {s} s WHERE s._counts_changed = 1"
        execute(
            f"INSERT INTO {q(BedReport._meta.db_table)} (facility_id, at, recorded_at, source, beds_approved, "
            "beds_open, beds_occupied, beds_reserved, user_id, note) "
            f"SELECT f.id, %s, %s, 'import', f.beds_approved, f.beds_open, f.beds_occupied, f.beds_reserved, %s, %s "
            f"FROM {t} f WHERE f.id IN ({changed})",
            [now, now, ctx.user_id, f"facilities import #{ctx.batch_id}"],
        )
        return result


@register
class BedStatusImport(ImportKind):
    """A facility's counts as of a time: each row is a history row; the newest moves the board."""

    name = "bed_status"
    label = _("Bed status reports")
    key = ("facility_code", "as_of")
    columns = (
        Column("facility_code", "机构代码", True, FACILITY_CODE),
        Column("as_of", "统计时间", True, DateTime()),
        Column("beds_approved", "核定床位", True, Integer()),
        Column("beds_open", "开放床位", True, Integer()),
        Column("beds_occupied", "占用床位", True, Integer()),
    )
    staging_extra = (("_target_id", "bigint"), ("_action", "text"), ("_facility_id", "bigint"))

    def check(self, table, reasons, columns, details) -> None:
        check_bed_counts(table, reasons, columns, details)
        stamps = pc.fill_null(pc.cast(table.column("as_of"), pa.int64()), 0).to_numpy(zero_copy_only=False)
        future = (reasons == "") & (stamps > timezone.now().timestamp() + FUTURE_SLACK_SECONDS)
        reasons[future], columns[future] = "invalid_date", "as_of"
        details[future] = "future"

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In the facility's district (a facility without one answers to the city)."""
        return (
            "SELECT s._line, f.district_id AS district_id, NULL AS street_id, NULL AS community_id, "
            "NULL AS grid_id, NULL AS compound_id, NULL AS building_id "
            f"FROM {q(staging.name)} s JOIN {q(Facility._meta.db_table)} f ON f.code = s.facility_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s, t = q(staging.name), q(Facility._meta.db_table)
        execute(f"UPDATE {s} AS s SET _facility_id = f.id FROM {t} f WHERE f.code = s.facility_code")
        ctx.reject(staging, "s._facility_id IS NULL", "unknown_facility", "facility_code", "s.facility_code")
        result = upsert(
            staging,
            target=BedReport._meta.db_table,
            model_label=BedReport._meta.label_lower,
            key=[("facility_id", "s._facility_id"), ("at", "s.as_of"), ("source", "'import'")],
            values=[
                ("beds_approved", "s.beds_approved"),
                ("beds_open", "s.beds_open"),
                ("beds_occupied", "s.beds_occupied"),
            ],
            insert_only=[
                ("recorded_at", "CURRENT_TIMESTAMP"),
                ("beds_reserved", f"(SELECT f.beds_reserved FROM {t} f WHERE f.id = s._facility_id)"),
                ("user_id", "NULL" if ctx.user_id is None else str(int(ctx.user_id))),
                ("note", f"'bed_status import #{int(ctx.batch_id)}'"),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
            timestamps=False,
        )
        self._move_current_counts(staging)
        return result

    @staticmethod
    def _move_current_counts(staging: Staging) -> None:
        """Each facility's newest row in the file becomes its current counts, unless the facility
        already has newer ones (a reservation or admission since, or a later report). The UPDATE
        takes the facility rows' locks, so bed reservations wait for the import to commit."""
        s, t = q(staging.name), q(Facility._meta.db_table)
        differs = " OR ".join(distinct(f"f.{c}", f"s.{c}") for c in COUNT_COLUMNS)
        execute(
            f"UPDATE {t} AS f SET beds_approved = s.beds_approved, beds_open = s.beds_open, "
            "beds_occupied = s.beds_occupied, counts_at = s.as_of, updated_at = %s "
            f"FROM {s} s WHERE f.id = s._facility_id "
            f"AND s.as_of = (SELECT MAX(x.as_of) FROM {s} x WHERE x._facility_id = s._facility_id) "
            f"AND (f.counts_at IS NULL OR s.as_of >= f.counts_at) AND ({differs} OR f.counts_at < s.as_of)",
            [timezone.now()],
        )
