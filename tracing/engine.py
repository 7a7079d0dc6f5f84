"""Who was in contact with whom: domain.md §4, defined once and run by interchangeable engines.

The computation has one primitive, *exposures*: for each query (a person and a time window), every
other person who lived in the same household (when the window is not empty) or whose stay at a
venue overlapped one of the query person's stays, clipped to the window, by at least the policy's
minimum in one continuous overlap. ``EXPOSURES_SQL`` is its definition in plain SQL over three
relations (``queries``, ``stays``, ``households``), in three parts an engine also runs on their own
(``QUERY_STAYS_SQL``, ``MATCH_SQL``, ``HOUSEHOLD_SQL``); engines must return exactly its rows:

- ``IndexEngine`` (the default, "duckdb"): the same rule over the DuckDB store's published index
  (tracing.index), with binary searches instead of joins, vectorised with numpy;
- ``SqlEngine``: the SQL itself on DuckDB (the reference, and the baseline the benchmark reports);
- ``tracing.spark.SparkEngine``: the SQL on Apache Spark, for a cluster.

``trace`` runs the two stages of domain.md §4 on any engine: close contacts of each case inside
its window, then the investigators' manual additions and removals, then secondary contacts of each
close contact inside that contact's own window (first exposure → isolation or the as-of time),
never listing the case or its close contacts. Before the second stage, a close contact's stay that
lies inside another close contact's stay at the same venue is dropped (``_undominated``): it finds
nobody new and no earlier exposure, and a workplace's coworkers would otherwise multiply the rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa

from tracing.index import VENUE_SHIFT, PresenceIndex

HOUSEHOLD, VENUE, MANUAL = 0, 1, 2
PARALLEL_FROM = 20_000  # intervals: below this one thread is faster than two
KIND_NAMES = {HOUSEHOLD: "household", VENUE: "venue", MANUAL: "manual"}
EXPOSURE_COLUMNS = ("query", "contact", "kind", "venue", "start", "stop", "overlap")

# The query person's stays clipped to the window: the intervals a contact must overlap.
QUERY_STAYS_SQL = """
SELECT q.query, q.pkey AS source, s.vkey, GREATEST(s.t0, q.w0) AS a0, LEAST(s.t1, q.w1) AS a1
FROM queries q JOIN stays s ON s.pkey = q.pkey
WHERE s.t1 > q.w0 AND s.t0 < q.w1 AND LEAST(s.t1, q.w1) - GREATEST(s.t0, q.w0) >= {min_overlap}
"""
# Every other person's stay at the same venue overlapping an interval by the minimum, continuously.
MATCH_SQL = """
SELECT c.query, o.pkey AS contact, 1 AS kind, c.vkey AS venue,
       GREATEST(c.a0, o.t0) AS start, LEAST(c.a1, o.t1) AS stop,
       LEAST(c.a1, o.t1) - GREATEST(c.a0, o.t0) AS overlap
