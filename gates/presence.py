"""Gate checks feed contact tracing: every check becomes a scan at the gate's venue in the presence
store (tracing.store), so a case who walked through a compound gate is traced like one who scanned a
market's place code (contracts.md, "Presence at a venue"; domain.md §7).

Run every minute by the job ``gates.to_presence``. The push is set-based (one query for the new
checks into Arrow, one DuckDB insert from it) and idempotent twice over: a watermark of the last
check id pushed is kept in the store's ``meta`` table, and a scan id (``gate:<client_id>``) already
in the store is never inserted again. The watermark is read back with an overlap of ids, because a
check whose transaction committed late can carry a lower id than one already pushed (PostgreSQL
hands out ids at insert, not at commit); the scan-id check makes re-reading those harmless.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from gates.models import GateCheck
from tracing import store

WATERMARK_KEY = "gates.last_check_id"
REREAD_OVERLAP_IDS = 2000  # late commits: re-read this many ids below the watermark (deduplicated by scan id)
FETCH_CHUNK = 20000

_CHECK_FIELDS = (
    "id",
    "client_id",
    "person__id_number",
    "gate__venue_id",
    "at",
    "direction",
    "decision",
    "temperature",
    "mask",
)


def push_new_checks() -> dict:
    """Append the gate checks not yet in the presence store as scans, derive the touched stays again
    and publish a fresh index; returns what was read, pushed and left out (no identity number)."""
    if not store.exists() and not GateCheck.objects.exists():
        return {"read": 0, "pushed": 0, "without_identity": 0, "watermark": 0}  # no empty store for nothing
    changed_venues = pushed = 0
    with store.writing() as con:
        watermark = _watermark(con)
        checks = _checks_after(max(watermark - REREAD_OVERLAP_IDS, 0))
        con.register("gate_checks", checks)
        try:
            read, without_identity, candidates = _stage_fresh(con, watermark)
            if candidates:
                changed_venues = store.sync_venues(con).changed  # a new gate brings a new venue
                if not con.execute("SELECT count(*) FROM households").fetchall()[0][0]:
                    store.sync_households(con)  # as the scans import does: the household rule needs them
                pushed = _insert_scans(con)
        finally:
            con.unregister("gate_checks")
        if read:
            watermark = int(pc.max(checks.column("id")).as_py())
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [WATERMARK_KEY, str(watermark)])
        if pushed:
            store.rederive_stays(con)
        if pushed or changed_venues:
            store.bump_version(con)
    if pushed or changed_venues:
        from tracing.index import publish

        publish()
    return {"read": read, "pushed": pushed, "without_identity": without_identity, "watermark": watermark}


def _watermark(con) -> int:
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [WATERMARK_KEY]).fetchall()
    return int(rows[0][0]) if rows else 0


def _checks_after(last_id: int) -> pa.Table:
    """The checks with an id above ``last_id``: one query (with the person's identity number and the
    gate's venue joined in), as an Arrow table."""
    columns: dict[str, list] = {name: [] for name in _CHECK_FIELDS}
    rows = GateCheck.objects.filter(id__gt=last_id).order_by("id").values_list(*_CHECK_FIELDS)
    for row in rows.iterator(chunk_size=FETCH_CHUNK):
        for name, value in zip(_CHECK_FIELDS, row, strict=True):
            columns[name].append(value)
    at = pa.array(columns["at"], type=pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "id": pa.array(columns["id"], type=pa.int64()),
            "scan_id": pa.array([f"gate:{c}" for c in columns["client_id"]], type=pa.string()),
            "id_number": pa.array(columns["person__id_number"], type=pa.string()),
            "vkey": pa.array(columns["gate__venue_id"], type=pa.int32()),
            "ts": pc.cast(pc.cast(at, pa.timestamp("s", tz="UTC")), pa.int64()),
            "direction": pa.array(columns["direction"], type=pa.string()),
            "decision": pa.array(columns["decision"], type=pa.string()),
            "temperature": pa.array(
                [None if t is None else float(t) for t in columns["temperature"]], type=pa.float32()
            ),
            "mask": pa.array(columns["mask"], type=pa.bool_()),
        }
    )


def _stage_fresh(con, watermark: int) -> tuple[int, int, int]:
    """Keep in ``gate_fresh`` the checks whose scan is not in the store yet (nothing, on a quiet
    minute: the overlap re-read finds only what was pushed). Returns the checks new since the
    watermark, those of them without an identity number, and the checks to insert."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gate_fresh AS "
        "SELECT g.* FROM gate_checks g ANTI JOIN scans s ON s.scan_id = g.scan_id"
    )
    read, without = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE id_number IS NULL) FROM gate_checks WHERE id > ?", [watermark]
    ).fetchall()[0]
    candidates = con.execute("SELECT count(*) FROM gate_fresh WHERE id_number IS NOT NULL").fetchall()[0][0]
    return int(read), int(without), int(candidates)


def _insert_scans(con) -> int:
    """Insert the fresh checks as scans and leave their (person, venue) pairs in ``affected`` (what
    store.rederive_stays reads). A refused check is a presence at the gate but no entry: a ``pass``.
    Persons are keyed by identity number; a person without one cannot be traced."""
    store.add_persons(con, "gate_fresh")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE gate_scans AS
        SELECT g.scan_id, p.pkey, g.vkey, g.ts,
               CASE WHEN g.decision = 'refuse' THEN 'pass' ELSE g.direction END AS direction,
               g.temperature, g.mask, 'gate' AS link_method, CAST(NULL AS BIGINT) AS batch_id
        FROM gate_fresh g JOIN persons p ON p.id_number = g.id_number
        """
    )
    con.execute(
        "INSERT INTO scans (scan_id, pkey, vkey, ts, direction, temperature, mask, link_method, batch_id) "
        "SELECT scan_id, pkey, vkey, ts, direction, temperature, mask, link_method, batch_id FROM gate_scans"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE affected AS SELECT DISTINCT pkey, vkey FROM gate_scans")
    return int(con.execute("SELECT count(*) FROM gate_scans").fetchall()[0][0])
