"""What an import kind is, and the registry that apps add their kinds to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from core.imports.columns import Column
from core.imports.sql import Staging, UpsertResult, execute


@dataclass
class LoadContext:
    """What a kind's loader gets: the batch, who acts, and a place to put rows refused by SQL checks."""

    batch_id: int
    user_id: int | None
    source: str
    rejects: list[tuple[int, str, str, str]] = field(default_factory=list)  # (line, reason, column, detail)
    linked: dict[str, int] = field(default_factory=dict)

    def reject(self, staging: Staging, where: str, reason: str, column: str = "", detail_sql: str = "''") -> int:
        taken = staging.take_rejects(where, reason, column, detail_sql)
        self.rejects.extend(taken)
        return len(taken)

    def reject_repeats(self, staging: Staging, partition: str, reason: str, column: str, where: str = "1=1") -> int:
        """Refuse every row but the first of each group (``partition``: staging columns, aliased ``s``).

        A window function, not a self-join: without an index on the staging table SQLite turned the
        self-join into a scan per row (15 minutes for 97,000 civil-affairs rows)."""
        execute("DROP TABLE IF EXISTS stage_repeats")
        execute(
            "CREATE TEMPORARY TABLE stage_repeats AS SELECT x._line, x.first_line FROM "
            f"(SELECT s._line, MIN(s._line) OVER (PARTITION BY {partition}) AS first_line "
            f"FROM {staging.name} s WHERE {where}) x WHERE x._line > x.first_line"
        )
        count = self.reject(
            staging,
            "s._line IN (SELECT _line FROM stage_repeats)",
            reason,
            column,
            "(SELECT r.first_line FROM stage_repeats r WHERE r._line = s._line)",
        )
        execute("DROP TABLE IF EXISTS stage_repeats")
        return count


# Who may load a kind's rows (issue #11: staff see and change only their jurisdiction).
PLACED = "placed"  # each row has a place (placement_sql); rows outside the importer's jurisdiction are refused
CITYWIDE = "citywide"  # the hierarchy, agency feeds, registries: only staff who see the whole city
NODE_COLUMNS = ("district_id", "street_id", "community_id", "grid_id", "compound_id", "building_id")


def place_of(alias: str, *, compound: str = "compound_id", building: str = "building_id") -> str:
    """The six node columns of a geo row aliased ``alias`` that carries its ancestors (a compound,
    building, resident, venue …); pass "NULL" for a level the row has no column for."""
    columns = [f"{alias}.district_id", f"{alias}.street_id", f"{alias}.community_id", f"{alias}.grid_id"]
    columns += [compound if compound == "NULL" else f"{alias}.{compound}"]
    columns += [building if building == "NULL" else f"{alias}.{building}"]
    return ", ".join(f"{c} AS {n}" for c, n in zip(columns, NODE_COLUMNS, strict=True))


# a row that belongs to no place below the city (a venue without a grid)
NO_PLACE = ", ".join(f"NULL AS {column}" for column in NODE_COLUMNS)


def place_of_division(alias: str) -> str:
    """The node columns of a division aliased ``alias`` at any level (its own id at its level)."""
    columns = [
        f"CASE WHEN {alias}.level = '{level}' THEN {alias}.id ELSE {alias}.{level}_id END AS {level}_id"
        for level in ("district", "street", "community")
    ]
    columns.append(f"CASE WHEN {alias}.level = 'grid' THEN {alias}.id END AS grid_id")
    return ", ".join(columns) + ", NULL AS compound_id, NULL AS building_id"


class ImportKind:
    """One kind of file from contracts.md.

    Subclasses give ``name``, ``columns``, ``key`` (column names) and ``load``, which moves the
    validated rows from the staging table into the real tables set-based and returns the counts.
    ``check`` may add vectorised cross-column checks (e.g. sex against the identity number).
    """

    name: str = ""
    label: str = ""
    columns: tuple[Column, ...] = ()
    key: tuple[str, ...] = ()
    staging_extra: tuple[tuple[str, str], ...] = (("_target_id", "bigint"), ("_action", "text"))

    def check(self, table: pa.Table, reasons: np.ndarray, columns: np.ndarray, details: np.ndarray) -> None:
        """Vectorised checks across columns; set reasons[i] (and columns/details) for bad rows."""

    def derive(self, table: pa.Table) -> pa.Table:
        """Add computed columns to the accepted rows before staging (e.g. pinyin of names)."""
        return table

    access: str = CITYWIDE

    def placement_sql(self, staging: Staging) -> str:
        """For a PLACED kind: a SELECT over the staging table (aliased ``s``) of ``_line`` and the six
        NODE_COLUMNS, one row for where each line would land and, when it changes an existing record,
        one for where that record is now. A line with no row here is left to the kind's own checks
        (an unknown code); a row whose nodes are all NULL (a venue without a grid) is outside any
        jurisdiction below the city."""
        raise NotImplementedError

    # A kind whose rows live outside the relational database (e.g. venue scans in the presence
    # store) sets this and implements ``store`` instead of ``load``: no staging table is made.
    stored_outside_sql: bool = False

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        raise NotImplementedError

    def store(self, ctx: LoadContext, tables: Iterator[pa.Table]) -> UpsertResult:
        """Write the accepted rows, which come piece by piece, to their own store, all or nothing;
        refuse rows through ``ctx`` while their piece is current (so they are kept as sent)."""
        raise NotImplementedError

    def after_load(self, ctx: LoadContext) -> None:
        """Refresh what depends on the loaded rows (e.g. counts), inside the same transaction."""

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]


_REGISTRY: dict[str, ImportKind] = {}


def register(kind_class: type[ImportKind]) -> type[ImportKind]:
    kind = kind_class()
    _REGISTRY[kind.name] = kind
    return kind_class


def kind_label(name: str) -> str:
    kind = _REGISTRY.get(name)
    return str(kind.label) if kind and kind.label else name


def get_kind(name: str) -> ImportKind | None:
    return _REGISTRY.get(name)


def all_kinds() -> dict[str, ImportKind]:
    return dict(sorted(_REGISTRY.items()))


# Functions run after every successful import, inside its transaction (e.g. refreshing the
# drill-down counts). Apps add theirs in AppConfig.ready; core does not import them.
AFTER_IMPORT_HOOKS: list = []