FROM intervals c JOIN stays o ON o.vkey = c.vkey AND o.t0 < c.a1 AND o.t1 > c.a0
WHERE o.pkey <> c.source AND LEAST(c.a1, o.t1) - GREATEST(c.a0, o.t0) >= {min_overlap}
"""
# The query person's household, whenever the window is not empty.
HOUSEHOLD_SQL = """
SELECT q.query, h2.pkey AS contact, 0 AS kind, -1 AS venue, q.w0 AS start, q.w1 AS stop, 0 AS overlap
FROM queries q JOIN households h1 ON h1.pkey = q.pkey JOIN households h2 ON h2.hkey = h1.hkey
WHERE h2.pkey <> q.pkey AND q.w1 > q.w0
"""
EXPOSURES_SQL = f"WITH intervals AS ({QUERY_STAYS_SQL})\n{MATCH_SQL}\nUNION ALL\n{HOUSEHOLD_SQL}"
INTERVAL_COLUMNS = ("query", "source", "vkey", "a0", "a1")


@dataclass(frozen=True)
class Rules:
    min_overlap_seconds: int = 15 * 60


@dataclass(frozen=True)
class Queries:
    """One row per lookup: a person key and a window [w0, w1) in epoch seconds."""

    pkey: np.ndarray
    w0: np.ndarray
    w1: np.ndarray

    @property
    def size(self) -> int:
        return int(self.pkey.size)

    def to_arrow(self) -> pa.Table:
        return pa.table(
            {
                "query": pa.array(np.arange(self.size, dtype=np.int64)),
                "pkey": pa.array(self.pkey.astype(np.int64)),
                "w0": pa.array(self.w0.astype(np.int64)),
                "w1": pa.array(self.w1.astype(np.int64)),
            }
        )


@dataclass(frozen=True)
class Intervals:
    """Stays to match (QUERY_STAYS_SQL's rows): query id, its person, venue and [a0, a1)."""

    query: np.ndarray
    source: np.ndarray
    vkey: np.ndarray
    a0: np.ndarray
    a1: np.ndarray

    @property
    def size(self) -> int:
        return int(self.query.size)

    def take(self, index: np.ndarray) -> Intervals:
        return Intervals(*(getattr(self, c)[index] for c in INTERVAL_COLUMNS))

    def to_arrow(self) -> pa.Table:
        return pa.table({c: pa.array(getattr(self, c).astype(np.int64)) for c in INTERVAL_COLUMNS})


@dataclass(frozen=True)
class Exposures:
    """The rows of EXPOSURES_SQL as numpy columns (``query`` indexes the Queries)."""

    query: np.ndarray
    contact: np.ndarray
    kind: np.ndarray
    venue: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    overlap: np.ndarray

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Exposures:
        return cls(*(table.column(c).to_numpy().astype(np.int64) for c in EXPOSURE_COLUMNS))

    @classmethod
    def empty(cls) -> Exposures:
        return cls(*(np.zeros(0, dtype=np.int64) for _ in EXPOSURE_COLUMNS))

    @property
    def size(self) -> int:
        return int(self.query.size)

    def take(self, index: np.ndarray) -> Exposures:
        return Exposures(*(getattr(self, c)[index] for c in EXPOSURE_COLUMNS))

    def canonical(self) -> Exposures:
        """Rows in one fixed order, so results of different engines compare with ==."""
        order = np.lexsort(tuple(getattr(self, c) for c in reversed(EXPOSURE_COLUMNS)))
        return self.take(order)

    def rows(self) -> list[tuple[int, ...]]:
        canonical = self.canonical()
        return list(zip(*(getattr(canonical, c).tolist() for c in EXPOSURE_COLUMNS), strict=True))


class Engine(Protocol):
    """Runs the definition: all of it (``exposures``) or its two parts (stage 2 matches intervals
    the orchestrator has already pruned)."""

    name: str

    def exposures(self, queries: Queries, rules: Rules) -> Exposures: ...

    def interval_exposures(self, intervals: Intervals, rules: Rules) -> Exposures: ...

    def household_exposures(self, queries: Queries) -> Exposures: ...


def _expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges [starts[i], starts[i] + counts[i]) without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total, dtype=np.int64)


def query_intervals(index: PresenceIndex, queries: Queries, rules: Rules) -> Intervals:
    """QUERY_STAYS_SQL over the index: each query person's stays clipped to the window."""
    m = rules.min_overlap_seconds
    known = (queries.pkey >= 0) & (queries.pkey < index.persons)
    qrow = np.flatnonzero(known)
    person = queries.pkey[qrow]
    starts, counts = index.p_ptr[person], index.p_ptr[person + 1] - index.p_ptr[person]
    own = _expand(starts, counts)
    q = np.repeat(qrow, counts)
    a0 = np.maximum(index.p_t0[own], queries.w0[q])
    a1 = np.minimum(index.p_t1[own], queries.w1[q])
    ok = a1 - a0 >= m
    return Intervals(
        q[ok].astype(np.int64),
        queries.pkey[q[ok]].astype(np.int64),
        index.p_venue[own][ok].astype(np.int64),
        a0[ok],
        a1[ok],
    )


def _concat(*parts: Exposures) -> Exposures:
    return Exposures(*(np.concatenate([getattr(p, c) for p in parts]) for c in EXPOSURE_COLUMNS))


