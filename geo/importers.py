"""Import kinds of the grid: divisions, compounds, buildings, venues (contracts.md, Kinds)."""

from __future__ import annotations

import numpy as np
from django.utils.translation import gettext_lazy as _

from core.imports.columns import Boolean, Choice, Column, Decimal, Integer, Pattern, Text
from core.imports.kinds import NO_PLACE, PLACED, ImportKind, LoadContext, place_of, place_of_division, register
from core.imports.sql import Staging, UpsertResult, as_json, execute, upsert
from geo.choices import LEVEL_ORDER, VenueKind

DIVISION_CODE = Pattern(r"^\d{12}(\d{3})?$")
NODE_CODE = Pattern(r"^[0-9A-Za-z][0-9A-Za-z\-_.]{0,39}$", upper=True)
LEVEL_SPELLINGS = {
    "city": "city",
    "市": "city",
    "district": "district",
    "区": "district",
    "县": "district",
    "street": "street",
    "街道": "street",
    "乡镇": "street",
    "镇": "street",
    "community": "community",
    "社区": "community",
    "村": "community",
    "grid": "grid",
    "网格": "grid",
}
# the leading digits a child's code shares with its parent's (domain.md §1)
SHARED_PREFIX = {"district": 4, "street": 6, "community": 9, "grid": 12}
ANCESTOR_LEVELS = ("district", "street", "community")


def _ancestor_exprs(parent: str = "p") -> list[tuple[str, str]]:
    """Staging assignments that give a child its ancestors from its parent row ``p``."""
    return [
        (f"_{level}_id", f"COALESCE(CASE WHEN {parent}.level = '{level}' THEN {parent}.id END, {parent}.{level}_id)")
        for level in ANCESTOR_LEVELS
    ]


def reject_names_taken(
    ctx: LoadContext,
    staging: Staging,
    *,
    where: str,
    target: str,
    parent_col: str,
    staged_parent: str,
    key_col: str,
    staged_key: str,
) -> None:
    """Names are unique within their parent: refuse a row whose name another record already holds."""
    ctx.reject_repeats(staging, f"s.{staged_parent}, s.name", "name_taken", "name", where=where)
    ctx.reject(
        staging,
        f"{where} AND EXISTS (SELECT 1 FROM {target} t WHERE t.{parent_col} = s.{staged_parent} "
        f"AND t.name = s.name AND t.{key_col} <> s.{staged_key})",
        "name_taken",
        "name",
        "s.name",
    )


@register
class DivisionImport(ImportKind):
    name = "divisions"
    label = _("Divisions")
    columns = (
        Column("code", "代码", True, DIVISION_CODE),
        Column("name", "名称", True, Text(100)),
        Column("level", "级别", True, Choice(LEVEL_SPELLINGS)),
        Column("parent_code", "上级代码", False, DIVISION_CODE),
    )
    key = ("code",)
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_parent_id", "bigint"),
        ("_district_id", "bigint"),
        ("_street_id", "bigint"),
        ("_community_id", "bigint"),
    )

    def check(self, table, reasons, columns, details) -> None:
        code = table.column("code").to_numpy(zero_copy_only=False).astype(object)
        level = table.column("level").to_numpy(zero_copy_only=False).astype(object)
        parent = table.column("parent_code").to_numpy(zero_copy_only=False).astype(object)
        open_ = reasons == ""
        lengths = np.array([len(c) if c else 0 for c in code])
        wrong_length = open_ & (((level == "grid") & (lengths != 15)) | ((level != "grid") & (lengths != 12)))
        reasons[wrong_length], columns[wrong_length] = "invalid_value", "code"
        details[wrong_length] = code[wrong_length]
        open_ = reasons == ""
        city_with_parent = open_ & (level == "city") & (parent != None)  # noqa: E711 - elementwise
        reasons[city_with_parent], columns[city_with_parent] = "invalid_value", "parent_code"
        details[city_with_parent] = parent[city_with_parent]
        orphan = open_ & (level != "city") & (parent == None)  # noqa: E711 - elementwise
        reasons[orphan], columns[orphan] = "missing_required", "parent_code"
        for child_level, digits in SHARED_PREFIX.items():
            rows = (reasons == "") & (level == child_level)
            if not rows.any():
                continue
            mismatch = np.array([c[:digits] != p[:digits] for c, p in zip(code[rows], parent[rows], strict=True)])
            bad = np.flatnonzero(rows)[mismatch]
            reasons[bad], columns[bad], details[bad] = "bad_code_for_parent", "code", code[bad]

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        total = UpsertResult()
        parent_of = dict(zip(LEVEL_ORDER[1:], LEVEL_ORDER, strict=False))
        for level in LEVEL_ORDER:
            where = f"s.level = '{level}'"
            if level != "city":
                sets = ", ".join(f"{col} = {expr}" for col, expr in [("_parent_id", "p.id"), *_ancestor_exprs()])
                execute(
                    f"UPDATE {staging.name} AS s SET {sets} FROM geo_division p "
                    f"WHERE p.code = s.parent_code AND p.level = '{parent_of[level]}' AND {where}"
                )
                ctx.reject(
                    staging,
                    f"{where} AND s._parent_id IS NULL AND EXISTS "
                    f"(SELECT 1 FROM geo_division p WHERE p.code = s.parent_code)",
                    "wrong_parent_level",
                    "parent_code",
                    "s.parent_code",
                )
                ctx.reject(
                    staging, f"{where} AND s._parent_id IS NULL", "unknown_parent", "parent_code", "s.parent_code"
                )
            reject_names_taken(
                ctx,
                staging,
                where=where,
                target="geo_division",
                parent_col="parent_id",
                staged_parent="_parent_id",
                key_col="code",
                staged_key="code",
            )
            total += upsert(
                staging,
                target="geo_division",
                model_label="geo.division",
                key=[("code", "s.code")],
                values=[
                    ("name", "s.name"),
                    ("level", "s.level"),
                    ("parent_id", "s._parent_id"),
                    ("district_id", "s._district_id"),
                    ("street_id", "s._street_id"),
                    ("community_id", "s._community_id"),
                    ("extra", as_json("s._extra")),
                ],
                batch_id=ctx.batch_id,
                user_id=ctx.user_id,
                source=ctx.source,
                where=where,
            )
        return total


