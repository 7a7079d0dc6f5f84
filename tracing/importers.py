"""The ``scans`` import kind (contracts.md): venue scans into the presence store.

Validation is the framework's (columns parsed vectorised, every refused row kept with its reason).
A row names its person by a valid identity number; without one, by name + phone or name + birth
date matched exactly against the register (contracts.md, Person columns), else it is refused. A row
whose venue code is not registered is refused too. The accepted rows go into DuckDB in one
transaction (tracing.store); re-importing a file changes nothing, a known scan id with new values
is an update whose old version is kept in ``scan_history``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext_lazy as _

from core.imports.columns import Boolean, Choice, Column, DateTime, Decimal, Text, id_problems
from core.imports.kinds import AFTER_IMPORT_HOOKS, ImportKind, LoadContext, register
from core.imports.sql import UpsertResult
from feeds.importers import PERSON_COLUMNS, check_person_columns
from tracing import store

DIRECTIONS = {"in": "in", "out": "out", "pass": "pass", "进": "in", "出": "out", "过": "pass", "通行": "pass"}


@register
class ScanImport(ImportKind):
    name = "scans"
    label = _("Venue scans")
    key = ("scan_id",)
    stored_outside_sql = True
    columns = (
        Column("scan_id", "记录号", True, Text(64)),
        *PERSON_COLUMNS,
        Column("venue_code", "场所码", True, Text(32)),
        Column("scanned_at", "扫码时间", True, DateTime()),
        Column("direction", "方向", False, Choice(DIRECTIONS)),
        Column("temperature", "体温", False, Decimal(30, 45)),
        Column("mask", "口罩", False, Boolean()),
    )

    def check(self, table, reasons, columns, details) -> None:
        check_person_columns(table, reasons, columns, details)

    def store(self, ctx: LoadContext, tables: Iterator[pa.Table]) -> UpsertResult:
        """Stage the file piece by piece (a fortnight of a city is tens of millions of rows), then
        merge once, all in one DuckDB transaction, and publish the new index."""
        with store.writing() as con:
            store.sync_venues(con)
            if not con.execute("SELECT count(*) FROM households").fetchall()[0][0]:
                store.sync_households(con)  # the first scans: residents came earlier
            con.execute(f"CREATE OR REPLACE TEMP TABLE ready ({READY_COLUMNS})")
            register: list[pa.Table] = []  # read from the database once, if a piece needs it
            for table in tables:
                _stage_piece(con, ctx, _scan_rows(_with_identity(ctx, table, register)))
            result = _merge_scans(con, ctx)
            if result.inserted or result.updated:
                store.bump_version(con)
        if result.inserted or result.updated:
            from tracing.index import publish

            publish()
        return result


READY_COLUMNS = (
    "scan_id VARCHAR, pkey INTEGER, vkey INTEGER, ts BIGINT, direction VARCHAR, temperature REAL, mask BOOLEAN, "
    "link_method VARCHAR, batch_id BIGINT, _line BIGINT"
)
SCAN_COLUMNS = "scan_id, pkey, vkey, ts, direction, temperature, mask, link_method, batch_id"


def _scan_rows(table: pa.Table) -> pa.Table:
    return pa.table(
        {
            "scan_id": table.column("scan_id"),
            "id_number": table.column("id_number"),
            "venue_code": table.column("venue_code"),
            "ts": pc.cast(pc.cast(table.column("scanned_at"), pa.timestamp("s")), pa.int64()),
            "direction": pc.fill_null(table.column("direction"), "in"),  # contracts.md: default in
            "temperature": pc.cast(table.column("temperature"), pa.float32()),
            "mask": table.column("mask"),
            "link_method": table.column("_link_method"),
            "_line": table.column("_line"),
        }
    )


def _stage_piece(con, ctx: LoadContext, rows: pa.Table) -> None:
    """Refuse the piece's rows with an unknown venue or a scan id an earlier piece had; keep the rest."""
    con.register("piece", rows)
    try:
        for line, code in con.execute(
            "SELECT i._line, i.venue_code FROM piece i ANTI JOIN venues v ON v.code = i.venue_code ORDER BY i._line"
        ).fetchall():
            ctx.rejects.append((int(line), "unknown_venue", "venue_code", str(code)[:80]))
        for line, first in con.execute(
            "SELECT i._line, r._line FROM piece i JOIN ready r ON r.scan_id = i.scan_id ORDER BY i._line"
        ).fetchall():
            ctx.rejects.append((int(line), "duplicate_key_in_file", "scan_id", str(first)))
        store.add_persons(con, "(SELECT i.id_number FROM piece i SEMI JOIN venues v ON v.code = i.venue_code)")
        con.execute(
            f"""
            INSERT INTO ready
            SELECT i.scan_id, p.pkey, v.vkey, i.ts, i.direction, i.temperature, i.mask, i.link_method,
                   CAST({int(ctx.batch_id)} AS BIGINT), i._line
            FROM piece i JOIN venues v ON v.code = i.venue_code JOIN persons p ON p.id_number = i.id_number
            ANTI JOIN ready r ON r.scan_id = i.scan_id
            """
        )
    finally:
        con.unregister("piece")