class IndexEngine:
    """EXPOSURES_SQL by binary search over the sorted, memory-mapped index (tracing.index)."""

    name = "duckdb"

    def __init__(self, index: PresenceIndex) -> None:
        self.index = index

    def exposures(self, queries: Queries, rules: Rules) -> Exposures:
        venue_part = self.interval_exposures(query_intervals(self.index, queries, rules), rules)
        return _concat(venue_part, self.household_exposures(queries))

    def interval_exposures(self, intervals: Intervals, rules: Rules) -> Exposures:
        """Binary searches, then a vectorised filter of the candidates; big batches run in two
        halves on two threads (numpy releases the GIL in these loops)."""
        if intervals.size < PARALLEL_FROM:
            return self._match(intervals, rules.min_overlap_seconds)
        half = intervals.size // 2
        parts = [intervals.take(np.arange(half)), intervals.take(np.arange(half, intervals.size))]
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = list(pool.map(lambda part: self._match(part, rules.min_overlap_seconds), parts))
        return _concat(*done)

    def _match(self, intervals: Intervals, m: int) -> Exposures:
        ix = self.index
        a0, a1, venue = intervals.a0, intervals.a1, intervals.vkey.astype(np.int64)
        # A stay overlapping [a0, a1) by m must start in [a0 + m - longest stay there, a1 - m].
        base = venue << VENUE_SHIFT
        low = np.searchsorted(ix.v_key, base + np.maximum(a0 + m - ix.venue_maxdur[venue], 0), "left")
        high = np.searchsorted(ix.v_key, base + (a1 - m), "right")
        counts = np.maximum(high - low, 0)
        other = _expand(low, counts)
        c = np.repeat(np.arange(intervals.size), counts)
        start = np.maximum(a0[c], ix.v_t0[other])
        stop = np.minimum(a1[c], ix.v_t1[other])
        keep = stop - start >= m
        other, c, start, stop = other[keep], c[keep], start[keep], stop[keep]
        contact = ix.v_person[other].astype(np.int64)
        mine = contact != intervals.source[c]
        c = c[mine]
        return Exposures(
            intervals.query[c].astype(np.int64),
            contact[mine],
            np.full(c.size, VENUE, dtype=np.int64),
            venue[c],
            start[mine],
            stop[mine],
            (stop - start)[mine],
        )

    def household_exposures(self, queries: Queries) -> Exposures:
        return self._household_exposures(queries)

    def _household_exposures(self, queries: Queries) -> Exposures:
        ix = self.index
        known = (queries.pkey >= 0) & (queries.pkey < ix.persons) & (queries.w1 > queries.w0)
        qrow = np.flatnonzero(known)
        household = ix.hh_of[queries.pkey[qrow]]
        housed = household >= 0
        qrow, household = qrow[housed], household[housed]
        low = np.searchsorted(ix.hh_sorted, household, "left")
        high = np.searchsorted(ix.hh_sorted, household, "right")
        member = _expand(low, high - low)
        q = np.repeat(qrow, high - low)
        contact = ix.hh_person[member].astype(np.int64)
        keep = contact != queries.pkey[q]
        q, contact = q[keep], contact[keep]
        return Exposures(
            q.astype(np.int64),
            contact,
            np.full(q.size, HOUSEHOLD, dtype=np.int64),
            np.full(q.size, -1, dtype=np.int64),
            queries.w0[q].astype(np.int64),
            queries.w1[q].astype(np.int64),
            np.zeros(q.size, dtype=np.int64),
        )


class SqlEngine:
    """EXPOSURES_SQL executed by DuckDB over the store (the reference, and the plain-SQL baseline)."""

    name = "duckdb-sql"

    def __init__(self, connection) -> None:
        self.con = connection

    def exposures(self, queries: Queries, rules: Rules) -> Exposures:
        self.con.register("queries", queries.to_arrow())
        try:
            sql = EXPOSURES_SQL.format(min_overlap=int(rules.min_overlap_seconds))
            table = self.con.sql(sql).to_arrow_table()
        finally:
            self.con.unregister("queries")
        return Exposures.from_arrow(table)

    def interval_exposures(self, intervals: Intervals, rules: Rules) -> Exposures:
        self.con.register("intervals", intervals.to_arrow())
        try:
            table = self.con.sql(MATCH_SQL.format(min_overlap=int(rules.min_overlap_seconds))).to_arrow_table()
        finally:
            self.con.unregister("intervals")
        return Exposures.from_arrow(table)

    def household_exposures(self, queries: Queries) -> Exposures:
        self.con.register("queries", queries.to_arrow())
        try:
            table = self.con.sql(HOUSEHOLD_SQL).to_arrow_table()
        finally:
            self.con.unregister("queries")
        return Exposures.from_arrow(table)