def _resolve_grid(ctx: LoadContext, staging: Staging, required: bool) -> None:
    sets = ", ".join(f"{col} = {expr}" for col, expr in [("_grid_id", "g.id"), *_ancestor_exprs("g")])
    execute(
        f"UPDATE {staging.name} AS s SET {sets} FROM geo_division g WHERE g.code = s.grid_code AND g.level = 'grid'"
    )
    missing = "s._grid_id IS NULL" if required else "s._grid_id IS NULL AND s.grid_code IS NOT NULL"
    ctx.reject(staging, missing, "unknown_parent", "grid_code", "s.grid_code")


GRID_EXTRA = (
    ("_target_id", "bigint"),
    ("_action", "text"),
    ("_grid_id", "bigint"),
    ("_district_id", "bigint"),
    ("_street_id", "bigint"),
    ("_community_id", "bigint"),
)
ANCESTOR_VALUES = [
    ("district_id", "s._district_id"),
    ("street_id", "s._street_id"),
    ("community_id", "s._community_id"),
]


@register
class CompoundImport(ImportKind):
    name = "compounds"
    label = _("Compounds")
    columns = (
        Column("compound_code", "小区编码", True, NODE_CODE),
        Column("name", "小区名称", True, Text(100)),
        Column("grid_code", "网格代码", True, DIVISION_CODE),
        Column("address", "地址", False, Text(200)),
        Column("lat", "纬度", False, Decimal(-90, 90)),
        Column("lon", "经度", False, Decimal(-180, 180)),
        Column("property_managed", "有无物业", False, Boolean()),
        Column("built_year", "建成年份", False, Integer(1800, 2100)),
    )
    key = ("compound_code",)
    staging_extra = GRID_EXTRA

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In its grid; an existing compound also where it is now."""
        s = staging.name
        return (
            f"SELECT s._line, {place_of_division('g')} FROM {s} s "
            "JOIN geo_division g ON g.code = s.grid_code AND g.level = 'grid' "
            f"UNION ALL SELECT s._line, {place_of('c', compound='id', building='NULL')} FROM {s} s "
            "JOIN geo_compound c ON c.code = s.compound_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        _resolve_grid(ctx, staging, required=True)
        reject_names_taken(
            ctx,
            staging,
            where="1=1",
            target="geo_compound",
            parent_col="grid_id",
            staged_parent="_grid_id",
            key_col="code",
            staged_key="compound_code",
        )
        return upsert(
            staging,
            target="geo_compound",
            model_label="geo.compound",
            key=[("code", "s.compound_code")],
            values=[
                ("name", "s.name"),
                ("grid_id", "s._grid_id"),
                *ANCESTOR_VALUES,
                ("address", "COALESCE(s.address, '')"),
                ("lat", "s.lat"),
                ("lon", "s.lon"),
                ("property_managed", "s.property_managed"),
                ("built_year", "s.built_year"),
                ("extra", as_json("s._extra")),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )


@register
class BuildingImport(ImportKind):
    name = "buildings"
    label = _("Buildings")
    columns = (
        Column("building_code", "楼栋编码", True, NODE_CODE),
        Column("compound_code", "小区编码", True, NODE_CODE),
        Column("name", "楼栋名称", True, Text(60)),
        Column("units", "单元数", False, Integer(1, 99)),
        Column("floors", "层数", False, Integer(1, 200)),
    )
    key = ("building_code",)
    staging_extra = (*GRID_EXTRA, ("_compound_id", "bigint"))

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In its compound; an existing building also where it is now."""
        s = staging.name
        return (
            f"SELECT s._line, {place_of('c', compound='id', building='NULL')} FROM {s} s "
            "JOIN geo_compound c ON c.code = s.compound_code "
            f"UNION ALL SELECT s._line, {place_of('b', building='id')} FROM {s} s "
            "JOIN geo_building b ON b.code = s.building_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        execute(
            f"UPDATE {staging.name} AS s SET _compound_id = c.id, _grid_id = c.grid_id, "
            f"_community_id = c.community_id, _street_id = c.street_id, _district_id = c.district_id "
            f"FROM geo_compound c WHERE c.code = s.compound_code"
        )
        ctx.reject(staging, "s._compound_id IS NULL", "unknown_parent", "compound_code", "s.compound_code")
        reject_names_taken(
            ctx,
            staging,
            where="1=1",
            target="geo_building",
            parent_col="compound_id",
            staged_parent="_compound_id",
            key_col="code",
            staged_key="building_code",
        )
        return upsert(
            staging,
            target="geo_building",
            model_label="geo.building",
            key=[("code", "s.building_code")],
            values=[
                ("name", "s.name"),
                ("compound_id", "s._compound_id"),
                ("grid_id", "s._grid_id"),
                *ANCESTOR_VALUES,
                ("units", "s.units"),
                ("floors", "s.floors"),
                ("extra", as_json("s._extra")),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )


@register
class VenueImport(ImportKind):
    name = "venues"
    label = _("Venues")
    columns = (
        Column("venue_code", "场所码", True, NODE_CODE),
        Column("name", "场所名称", True, Text(120)),
        Column(
            "kind",
            "类型",
            True,
            Choice(
                {
                    **{k.value: k.value for k in VenueKind},
                    "市场": "market",
                    "超市": "supermarket",
                    "餐馆": "restaurant",
                    "医院": "hospital",
                    "药店": "pharmacy",
                    "学校": "school",
                    "单位": "workplace",
                    "交通": "transit",
                    "门岗": "gate",
                    "其他": "other",
                }
            ),
        ),
        Column("lat", "纬度", False, Decimal(-90, 90)),
        Column("lon", "经度", False, Decimal(-180, 180)),
        Column("grid_code", "网格代码", False, DIVISION_CODE),
        Column("dwell_minutes", "默认停留分钟", False, Integer(0, 1440)),
    )
    key = ("venue_code",)
    staging_extra = GRID_EXTRA

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In its grid; a venue without a grid belongs to the city as a whole; an existing venue
        also where it is now."""
        s = staging.name
        return (
            f"SELECT s._line, {place_of_division('g')} FROM {s} s "
            "JOIN geo_division g ON g.code = s.grid_code AND g.level = 'grid' "
            f"UNION ALL SELECT s._line, {NO_PLACE} FROM {s} s WHERE s.grid_code IS NULL "
            f"UNION ALL SELECT s._line, {place_of('v', compound='NULL', building='NULL')} FROM {s} s "
            "JOIN geo_venue v ON v.code = s.venue_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        _resolve_grid(ctx, staging, required=False)
        return upsert(
            staging,
            target="geo_venue",
            model_label="geo.venue",
            key=[("code", "s.venue_code")],
            values=[
                ("name", "s.name"),
                ("kind", "s.kind"),
                ("lat", "s.lat"),
                ("lon", "s.lon"),
                ("grid_id", "s._grid_id"),
                *ANCESTOR_VALUES,
                ("dwell_minutes", "s.dwell_minutes"),
                ("extra", as_json("s._extra")),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