def _with_identity(ctx: LoadContext, table: pa.Table, register_cache: list[pa.Table]) -> pa.Table:
    """Fill ``id_number`` from the register for rows without a valid one; refuse the rest."""
    valid = id_problems(table.column("id_number")) == ""
    method = np.where(valid, "id_number", "").astype(object)
    if valid.all():
        return table.append_column("_link_method", pa.array(method))
    from people.register import register_table

    need = np.flatnonzero(~valid)
    if not register_cache:
        register_cache.append(register_table().select(["id_number", "name", "phone", "birth_date"]))
    register = register_cache[0]
    wanted = table.take(pa.array(need)).select(["name", "phone", "birth_date"])
    ids = table.column("id_number").to_numpy(zero_copy_only=False).astype(object)
    lines = table.column("_line").to_numpy()
    refused: list[int] = []
    found_ids, found_method = _match_register(register, wanted)
    for j, row in enumerate(need):
        if found_ids[j] is None:
            ctx.rejects.append((int(lines[row]), found_method[j], "id_number", _describe(wanted, j)))
            refused.append(row)
        else:
            ids[row], method[row] = found_ids[j], found_method[j]
    keep = np.ones(table.num_rows, dtype=bool)
    keep[refused] = False
    table = table.set_column(
        table.schema.get_field_index("id_number"), "id_number", pa.array(ids, type=pa.string())
    ).append_column("_link_method", pa.array(method))
    return table.filter(pa.array(keep))


def _match_register(register: pa.Table, wanted: pa.Table) -> tuple[list[str | None], list[str]]:
    """Exact name + phone, else name + birth date; one match links, several are ambiguous."""
    import duckdb

    con = duckdb.connect()
    con.register("register", register)
    con.register("wanted", wanted.append_column("row", pa.array(np.arange(wanted.num_rows))))
    matches = con.execute(
        """
        SELECT w.row,
               list_distinct(list(r1.id_number) FILTER (WHERE r1.id_number <> '')) AS by_phone,
               list_distinct(list(r2.id_number) FILTER (WHERE r2.id_number <> '')) AS by_birth
        FROM wanted w
        LEFT JOIN register r1 ON r1.name = w.name AND w.phone IS NOT NULL AND r1.phone = w.phone
        LEFT JOIN register r2 ON r2.name = w.name AND w.birth_date IS NOT NULL
             AND r2.birth_date = CAST(w.birth_date AS VARCHAR)
        GROUP BY w.row
        """
    ).fetchall()
    con.close()
    ids: list[str | None] = [None] * wanted.num_rows
    how = ["person_not_found"] * wanted.num_rows
    for row, by_phone, by_birth in matches:
        for candidates, method in ((by_phone, "name_phone"), (by_birth, "name_birth_date")):
            if candidates and len(candidates) == 1:
                ids[row], how[row] = candidates[0], method
                break
            if candidates:
                how[row] = "person_ambiguous"
    return ids, how


