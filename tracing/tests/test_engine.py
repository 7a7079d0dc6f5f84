"""The engines against each other and against a naive reading of domain.md §4, on random data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest

from tests_support.city import valid_id
from tracing import engine as eng
from tracing import index, store
from tracing.tests import brute

M = 15 * 60
T0 = 1_580_000_000  # 2020-01-26


def make_store(seed: int, persons: int = 60, venues: int = 5, stays: int = 400):
    """A presence store filled directly: persons, venues, households and stays (no scans needed)."""
    rng = np.random.default_rng(seed)
    ids = [valid_id("420102", "19800101", i + 1) for i in range(persons)]
    start = T0 + rng.integers(0, 3 * 86400, stays)
    length = rng.choice([60, 5 * 60, 14 * 60, 15 * 60, 16 * 60, 45 * 60, 3 * 3600], stays)
    table = {
        "pkey": rng.integers(0, persons, stays).astype(np.int32),
        "vkey": rng.integers(1, venues + 1, stays).astype(np.int32),
        "t0": start,
        "t1": start + length,
    }
    homes = {p: p // 3 for p in range(persons) if p % 7}  # households of up to 3, a few homeless
    with store.writing() as con:
        con.register("p", pa.table({"pkey": pa.array(range(persons), pa.int32()), "id_number": ids}))
        con.execute("INSERT INTO persons SELECT * FROM p")
        con.register(
            "v",
            pa.table(
                {
                    "vkey": pa.array(range(1, venues + 1), pa.int32()),
                    "code": [f"V{i}" for i in range(1, venues + 1)],
                    "kind": ["market"] * venues,
                    "dwell_seconds": pa.array([3600] * venues, pa.int32()),
                }
            ),
        )
        con.execute("INSERT INTO venues SELECT * FROM v")
        con.register("h", pa.table({"pkey": pa.array(list(homes), pa.int32()), "hkey": list(homes.values())}))
        con.execute("INSERT INTO households SELECT * FROM h")
        con.register("s", pa.table(table))
        con.execute("INSERT INTO stays SELECT * FROM s")
        store.bump_version(con)
    index.publish()
    stay_rows = list(zip(*(table[c].tolist() for c in ("pkey", "vkey", "t0", "t1")), strict=True))
    return ids, stay_rows, homes, rng


def random_queries(rng, persons: int, n: int) -> list[tuple[int, int, int]]:
    w0 = T0 + rng.integers(-86400, 2 * 86400, n)
    w1 = w0 + rng.integers(-3600, 3 * 86400, n)  # some windows are empty
    return list(zip(rng.integers(0, persons, n).tolist(), w0.tolist(), w1.tolist(), strict=True))


def as_queries(rows) -> eng.Queries:
    columns = list(zip(*rows, strict=True))
    return eng.Queries(*(np.array(c, dtype=np.int64) for c in columns))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_index_and_sql_engines_return_exactly_the_rows_of_the_rule(seed):
    ids, stays, homes, rng = make_store(seed)
    queries = random_queries(rng, len(ids), 25)
    expected = brute.exposures(queries, stays, homes, M)
    assert expected, "the random data should produce some exposures"
    by_index = eng.IndexEngine(index.current()).exposures(as_queries(queries), eng.Rules(M)).rows()
    with store.connect(read_only=True) as con:
        by_sql = eng.SqlEngine(con).exposures(as_queries(queries), eng.Rules(M)).rows()
    assert by_index == expected
    assert by_sql == expected


def test_overlap_is_one_continuous_stretch_and_at_least_the_minimum():
    make_store(9, persons=4, venues=1, stays=0)
    with store.writing() as con:
        con.execute("DELETE FROM stays")
        con.execute("DELETE FROM households")
        rows = [
            (0, 1, T0, T0 + 3600),  # the case, one hour
            (1, 1, T0 + 3600 - 15 * 60, T0 + 7200),  # exactly 15 minutes: a contact
            (2, 1, T0 + 3600 - 14 * 60, T0 + 7200),  # 14 minutes: not one
            (3, 1, T0 - 600, T0 + 10 * 60),  # 10 min …
            (3, 1, T0 + 20 * 60, T0 + 30 * 60),  # … and 10 more: never added up
        ]
        con.executemany("INSERT INTO stays VALUES (?, ?, ?, ?)", rows)
        store.bump_version(con)
    index.publish()
    found = eng.IndexEngine(index.current()).exposures(as_queries([(0, T0 - 86400, T0 + 86400)]), eng.Rules(M))
    assert found.contact.tolist() == [1]
    assert found.overlap.tolist() == [15 * 60]


def test_window_clips_the_case_stay():
    make_store(10, persons=2, venues=1, stays=0)
    with store.writing() as con:
        con.execute("DELETE FROM households")
        con.executemany("INSERT INTO stays VALUES (?, ?, ?, ?)", [(0, 1, T0, T0 + 7200), (1, 1, T0, T0 + 7200)])
        store.bump_version(con)
    index.publish()
    engine = eng.IndexEngine(index.current())
    inside = engine.exposures(as_queries([(0, T0 + 7200 - 20 * 60, T0 + 86400)]), eng.Rules(M))
    assert inside.overlap.tolist() == [20 * 60]
    assert inside.start.tolist() == [T0 + 7200 - 20 * 60]
    too_late = engine.exposures(as_queries([(0, T0 + 7200 - 10 * 60, T0 + 86400)]), eng.Rules(M))
    assert too_late.size == 0


@dataclass
class DecisionsScenario:
    """Two cases with overlapping windows, one computed contact removed by hand and another person
    added, with isolation times: reaches both stages (shared with the Spark tests)."""

    ids: list[str]
    stays: list[tuple]
    homes: dict[int, int]
    cases: list[eng.CaseWindow]
    removed: int
    added: int
    isolated: dict[str, int]
    overrides: dict[str, list[eng.Override]]

    def trace(self, engine) -> list[eng.CaseTrace]:
        ix = index.current()
        return eng.trace(engine, ix, self.cases, eng.Rules(M), isolated_at=self.isolated, overrides=self.overrides)


def decisions_scenario(seed: int) -> DecisionsScenario:
    ids, stays, homes, _ = make_store(seed, persons=40, venues=3, stays=300)
    case_p = [1, 5]
    windows = [(T0, T0 + 2 * 86400), (T0 + 86400, T0 + 3 * 86400)]
    as_of = T0 + 3 * 86400
    cases = [eng.CaseWindow(ids[p], p, w0, w1, as_of) for p, (w0, w1) in zip(case_p, windows, strict=True)]
    first = brute.exposures([(p, *w) for p, w in zip(case_p, windows, strict=True)], stays, homes, M)
    removed = next(row[1] for row in first if row[0] == 0)
    added = next(p for p in range(40) if p not in {row[1] for row in first if row[0] == 0} and p != 1)
    overrides = {
        ids[1]: [
            eng.Override(ids[removed], 1, add=False, note="never met"),
            eng.Override(ids[added], 1, add=True, exposed_at=T0 + 3600, note="shared a car"),
        ]
    }
    isolated = {ids[removed]: T0, ids[added]: T0 + 2 * 86400}
    return DecisionsScenario(ids, stays, homes, cases, removed, added, isolated, overrides)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_two_stages_match_the_rule_with_investigators_decisions(seed):
    scenario = decisions_scenario(seed)
    ids, stays, homes, cases = scenario.ids, scenario.stays, scenario.homes, scenario.cases
    removed, added, isolated = scenario.removed, scenario.added, scenario.isolated
    as_of = cases[0].as_of
    first = brute.exposures([(c.pkey, c.start, c.end) for c in cases], stays, homes, M)
    traced = scenario.trace(eng.IndexEngine(index.current()))

    for i, case in enumerate(cases):
        close = {}
        for q, contact, _kind, _venue, start, *_ in first:
            if q == i:
                close.setdefault(contact, start)
                close[contact] = min(close[contact], start)
        if i == 0:
            close.pop(removed)
            close[added] = T0 + 3600
        got_close = {c.id_number: c.first_exposure for c in traced[i].close}
        assert got_close == {ids[p]: t for p, t in close.items()}
        # secondary: each close contact from first exposure to isolation (if after it) or as-of
        queries = []
        for p, first_exposure in sorted(close.items()):
            end = isolated.get(ids[p])
            end = end if end is not None and end > first_exposure else as_of
            queries.append((p, first_exposure, min(end, as_of)))
        second = brute.exposures(queries, stays, homes, M)
        expected: dict[int, int] = {}
        for row in second:
            if row[1] not in close and row[1] != case.pkey:
                expected[row[1]] = min(expected.get(row[1], row[4]), row[4])
        got = {c.id_number: c.first_exposure for c in traced[i].secondary}
        assert got == {ids[p]: t for p, t in expected.items()}
        for contact in traced[i].secondary:
            assert contact.via in {ids[p] for p in close}
    assert [d.id_number for d in traced[0].removed] == [ids[removed]]


def test_big_batches_split_over_two_threads_give_the_same_rows(monkeypatch):
    ids, stays, homes, rng = make_store(21)
    queries = random_queries(rng, len(ids), 25)
    engine = eng.IndexEngine(index.current())
    intervals = eng.query_intervals(index.current(), as_queries(queries), eng.Rules(M))
    one_thread = engine.interval_exposures(intervals, eng.Rules(M)).rows()
    monkeypatch.setattr(eng, "PARALLEL_FROM", 2)
    assert engine.interval_exposures(intervals, eng.Rules(M)).rows() == one_thread
    assert engine.exposures(as_queries(queries), eng.Rules(M)).rows() == brute.exposures(queries, stays, homes, M)