# --- the two stages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseWindow:
    """A case to trace: its person key, its window [start, end) and the trace's as-of time."""

    id_number: str
    pkey: int
    start: int
    end: int
    as_of: int


@dataclass(frozen=True)
class Override:
    """An investigator's decision on one contact of one case, kept across re-traces."""

    id_number: str
    degree: int  # 1 close, 2 secondary
    add: bool  # True: add by hand; False: remove
    exposed_at: int | None = None  # for an addition: when the exposure began (default: window start)
    note: str = ""


@dataclass
class Contact:
    id_number: str
    pkey: int
    degree: int
    first_exposure: int
    reasons: list[dict] = field(default_factory=list)  # kind, via, venue, start, stop, overlap[, note]
    via: str = ""


@dataclass
class ContactSet:
    """The contacts of one case at one degree, columnar (a school can give thousands).

    ``pkey``/``first``/``via`` are per contact (ordered by first exposure, then key); the reasons of
    contact j are ``rows`` j's slice ``bounds[j]:bounds[j + 1]``, each with the person whose exposure it
    is in ``row_via``. Persons the store has never seen (added by hand) have negative keys, named in
    ``names``; the investigators' notes are in ``notes``.
    """

    degree: int
    pkey: np.ndarray
    first: np.ndarray
    via: np.ndarray
    rows: Exposures
    row_via: np.ndarray
    bounds: np.ndarray
    names: dict[int, str] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.pkey.size)

    def id_numbers(self, index: PresenceIndex) -> list[str]:
        return _names(index, self.pkey, self.names)

    def contacts(self, index: PresenceIndex) -> list[Contact]:
        """Materialised for people (JSON, the board): one Contact per person with its reasons."""
        ids = self.id_numbers(index)
        vias = _names(index, self.row_via, self.names)
        columns = {c: getattr(self.rows, c).tolist() for c in EXPOSURE_COLUMNS}
        out = []
        bounds = self.bounds.tolist()
        for j, person in enumerate(self.pkey.tolist()):
            reasons = []
            for r in range(bounds[j], bounds[j + 1]):
                reason = {
                    "kind": KIND_NAMES[columns["kind"][r]],
                    "via": vias[r],
                    "venue": columns["venue"][r],
                    "start": columns["start"][r],
                    "stop": columns["stop"][r],
                    "overlap": columns["overlap"][r],
                }
                if columns["kind"][r] == MANUAL:
                    reason["note"] = self.notes.get(person, "")
                reasons.append(reason)
            out.append(Contact(ids[j], person, self.degree, int(self.first[j]), reasons, vias[bounds[j]]))
        return out


@dataclass
class CaseTrace:
    """One case's result. The contact sets are cut from the batch's pairs when first asked for,
    so a batch of cases costs what its callers read; the counts are always cheap."""

    case: CaseWindow
    number: int  # the case's position in its batch
    pairs: tuple[_Pairs, _Pairs]  # close, secondary: the whole batch's
    removed: list[Override]
    index: PresenceIndex
    names: dict[int, str]
    notes: dict[int, str]

    @functools.cached_property
    def close_set(self) -> ContactSet:
        return self.pairs[0].for_case(self.number, 1, self.names, self.notes)

    @functools.cached_property
    def secondary_set(self) -> ContactSet:
        return self.pairs[1].for_case(self.number, 2, self.names, self.notes)

    @property
    def close_count(self) -> int:
        return self.pairs[0].count_for(self.number)

    @property
    def secondary_count(self) -> int:
        return self.pairs[1].count_for(self.number)

    @property
    def close(self) -> list[Contact]:
        return self.close_set.contacts(self.index)

    @property
    def secondary(self) -> list[Contact]:
        return self.secondary_set.contacts(self.index)


