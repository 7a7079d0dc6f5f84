"""Counts for the drill-down, kept per node and refreshed set-based after imports.

Counting a million residents per page view would miss the 100 ms budget of issue #2; a GROUP BY
per level after each import costs about a second and makes every drill-down page an indexed read.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.imports.sql import execute
from people.choices import KeyGroup
from people.models import NodeCount

# (level, the resident column holding that node's id)
LEVEL_COLUMNS = (
    ("district", "district_id"),
    ("street", "street_id"),
    ("community", "community_id"),
    ("grid", "grid_id"),
    ("compound", "compound_id"),
    ("building", "building_id"),
)
GROUPS = [g.value for g in KeyGroup]


def refresh_counts() -> None:
    """Recompute every node's counts in one transaction."""
    now = timezone.now()
    table = NodeCount._meta.db_table
    zeros = ", ".join("0" for _ in GROUPS)
    sums = ", ".join(f"COALESCE(SUM(CASE WHEN k.grp = '{g}' THEN 1 ELSE 0 END), 0) AS {g}" for g in GROUPS)
    sets = ", ".join(f"{g} = c.{g}" for g in GROUPS)
    with transaction.atomic():
        execute(f"DELETE FROM {table}")
        execute(
            f"INSERT INTO {table} (level, node_id, residents, households, refreshed_at, {', '.join(GROUPS)}) "
            f"SELECT 'city', COALESCE((SELECT MIN(id) FROM geo_division WHERE level = 'city'), 0), "
            f"COUNT(*), COUNT(DISTINCT household_id), %s, {zeros} FROM people_resident",
            [now],
        )
        execute(
            f"UPDATE {table} AS n SET {sets} FROM (SELECT {sums} FROM "
            f'(SELECT DISTINCT resident_id, "group" AS grp FROM people_keygroupmembership) k) c '
            f"WHERE n.level = 'city'"
        )
        for level, column in LEVEL_COLUMNS:
            execute(
                f"INSERT INTO {table} (level, node_id, residents, households, refreshed_at, {', '.join(GROUPS)}) "
                f"SELECT '{level}', {column}, COUNT(*), COUNT(DISTINCT household_id), %s, {zeros} "
                f"FROM people_resident WHERE {column} IS NOT NULL GROUP BY {column}",
                [now],
            )
            execute(
                f"UPDATE {table} AS n SET {sets} FROM (SELECT k.node_id, {sums} FROM "
                f'(SELECT DISTINCT resident_id, "group" AS grp, {column} AS node_id '
                f"FROM people_keygroupmembership WHERE {column} IS NOT NULL) k GROUP BY k.node_id) c "
                f"WHERE n.level = '{level}' AND n.node_id = c.node_id"
            )


def after_import(kind: str) -> None:
    if kind in {"residents", "social_registry", "divisions", "compounds", "buildings"}:
        refresh_counts()
