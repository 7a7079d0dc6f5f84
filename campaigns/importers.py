"""The ``pool_members`` import kind (contracts.md): who was swabbed into which tube, where and when.

Rows are upserted and linked to people exactly like the agency feeds (feeds.importers), then
campaigns.pooling attaches them to tubes and campaigns, refuses a second tube for one person on one
day, and moves coverage. Live sampling sites push the same rows through the API, so both paths
apply one set of rules.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext_lazy as _

from campaigns.models import PoolMember, Site
from campaigns.pooling import PLACES, STAGING_COLUMNS, after_members_loaded, prepare_staging
from core.imports.columns import Column, DateTime, Integer, Text, id_problems
from core.imports.kinds import NO_PLACE, PLACED, ImportKind, LoadContext, place_of, register
from core.imports.sql import Staging, UpsertResult, as_json, upsert
from feeds.importers import FEED_STAGING, PERSON_COLUMNS, check_person_columns
from people.pinyin import pinyin_column

SHANGHAI_OFFSET_SECONDS = 8 * 3600  # Asia/Shanghai has kept UTC+8 without daylight saving since 1991


class Position(Integer):
    minimum = 1
    maximum = 100


@register
class PoolMemberImport(ImportKind):
    name = "pool_members"
    label = _("Tube member lists")
    key = ("pool_id", "id_number")
    columns = (
        Column("pool_id", "混管号", True, Text(64)),
        *PERSON_COLUMNS,
        Column("position", "管内序号", False, Position()),
        Column("sampled_at", "采样时间", False, DateTime()),
        Column("site_code", "采样点", False, Text(40)),
    )
    staging_extra = (*FEED_STAGING, *STAGING_COLUMNS)

    def check(self, table, reasons, columns, details) -> None:
        check_person_columns(table, reasons, columns, details)

    def derive(self, table: pa.Table) -> pa.Table:
        """Identity validity and pinyin for linkage; the local (Asia/Shanghai) day of the swab, which
        the one-tube-per-day rule and the daily counts use."""
        valid = id_problems(table.column("id_number")) == ""
        table = table.append_column("_id_valid", pa.array(valid))
        table = table.append_column("name_pinyin", pinyin_column(table.column("name")))
        seconds = pc.cast(table.column("sampled_at"), pa.int64()).to_numpy(zero_copy_only=False).astype(float)
        days = np.floor((seconds + SHANGHAI_OFFSET_SECONDS) / 86400)
        mask = np.isnan(days)
        day_array = pa.array(np.where(mask, 0, days).astype(np.int32), mask=mask).cast(pa.date32())
        return table.append_column("sampled_on", day_array)

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """Where the sampling site is (a sampler's site is in their grid); a list without a site is
        the city's."""
        s = staging.name
        return (
            f"SELECT s._line, {place_of('t', compound='NULL', building='NULL')} FROM {s} s "
            f"JOIN {Site._meta.db_table} t ON t.code = s.site_code "
            f"UNION ALL SELECT s._line, {NO_PLACE} FROM {s} s WHERE s.site_code IS NULL"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        """Fill the staging rows (person, place, campaign, tube), insert them complete in one
        statement, then the rules that need the rows in place (campaigns.pooling)."""
        target = PoolMember._meta.db_table
        last_old_tube = prepare_staging(staging)
        result = upsert(
            staging,
            target=target,
            model_label=PoolMember._meta.label_lower,
            key=[
                ("pool_id", "s.pool_id"),
                ("sent_id_number", "COALESCE(s.id_number, '')"),
                ("sent_name", "COALESCE(s.name, '')"),
            ],
            values=[
                ("position", "s.position"),
                ("sampled_at", "s.sampled_at"),
                ("sampled_on", "s.sampled_on"),
                ("site_code", "COALESCE(s.site_code, '')"),
                ("sent_sex", "COALESCE(s.sex, '')"),
                ("sent_birth_date", "s.birth_date"),
                ("sent_phone", "COALESCE(s.phone, '')"),
                ("sent_address", "COALESCE(s.address, '')"),
                ("extra", as_json("s._extra")),
                ("tube_id", "s.tube_id"),
                ("campaign_id", "s.campaign_id"),
            ],
            insert_only=[
                ("person_id", "s.person_id"),
                ("link_method", "COALESCE(s.link_method, '')"),
                ("link_probability", "s.link_probability"),
                *((column, f"s.{column}") for column in PLACES),
                ("batch_id", str(int(ctx.batch_id))),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
        refused = after_members_loaded(ctx, staging, complete_lists=ctx.source != "api", last_old_tube=last_old_tube)
        result.inserted -= refused
        return result