def _names(index: PresenceIndex, pkeys: np.ndarray, extra: dict[int, str]) -> list[str]:
    known = pkeys >= 0
    ids = np.empty(pkeys.size, dtype=object)
    if known.any():
        ids[known] = index.id_numbers(pkeys[known])
    for i in np.flatnonzero(~known).tolist():
        ids[i] = extra[int(pkeys[i])]
    return ids.tolist()


def _pair_keys(case: np.ndarray, person: np.ndarray) -> np.ndarray:
    """(case, person) as one sortable int64; manual additions' negative keys stay distinct."""
    return (case.astype(np.int64) << 33) + (person.astype(np.int64) + (1 << 32))


@dataclass
class _Pairs:
    """Contacts of all cases at one stage: exposure rows grouped by (case, person).

    The rows stay where the engine put them; ``order`` lists the kept ones grouped by the (case,
    person) key (one int64 sort: millions of rows on a bad day), and each group's first exposure and
    whose exposure that was are reduced per group, ties broken by the lower person key, so every
    engine's rows give the same answer in whatever order they come. A case's rows are gathered only
    when its contacts are asked for.
    """

    case: np.ndarray  # per row, as the engine returned them
    rows: Exposures
    row_via: np.ndarray
    order: np.ndarray  # kept rows, sorted by (case, person)
    group_start: np.ndarray  # positions in ``order`` where each group starts
    group_size: np.ndarray
    pair_case: np.ndarray
    pair_person: np.ndarray
    pair_first: np.ndarray  # the earliest exposure
    pair_via: np.ndarray  # whose exposure that was

    @classmethod
    def build(cls, case: np.ndarray, rows: Exposures, row_via: np.ndarray) -> _Pairs:
        keys = _pair_keys(case, rows.contact)
        order = np.argsort(keys, kind="stable")  # faster than quicksort on these keys; for_case orders rows fully
        return cls._grouped(case, rows, row_via, order, keys[order])

    @classmethod
    def _grouped(cls, case, rows, row_via, order, sorted_keys) -> _Pairs:
        if not order.size:
            empty = np.zeros(0, np.int64)
            return cls(case, rows, row_via, empty, empty, empty, empty, empty, empty, empty)
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, order.size])
        start = rows.start[order]
        first = np.minimum.reduceat(start, starts)
        earliest = start == np.repeat(first, sizes)
        via = np.minimum.reduceat(np.where(earliest, row_via[order], np.iinfo(np.int64).max), starts)
        heads = order[starts]
        return cls(case, rows, row_via, order, starts, sizes, case[heads], rows.contact[heads], first, via)

    def count_for(self, i: int) -> int:
        g_lo, g_hi = np.searchsorted(self.pair_case, [i, i + 1])
        return int(g_hi - g_lo)

    def keep_groups(self, keep: np.ndarray) -> _Pairs:
        order = self.order[np.repeat(keep, self.group_size)]
        sizes = self.group_size[keep]
        return _Pairs(
            self.case,
            self.rows,
            self.row_via,
            order,
            np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64) if sizes.size else np.zeros(0, np.int64),
            sizes,
            self.pair_case[keep],
            self.pair_person[keep],
            self.pair_first[keep],
            self.pair_via[keep],
        )

    def kept(self) -> tuple[np.ndarray, Exposures, np.ndarray]:
        """The kept rows themselves (case, rows, via), for the rare rebuild after decisions."""
        return self.case[self.order], self.rows.take(self.order), self.row_via[self.order]

    def for_case(self, i: int, degree: int, names: dict[int, str], notes: dict[int, str]) -> ContactSet:
        g_lo, g_hi = np.searchsorted(self.pair_case, [i, i + 1])
        lo = int(self.group_start[g_lo]) if g_lo < self.group_start.size else self.order.size
        hi = int(self.group_start[g_hi]) if g_hi < self.group_start.size else self.order.size
        first, person, via = self.pair_first[g_lo:g_hi], self.pair_person[g_lo:g_hi], self.pair_via[g_lo:g_hi]
        order = np.lexsort((person, first))
        picked = self.order[lo:hi]
        rows = self.rows.take(picked)
        row_via = self.row_via[picked]
        # reasons in a fixed order: by contact (in the contacts' order), then time, then via
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        group_of_row = np.repeat(rank, self.group_size[g_lo:g_hi])
        row_order = np.lexsort((rows.overlap, rows.stop, rows.kind, rows.venue, row_via, rows.start, group_of_row))
        counts = np.bincount(group_of_row, minlength=order.size)
        return ContactSet(
            degree,
            person[order],
            first[order],
            via[order],
            rows.take(row_order),
            row_via[row_order],
            np.r_[0, np.cumsum(counts)].astype(np.int64),
            names,
            notes,
        )


