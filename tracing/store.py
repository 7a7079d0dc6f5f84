"""The presence store: venue scans and the stays derived from them, in DuckDB beside the main database.

Scans are event data (about 25 million rows for a city of a million over 14 days): they live in a
columnar DuckDB file under ``LINLI_PRESENCE_DIR``, not in the relational database, which keeps the
import batch, its summary and every rejected row. Each scans import writes the file in one DuckDB
transaction and then publishes a new read-only index (tracing.index) that tracing reads; readers
never open the DuckDB file, so tracing is not blocked by an import.

Stays follow contracts.md, "Presence at a venue": an ``in`` scan starts a stay that ends at the
person's next scan at that venue if that is an ``out`` within 12 hours, else after the venue's
``dwell_minutes`` (default by kind, geo.choices.DEFAULT_DWELL_MINUTES). ``pass`` scans and ``out``
scans that close nothing are kept but make no presence. Whenever scans of a (person, venue) pair
arrive or change, that pair's stays are derived again from all its scans, so the result never
depends on the order files arrive in.

Persons are keyed by identity number (visitors from outside the register are traced too) through a
dense integer ``pkey``; venues by their ``geo.Venue`` id; households by ``geo.Household`` id.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from django.conf import settings

from geo.choices import DEFAULT_DWELL_MINUTES

OUT_CLOSES_WITHIN_SECONDS = 12 * 3600  # contracts.md: an out scan within 12 hours closes the stay
DEFAULT_DWELL_OTHER = DEFAULT_DWELL_MINUTES["other"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS persons (pkey INTEGER NOT NULL, id_number VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS venues (vkey INTEGER NOT NULL, code VARCHAR NOT NULL, kind VARCHAR,
    dwell_seconds INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS households (pkey INTEGER NOT NULL, hkey BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS scans (scan_id VARCHAR NOT NULL, pkey INTEGER NOT NULL, vkey INTEGER NOT NULL,
    ts BIGINT NOT NULL, direction VARCHAR NOT NULL, temperature REAL, mask BOOLEAN, link_method VARCHAR,
    batch_id BIGINT);
CREATE TABLE IF NOT EXISTS scan_history (scan_id VARCHAR, pkey INTEGER, vkey INTEGER, ts BIGINT,
    direction VARCHAR, temperature REAL, mask BOOLEAN, link_method VARCHAR, batch_id BIGINT,
    replaced_by_batch BIGINT);
CREATE TABLE IF NOT EXISTS stays (pkey INTEGER NOT NULL, vkey INTEGER NOT NULL, t0 BIGINT NOT NULL,
    t1 BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
"""

# The derivation of stays (contracts.md), for the (person, venue) pairs in table ``affected`` or all.
_DERIVE_STAYS = f"""
INSERT INTO stays
SELECT s.pkey, s.vkey, s.ts AS t0,
       CASE WHEN s.next_direction = 'out' AND s.next_ts - s.ts <= {OUT_CLOSES_WITHIN_SECONDS}
            THEN s.next_ts ELSE s.ts + v.dwell_seconds END AS t1
FROM (
    SELECT sc.pkey, sc.vkey, sc.ts, sc.direction,
           lead(sc.direction) OVER pair AS next_direction, lead(sc.ts) OVER pair AS next_ts
    FROM scans sc {{pairs}}
    WINDOW pair AS (PARTITION BY sc.pkey, sc.vkey ORDER BY sc.ts, sc.scan_id)
) s JOIN venues v ON v.vkey = s.vkey
WHERE s.direction = 'in'
  AND (CASE WHEN s.next_direction = 'out' AND s.next_ts - s.ts <= {OUT_CLOSES_WITHIN_SECONDS}
            THEN s.next_ts ELSE s.ts + v.dwell_seconds END) > s.ts
"""

_write_lock = threading.Lock()


def derive_stays_sql(only_affected: bool = True) -> str:
    pairs = "SEMI JOIN affected a ON a.pkey = sc.pkey AND a.vkey = sc.vkey" if only_affected else ""
    return _DERIVE_STAYS.format(pairs=pairs)


def store_dir() -> Path:
    path = Path(getattr(settings, "LINLI_PRESENCE_DIR", None) or settings.LINLI_HOME / "presence")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path() -> Path:
    return store_dir() / "presence.duckdb"


def exists() -> bool:
    return database_path().exists()