def _describe(wanted: pa.Table, j: int) -> str:
    row = {k: v for k, v in wanted.slice(j, 1).to_pylist()[0].items() if v is not None}
    return ", ".join(str(v) for v in row.values())[:80]


def _merge_scans(con, ctx: LoadContext) -> UpsertResult:
    """Insert the staged scans that are new, replace changed ones (keeping history), and derive the
    touched stays again. The first load into an empty store (a city's fortnight, tens of millions of
    rows) skips the comparison with stored scans and derives every stay in one pass."""
    if not con.execute("SELECT count(*) FROM scans").fetchall()[0][0]:
        return _first_load(con, ctx)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE compared AS
        SELECT r.scan_id,
               CASE WHEN s.scan_id IS NULL THEN 'insert'
                    WHEN s.pkey IS DISTINCT FROM r.pkey OR s.vkey IS DISTINCT FROM r.vkey OR s.ts IS DISTINCT FROM r.ts
                      OR s.direction IS DISTINCT FROM r.direction OR s.temperature IS DISTINCT FROM r.temperature
                      OR s.mask IS DISTINCT FROM r.mask THEN 'update'
                    ELSE 'same' END AS action,
               s.pkey AS old_pkey, s.vkey AS old_vkey
        FROM ready r LEFT JOIN scans s ON s.scan_id = r.scan_id
        """
    )
    counts = dict(con.execute("SELECT action, count(*) FROM compared GROUP BY action").fetchall())
    _count_links(
        con,
        ctx,
        "SELECT r.link_method FROM ready r SEMI JOIN compared c ON c.scan_id = r.scan_id AND c.action <> 'same'",
    )
    result = UpsertResult(
        inserted=int(counts.get("insert", 0)),
        updated=int(counts.get("update", 0)),
        unchanged=int(counts.get("same", 0)),
    )
    if not (result.inserted or result.updated):
        return result
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE affected AS
        SELECT DISTINCT pkey, vkey FROM (
            SELECT r.pkey, r.vkey FROM ready r JOIN compared c USING (scan_id) WHERE c.action <> 'same'
            UNION ALL SELECT old_pkey, old_vkey FROM compared WHERE action = 'update'
        )
        """
    )
    if result.updated:
        con.execute(
            f"""
            INSERT INTO scan_history
            SELECT s.*, CAST({int(ctx.batch_id)} AS BIGINT) FROM scans s
            SEMI JOIN compared c ON c.scan_id = s.scan_id AND c.action = 'update'
            """
        )
        con.execute("DELETE FROM scans USING compared c WHERE scans.scan_id = c.scan_id AND c.action = 'update'")
    con.execute(
        f"INSERT INTO scans SELECT {SCAN_COLUMNS} FROM ready r "
        "SEMI JOIN compared c ON c.scan_id = r.scan_id AND c.action <> 'same'"
    )
    store.rederive_stays(con)
    return result


def _first_load(con, ctx: LoadContext) -> UpsertResult:
    _count_links(con, ctx, "SELECT link_method FROM ready")
    con.execute(f"INSERT INTO scans SELECT {SCAN_COLUMNS} FROM ready")
    con.execute("DELETE FROM stays")
    con.execute(store.derive_stays_sql(only_affected=False))
    return UpsertResult(inserted=int(con.execute("SELECT count(*) FROM scans").fetchall()[0][0]))


def _count_links(con, ctx: LoadContext, rows_sql: str) -> None:
    for method, count in con.execute(f"SELECT link_method, count(*) FROM ({rows_sql}) GROUP BY link_method").fetchall():
        ctx.linked[method] = ctx.linked.get(method, 0) + int(count)


def _refresh_after(kind: str) -> None:
    """Venues and residents feed the store (dwell times, households): keep it in step."""
    if kind in ("venues", "residents"):
        store.refresh_reference_data()


AFTER_IMPORT_HOOKS.append(_refresh_after)