def trace(
    engine: Engine,
    index: PresenceIndex,
    cases: list[CaseWindow],
    rules: Rules,
    *,
    isolated_at: Callable[[list[str]], dict[str, int]] | dict[str, int] | None = None,
    overrides: dict[str, list[Override]] | None = None,
) -> list[CaseTrace]:
    """Close and secondary contacts of every case, in one engine batch per stage.

    ``isolated_at`` gives close contacts' isolation times (epoch seconds) by identity number: a dict,
    or a function asked once for the close contacts found (so a city's register is not read)."""
    overrides = overrides or {}
    n = len(cases)
    names: dict[int, str] = {}
    notes: dict[int, str] = {}
    close, removed = _stage_one(engine, index, cases, rules, overrides, names, notes)

    # Stage 2: each close contact from its first exposure to its isolation (or the as-of time).
    person, first, case_of = close.pair_person, close.pair_first, close.pair_case
    known = person >= 0
    person, first, case_of = person[known], first[known], case_of[known]
    as_of = np.array([c.as_of for c in cases], dtype=np.int64)[case_of]
    names_of = index.id_numbers(person)
    lookup = isolated_at(names_of) if callable(isolated_at) else (isolated_at or {})
    isolated = np.array([lookup.get(i, -1) for i in names_of], dtype=np.int64)
    end = np.minimum(np.where(isolated > first, isolated, as_of), as_of)
    queries = Queries(person, first, end)
    intervals = _undominated(query_intervals(index, queries, rules), case_of)
    second = _concat(engine.interval_exposures(intervals, rules), engine.household_exposures(queries))
    row_case = case_of[second.query] if second.size else np.zeros(0, np.int64)
    excluded = np.concatenate(
        [_pair_keys(close.pair_case, close.pair_person), _pair_keys(np.arange(n), np.array([c.pkey for c in cases]))]
    )
    secondary = _Pairs.build(row_case, second, person[second.query] if second.size else second.query)
    secondary = secondary.keep_groups(~np.isin(_pair_keys(secondary.pair_case, secondary.pair_person), excluded))
    secondary, gone = _apply_overrides(index, secondary, cases, overrides, 2, names, notes)

    return [
        CaseTrace(case, i, (close, secondary), removed[i] + gone[i], index, names, notes)
        for i, case in enumerate(cases)
    ]


def _undominated(intervals: Intervals, case_of: np.ndarray) -> Intervals:
    """Drop close contacts' stays that lie inside another close contact's stay at the same venue
    (for the same case): such a stay finds nobody the other does not, and no earlier exposure
    (domain.md §4 asks who was exposed and from when). Coworkers' shifts are the common case: a
    workplace's 300 identical days become the few that differ. Equal stays keep the lowest key."""
    if intervals.size == 0:
        return intervals
    case = case_of[intervals.query]
    order = np.lexsort((intervals.source, -intervals.a1, intervals.a0, intervals.vkey, case))
    iv, group_case = intervals.take(order), case[order]
    group = np.r_[True, (group_case[1:] != group_case[:-1]) | (iv.vkey[1:] != iv.vkey[:-1])]
    group_id = np.cumsum(group) - 1
    # the latest end among earlier intervals of the same group: a running max with a group offset
    shifted = (group_id << 33) + iv.a1
    running = np.maximum.accumulate(shifted)
    previous = np.r_[-1, running[:-1]]
    keep = group | (shifted > previous)
    return iv.take(np.flatnonzero(keep))


def close_contacts(
    engine: Engine,
    index: PresenceIndex,
    cases: list[CaseWindow],
    rules: Rules,
    *,
    overrides: dict[str, list[Override]] | None = None,
) -> list[ContactSet]:
    """Stage 1 alone: each case's close contacts inside its window, after the investigators' decisions."""
    names: dict[int, str] = {}
    notes: dict[int, str] = {}
    close, _ = _stage_one(engine, index, cases, rules, overrides or {}, names, notes)
    return [close.for_case(i, 1, names, notes) for i in range(len(cases))]