@contextlib.contextmanager
def connect(read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection: DuckDB lets one process write, so nothing holds the file open."""
    if read_only and not exists():
        raise FileNotFoundError(database_path())
    con = duckdb.connect(str(database_path()), read_only=read_only)
    try:
        if not read_only:
            con.execute(SCHEMA)
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def writing() -> Iterator[duckdb.DuckDBPyConnection]:
    """One writer at a time in this process, inside one DuckDB transaction (all or nothing)."""
    with _write_lock, connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def version(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchall()
    return int(rows[0][0]) if rows else 0


def bump_version(con: duckdb.DuckDBPyConnection) -> int:
    new = version(con) + 1
    con.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", [str(new)])
    return new


# --- reference data from the main database -------------------------------------------------------


def venue_table() -> pa.Table:
    """Every venue with its effective dwell (contracts.md: the venue's figure, else the default by kind)."""
    from geo.models import Venue

    rows = list(Venue.objects.values_list("id", "code", "kind", "dwell_minutes"))
    default = DEFAULT_DWELL_MINUTES
    return pa.table(
        {
            "vkey": pa.array([r[0] for r in rows], type=pa.int32()),
            "code": pa.array([r[1] for r in rows], type=pa.string()),
            "kind": pa.array([r[2] for r in rows], type=pa.string()),
            "dwell_seconds": pa.array(
                [60 * (r[3] if r[3] is not None else default.get(r[2], DEFAULT_DWELL_OTHER)) for r in rows],
                type=pa.int32(),
            ),
        }
    )


def household_table() -> pa.Table:
    """Identity number and household of every current resident (the household rule of domain.md §4)."""
    from people.models import Resident

    rows = Resident.objects.filter(
        merged_into__isnull=True, id_number__isnull=False, household__isnull=False
    ).values_list("id_number", "household_id")
    ids, households = [], []
    for id_number, household in rows.iterator(chunk_size=20000):
        ids.append(id_number)
        households.append(household)
    return pa.table({"id_number": pa.array(ids, type=pa.string()), "hkey": pa.array(households, type=pa.int64())})


def add_persons(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Give every identity number in ``relation`` (a column ``id_number``) a pkey if it has none."""
    con.execute(
        f"""
        INSERT INTO persons
        SELECT (SELECT coalesce(max(pkey), -1) FROM persons) + row_number() OVER (ORDER BY n.id_number), n.id_number
        FROM (SELECT DISTINCT id_number FROM {relation} WHERE id_number IS NOT NULL) n
        ANTI JOIN persons p ON p.id_number = n.id_number
        """
    )


@dataclass
class VenueSync:
    changed: int  # venues whose dwell changed: their stays were derived again


def sync_venues(con: duckdb.DuckDBPyConnection) -> VenueSync:
    """Copy the venues in; venues whose dwell changed get their stays derived again."""
    fresh = venue_table()  # noqa: F841 - read by DuckDB by name
    con.execute("CREATE OR REPLACE TEMP TABLE fresh_venues AS SELECT * FROM fresh")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE changed_venues AS SELECT f.vkey FROM fresh_venues f "
        "JOIN venues v ON v.vkey = f.vkey WHERE v.dwell_seconds <> f.dwell_seconds"
    )
    changed = con.execute("SELECT count(*) FROM changed_venues").fetchall()[0][0]
    con.execute("DELETE FROM venues")
    con.execute("INSERT INTO venues SELECT vkey, code, kind, dwell_seconds FROM fresh_venues")
    if changed:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE affected AS SELECT DISTINCT pkey, vkey FROM scans "
            "WHERE vkey IN (SELECT vkey FROM changed_venues)"
        )
        rederive_stays(con)
    return VenueSync(changed=int(changed))


def sync_households(con: duckdb.DuckDBPyConnection) -> None:
    fresh = household_table()  # noqa: F841 - read by DuckDB by name
    con.execute("CREATE OR REPLACE TEMP TABLE fresh_households AS SELECT * FROM fresh")
    add_persons(con, "fresh_households")
    con.execute("DELETE FROM households")
    con.execute("INSERT INTO households SELECT p.pkey, f.hkey FROM fresh_households f JOIN persons p USING (id_number)")


def rederive_stays(con: duckdb.DuckDBPyConnection) -> None:
    """Derive again the stays of every (person, venue) pair in the temp table ``affected``."""
    total = con.execute("SELECT count(*) FROM stays").fetchall()[0][0]
    if total:
        con.execute("DELETE FROM stays USING affected a WHERE stays.pkey = a.pkey AND stays.vkey = a.vkey")
    con.execute(derive_stays_sql())


def refresh_reference_data() -> None:
    """After venues or residents change: copy them into the store and publish a new index."""
    if not exists():
        return
    from tracing.index import publish

    with writing() as con:
        sync_venues(con)
        sync_households(con)
        bump_version(con)
    publish()


def counts() -> dict[str, int]:
    if not exists():
        return {"scans": 0, "stays": 0, "persons": 0, "venues": 0, "households": 0, "version": 0}
    with connect(read_only=True) as con:
        out = {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in ("scans", "stays", "persons", "venues", "households")
        }
        out["version"] = version(con)
    return out


def write_manifest(path: Path, data: dict) -> None:
    """Write a small JSON file atomically (write then rename)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
