"""Import kinds of the population base: residents and the civil-affairs registry (contracts.md)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext_lazy as _

from core.imports.columns import Choice, Column, Date, IdNumber, Pattern, Phone, TagList, Text
from core.imports.kinds import PLACED, ImportKind, LoadContext, place_of, register
from core.imports.sql import (
    Staging,
    UpsertResult,
    as_json,
    execute,
    fetch,
    is_postgres,
    secondary_indexes_rebuilt,
    upsert,
)
from people.choices import RESIDENT_TAGS, SOCIAL_PROGRAMS, KeyGroupSource
from people.models import PLACE_COLUMNS
from people.pinyin import pinyin_column

SEX = Choice({"m": "M", "f": "F", "男": "M", "女": "F", "male": "M", "female": "F"})
RESIDENCE = Choice(
    {
        "registered": "registered",
        "户籍": "registered",
        "resident": "resident",
        "常住": "resident",
        "migrant": "migrant",
        "流动": "migrant",
    }
)
NODE_CODE = Pattern(r"^[0-9A-Za-z][0-9A-Za-z\-_.]{0,39}$", upper=True)


def sex_from_id(id_numbers: pa.Array) -> np.ndarray:
    """domain.md §2: the 17th digit is odd for men, even for women."""
    digit = pc.utf8_slice_codeunits(pc.fill_null(id_numbers, "00000000000000000"), 16, 17)
    numbers = pc.cast(pc.if_else(pc.match_substring_regex(digit, r"^\d$"), digit, "0"), pa.int8())
    return np.where(numbers.to_numpy(zero_copy_only=False) % 2 == 1, "M", "F")


def birth_date_from_id(column: str) -> str:
    """SQL for the birth date read from the identity number (already validated)."""
    if is_postgres():
        return f"to_date(substr({column}, 7, 8), 'YYYYMMDD')"
    return f"substr({column}, 7, 4) || '-' || substr({column}, 11, 2) || '-' || substr({column}, 13, 2)"


@register
class ResidentImport(ImportKind):
    name = "residents"
    label = _("Residents")
    columns = (
        Column("id_number", "身份证号", True, IdNumber()),
        Column("name", "姓名", True, Text(60)),
        Column("sex", "性别", False, SEX),
        Column("phone", "手机号", False, Phone()),
        Column("building_code", "楼栋编码", True, NODE_CODE),
        Column("unit", "单元", False, Text(16)),
        Column("room", "房号", False, Text(16)),
        Column("residence_type", "人口类型", False, RESIDENCE),
        Column("tags", "标签", False, TagList(RESIDENT_TAGS)),
    )
    key = ("id_number",)
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_building_id", "bigint"),
        ("_compound_id", "bigint"),
        ("_grid_id", "bigint"),
        ("_community_id", "bigint"),
        ("_street_id", "bigint"),
        ("_district_id", "bigint"),
        ("_household_id", "bigint"),
    )

    def derive(self, table: pa.Table) -> pa.Table:
        """Pinyin, the sex the identity number states, and empty rather than missing unit and room,
        computed on the Arrow columns instead of two full UPDATE passes over the staging table."""
        for column in ("unit", "room"):
            index = table.column_names.index(column)
            table = table.set_column(index, column, pc.fill_null(table.column(column), ""))
        table = table.append_column("_id_sex", pa.array(sex_from_id(table.column("id_number")), type=pa.string()))
        return table.append_column("name_pinyin", pinyin_column(table.column("name")))

    def check(self, table, reasons, columns, details) -> None:
        given = table.column("sex").to_numpy(zero_copy_only=False)
        implied = sex_from_id(table.column("id_number"))
        conflict = (reasons == "") & (given != None) & (given != implied)  # noqa: E711 - elementwise
        reasons[conflict], columns[conflict] = "sex_conflicts_with_id", "sex"
        details[conflict] = np.char.add(np.char.add(given[conflict].astype(str), " ≠ "), implied[conflict])

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In their building; a resident already registered also where they live now (moving someone
        in from another jurisdiction is that jurisdiction's business too)."""
        s = staging.name
        return (
            f"SELECT s._line, {place_of('b', compound='compound_id', building='id')} FROM {s} s "
            "JOIN geo_building b ON b.code = s.building_code "
            f"UNION ALL SELECT s._line, {place_of('r')} FROM {s} s "
            "JOIN people_resident r ON r.id_number = s.id_number"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s = staging.name
        execute(
            f"UPDATE {s} AS s SET _building_id = b.id, _compound_id = b.compound_id, _grid_id = b.grid_id, "
            f"_community_id = b.community_id, _street_id = b.street_id, _district_id = b.district_id "
            f"FROM geo_building b WHERE b.code = s.building_code"
        )
        ctx.reject(staging, "s._building_id IS NULL", "unknown_parent", "building_code", "s.building_code")
        _create_households(s)
        execute(
            f"UPDATE {s} AS s SET _household_id = h.id FROM geo_household h "
            f"WHERE h.building_id = s._building_id AND h.unit = s.unit AND h.room = s.room"
        )
        result = upsert(
            staging,
            target="people_resident",
            model_label="people.resident",
            key=[("id_number", "s.id_number")],
            values=[
                ("name", "s.name"),
                ("name_pinyin", "s.name_pinyin"),
                ("registered", "TRUE"),
                ("sex", "s._id_sex"),
                ("birth_date", birth_date_from_id("s.id_number")),
                ("phone", "COALESCE(s.phone, '')"),
                ("residence_type", "COALESCE(s.residence_type, '')"),
                ("household_id", "s._household_id"),
                ("building_id", "s._building_id"),
                ("compound_id", "s._compound_id"),
                ("grid_id", "s._grid_id"),
                ("community_id", "s._community_id"),
                ("street_id", "s._street_id"),
                ("district_id", "s._district_id"),
                ("tags", "COALESCE(s.tags, '')"),
                ("extra", as_json("s._extra")),
            ],
            insert_only=[("source_batch_id", str(int(ctx.batch_id)))],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
        _sync_tag_memberships(s)
        return result


def _create_households(staging: str) -> None:
    """Every distinct (building, unit, room) gets a household row, set-based."""
    staged = fetch(f"SELECT COUNT(*) FROM {staging}")[0][0]
    with secondary_indexes_rebuilt("geo_household", staged // 2):
        execute(
            "INSERT INTO geo_household (building_id, unit, room, compound_id, grid_id, community_id, street_id, "
            "district_id, created_at, updated_at) "
            "SELECT DISTINCT s._building_id, s.unit, s.room, s._compound_id, s._grid_id, s._community_id, "
            f"s._street_id, s._district_id, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM {staging} s "
            "WHERE NOT EXISTS (SELECT 1 FROM geo_household h WHERE h.building_id = s._building_id "
            "AND h.unit = s.unit AND h.room = s.room)"
        )


def _sync_tag_memberships(staging: str) -> None:
    """Key-group ledgers from the register's tags: add new tags, drop removed ones, follow moves."""
    tags_sql = _explode_tags_sql(staging)
    execute("DROP TABLE IF EXISTS stage_tags")
    execute(f"CREATE TEMPORARY TABLE stage_tags AS {tags_sql}")
    source = KeyGroupSource.RESIDENTS.value
    execute(
        "DELETE FROM people_keygroupmembership AS m WHERE m.source = %s "
        f"AND m.resident_id IN (SELECT _target_id FROM {staging} WHERE _action IS NOT NULL) "
        'AND NOT EXISTS (SELECT 1 FROM stage_tags t WHERE t.resident_id = m.resident_id AND t.grp = m."group")',
        [source],
    )
    tag_rows = fetch("SELECT COUNT(*) FROM stage_tags")[0][0]
    with secondary_indexes_rebuilt("people_keygroupmembership", tag_rows):
        execute(
            'INSERT INTO people_keygroupmembership (resident_id, "group", source, since, building_id, compound_id, '
            "grid_id, community_id, street_id, district_id, created_at, updated_at) "
            "SELECT t.resident_id, t.grp, %s, NULL, r.building_id, r.compound_id, r.grid_id, r.community_id, "
            "r.street_id, r.district_id, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP "
            "FROM stage_tags t JOIN people_resident r ON r.id = t.resident_id "
            "WHERE NOT EXISTS (SELECT 1 FROM people_keygroupmembership m WHERE m.resident_id = t.resident_id "
            'AND m."group" = t.grp AND m.source = %s)',
            [source, source],
        )
    follow_moves(f"SELECT _target_id FROM {staging} WHERE _action = 'update'")
    execute("DROP TABLE IF EXISTS stage_tags")


def follow_moves(resident_ids_sql: str) -> None:
    """Ledger rows carry the resident's location; copy it again for residents who moved."""
    sets = ", ".join(f"{c} = r.{c}" for c in PLACE_COLUMNS)
    execute(
        f"UPDATE people_keygroupmembership AS m SET {sets} FROM people_resident r "
        f"WHERE r.id = m.resident_id AND m.resident_id IN ({resident_ids_sql})"
    )


def _explode_tags_sql(staging: str) -> str:
    """One (resident_id, grp) row per tag of every changed or new resident."""
    changed = f"{staging}._action IS NOT NULL AND {staging}.tags IS NOT NULL AND {staging}.tags <> ''"
    if is_postgres():
        return (
            f"SELECT _target_id AS resident_id, unnest(string_to_array(tags, ';')) AS grp "
            f"FROM {staging} WHERE {changed}"
        )
    # SQLite has no unnest: walk the ';'-list with a recursive CTE
    return (
        "WITH RECURSIVE split(resident_id, grp, rest) AS ("
        f"SELECT _target_id, '', tags || ';' FROM {staging} WHERE {changed} "
        "UNION ALL SELECT resident_id, substr(rest, 1, instr(rest, ';') - 1), substr(rest, instr(rest, ';') + 1) "
        "FROM split WHERE rest <> '') SELECT resident_id, grp FROM split WHERE grp <> ''"
    )


@register
class SocialRegistryImport(ImportKind):
    """Civil affairs' programmes; a row is linked to a resident by identity number, else name + phone
    or name + birth date (contracts.md, Person columns). Probabilistic linkage comes with the feeds."""

    name = "social_registry"
    label = _("Civil-affairs registry")
    columns = (
        Column("id_number", "身份证号", False, IdNumber()),
        Column(
            "program",
            "类别",
            True,
            Choice(
                {
                    **{p: p for p in SOCIAL_PROGRAMS},
                    "独居老人": "elderly_alone",
                    "低保": "low_income",
                    "残疾": "disabled",
                    "优抚": "special_care",
                }
            ),
        ),
        Column("since", "起始日期", False, Date()),
        Column("name", "姓名", False, Text(60)),
        Column("sex", "性别", False, SEX),
        Column("birth_date", "出生日期", False, Date()),
        Column("phone", "手机号", False, Phone()),
        Column("address", "地址", False, Text(200)),
    )
    key = ("id_number", "program")
    staging_extra = (("_target_id", "bigint"), ("_action", "text"), ("_resident_id", "bigint"), ("_link", "text"))

    def check(self, table, reasons, columns, details) -> None:
        no_id = pc.is_null(table.column("id_number")).to_numpy(zero_copy_only=False)
        has_name = pc.is_valid(table.column("name")).to_numpy(zero_copy_only=False)
        has_other = pc.is_valid(table.column("phone")).to_numpy(zero_copy_only=False) | pc.is_valid(
            table.column("birth_date")
        ).to_numpy(zero_copy_only=False)
        unlinkable = (reasons == "") & no_id & ~(has_name & has_other)
        reasons[unlinkable], columns[unlinkable] = "missing_required", "id_number"

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s = staging.name
        execute(
            f"UPDATE {s} AS s SET _resident_id = r.id, _link = 'id_number' FROM people_resident r "
            "WHERE r.id_number = s.id_number"
        )
        for method, condition in (
            ("name_phone", "r.phone = s.phone"),
            ("name_birth_date", "r.birth_date = s.birth_date"),
        ):
            for outcome, having in (("one", "= 1"), ("many", "> 1")):
                matches = f"(SELECT COUNT(*) FROM people_resident r WHERE r.name = s.name AND {condition})"
                if outcome == "one":
                    execute(
                        f"UPDATE {s} AS s SET _link = '{method}', _resident_id = (SELECT r.id FROM people_resident r "
                        f"WHERE r.name = s.name AND {condition}) WHERE s._resident_id IS NULL AND s.name IS NOT NULL "
                        f"AND {matches} {having}"
                    )
                else:
                    ctx.reject(
                        staging,
                        f"s._resident_id IS NULL AND s.name IS NOT NULL AND {matches} {having}",
                        "person_ambiguous",
                        "name",
                        "s.name",
                    )
        ctx.reject(staging, "s._resident_id IS NULL", "person_not_found", "id_number", "COALESCE(s.id_number, s.name)")
        ctx.reject_repeats(staging, "s._resident_id, s.program", "duplicate_key_in_file", "id_number")
        for method, count in _link_counts(s).items():
            ctx.linked[method] = ctx.linked.get(method, 0) + count
        source = KeyGroupSource.SOCIAL_REGISTRY.value
        return upsert(
            staging,
            target="people_keygroupmembership",
            model_label="people.keygroupmembership",
            key=[("resident_id", "s._resident_id"), ("group", "s.program"), ("source", f"'{source}'")],
            values=[("since", "s.since")],
            insert_only=[
                (c, f"(SELECT r.{c} FROM people_resident r WHERE r.id = s._resident_id)") for c in PLACE_COLUMNS
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )


def _link_counts(staging: str) -> dict[str, int]:
    from core.imports.sql import fetch

    return dict(fetch(f"SELECT _link, COUNT(*) FROM {staging} WHERE _link IS NOT NULL GROUP BY _link"))