def _stage_one(engine, index, cases, rules, overrides, names, notes) -> tuple[_Pairs, list[list[Override]]]:
    first = engine.exposures(
        Queries(
            np.array([c.pkey for c in cases], dtype=np.int64),
            np.array([c.start for c in cases], dtype=np.int64),
            np.array([c.end for c in cases], dtype=np.int64),
        ),
        rules,
    )
    case_pkeys = np.array([c.pkey for c in cases], dtype=np.int64)
    pairs = _Pairs.build(first.query, first, case_pkeys[first.query] if first.size else first.query)
    pairs, removed = _apply_overrides(index, pairs, cases, overrides, 1, names, notes)
    return pairs, removed


def _apply_overrides(
    index: PresenceIndex,
    pairs: _Pairs,
    cases: list[CaseWindow],
    overrides: dict[str, list[Override]],
    degree: int,
    names: dict[int, str],
    notes: dict[int, str],
) -> tuple[_Pairs, list[list[Override]]]:
    """Removals drop computed contacts; additions join with a 'manual' reason (domain.md §4)."""
    removed: list[list[Override]] = [[] for _ in cases]
    decided = [(i, d) for i, c in enumerate(cases) for d in overrides.get(c.id_number, []) if d.degree == degree]
    if not decided:
        return pairs, removed
    keys = dict(
        zip((d.id_number for _, d in decided), index.pkeys([d.id_number for _, d in decided]).tolist(), strict=True)
    )
    for _, d in decided:  # never seen by the store: a negative key of its own
        if keys[d.id_number] < 0:
            keys[d.id_number] = -2 - len(names)
            names[keys[d.id_number]] = d.id_number
    existing = set(_pair_keys(pairs.pair_case, pairs.pair_person).tolist())
    pair_case, pair_rows, pair_via = pairs.kept()
    drop = [(i, keys[d.id_number]) for i, d in decided if not d.add]
    for i, d in decided:
        if not d.add and int(_pair_keys(np.array([i]), np.array([keys[d.id_number]]))[0]) in existing:
            removed[i].append(d)
    keep = np.ones(pair_case.size, dtype=bool)
    if drop:
        dropped = _pair_keys(np.array([i for i, _ in drop]), np.array([p for _, p in drop]))
        keep = ~np.isin(_pair_keys(pair_case, pair_rows.contact), dropped)
    additions = [(i, d) for i, d in decided if d.add and d.id_number != cases[i].id_number]
    additions = [(i, d) for i, d in additions if (i, keys[d.id_number]) not in set(drop)]
    if not additions:
        return _Pairs.build(pair_case[keep], pair_rows.take(np.flatnonzero(keep)), pair_via[keep]), removed
    extra = Exposures(
        np.array([i for i, _ in additions], dtype=np.int64),
        np.array([keys[d.id_number] for _, d in additions], dtype=np.int64),
        np.full(len(additions), MANUAL, dtype=np.int64),
        np.full(len(additions), -1, dtype=np.int64),
        np.array([d.exposed_at if d.exposed_at is not None else cases[i].start for i, d in additions], dtype=np.int64),
        np.array([cases[i].end for i, _ in additions], dtype=np.int64),
        np.zeros(len(additions), dtype=np.int64),
    )
    for _, d in additions:
        notes[keys[d.id_number]] = d.note
    kept = pair_rows.take(np.flatnonzero(keep))
    rows = Exposures(*(np.concatenate([getattr(kept, c), getattr(extra, c)]) for c in EXPOSURE_COLUMNS))
    case = np.concatenate([pair_case[keep], extra.query])
    via = np.concatenate([pair_via[keep], np.array([_key_of(cases[i], names) for i, _ in additions])])
    return _Pairs.build(case, rows, via.astype(np.int64)), removed


def _key_of(case: CaseWindow, names: dict[int, str]) -> int:
    """The case's person key; a case the store has never seen gets a negative one, named."""
    if case.pkey >= 0:
        return case.pkey
    for key, name in names.items():
        if name == case.id_number:
            return key
    key = -2 - len(names)
    names[key] = case.id_number
    return key
