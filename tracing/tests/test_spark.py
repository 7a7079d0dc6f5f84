"""The Spark engine against the index engine and the brute-force rule, on one local Spark session."""

from __future__ import annotations

import numpy as np
import pytest

from tracing import engine as eng
from tracing import index, store
from tracing.spark import SparkEngine
from tracing.tests import brute
from tracing.tests.test_engine import T0, M, as_queries, decisions_scenario, make_store, random_queries


@pytest.fixture(scope="module")
def spark_engine():
    """One session for the whole run (the JVM takes seconds to start), stopped at the end."""
    engine = SparkEngine.shared()
    engine.spark  # noqa: B018 - start the session here, not inside the first test
    yield engine
    engine.stop()


@pytest.mark.spark
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_spark_returns_exactly_the_rows_of_the_index_engine_and_the_rule(spark_engine, seed):
    ids, stays, homes, rng = make_store(seed)
    queries = random_queries(rng, len(ids), 25)
    expected = brute.exposures(queries, stays, homes, M)
    assert expected, "the random data should produce some exposures"
    by_index = eng.IndexEngine(index.current()).exposures(as_queries(queries), eng.Rules(M)).rows()
    found = spark_engine.exposures(as_queries(queries), eng.Rules(M))
    assert all(getattr(found, c).dtype == np.int64 for c in eng.EXPOSURE_COLUMNS)
    assert found.rows() == by_index == expected


@pytest.mark.spark
def test_spark_parts_of_the_rule_match_the_index_engine(spark_engine):
    ids, _, _, rng = make_store(6)
    ix = index.current()
    queries = as_queries(random_queries(rng, len(ids), 25))
    intervals = eng.query_intervals(ix, queries, eng.Rules(M))
    by_index = eng.IndexEngine(ix)
    venue = spark_engine.interval_exposures(intervals, eng.Rules(M)).rows()
    household = spark_engine.household_exposures(queries).rows()
    assert venue and household
    assert venue == by_index.interval_exposures(intervals, eng.Rules(M)).rows()
    assert household == by_index.household_exposures(queries).rows()


@pytest.mark.spark
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_spark_two_stages_match_the_index_engine_with_investigators_decisions(spark_engine, seed):
    scenario = decisions_scenario(seed)

    def contacts(engine):
        traced = scenario.trace(engine)
        return [
            {
                degree: [(c.id_number, c.first_exposure, c.via, c.reasons) for c in getattr(t, degree)]
                for degree in ("close", "secondary")
            }
            | {"removed": [d.id_number for d in t.removed]}
            for t in traced
        ]

    by_index = contacts(eng.IndexEngine(index.current()))
    by_spark = contacts(spark_engine)
    assert all(t["close"] and t["secondary"] for t in by_index), "the scenario should reach both stages"
    assert by_spark == by_index
    assert by_spark[0]["removed"] == [scenario.ids[scenario.removed]]


@pytest.mark.spark
def test_spark_exports_each_store_version_once_and_keeps_the_newest_two(spark_engine):
    ids, _, _, rng = make_store(21, persons=20, venues=2, stays=100)
    queries = as_queries(random_queries(rng, len(ids), 10))
    exports = store.store_dir() / "spark"
    first = spark_engine.exposures(queries, eng.Rules(M)).rows()
    assert sorted(p.name for p in exports.iterdir()) == ["v1"]
    stamp = (exports / "v1" / "stays.parquet").stat().st_mtime_ns
    assert spark_engine.exposures(queries, eng.Rules(M)).rows() == first
    assert (exports / "v1" / "stays.parquet").stat().st_mtime_ns == stamp, "reused, not exported again"

    for version in (2, 3):
        with store.writing() as con:
            con.execute("DELETE FROM stays WHERE pkey = (SELECT min(pkey) FROM stays)")
            store.bump_version(con)
        index.publish()
        changed = spark_engine.exposures(queries, eng.Rules(M)).rows()
        assert changed == eng.IndexEngine(index.current()).exposures(queries, eng.Rules(M)).rows()
        assert sorted(p.name for p in exports.iterdir()) == [f"v{v}" for v in range(max(1, version - 1), version + 1)]


@pytest.mark.spark
def test_spark_without_queries_or_store_returns_no_rows(spark_engine):
    assert spark_engine.exposures(as_queries([(0, T0, T0 + 3600)]), eng.Rules(M)).size == 0  # no store yet
    make_store(22, persons=5, venues=1, stays=20)
    empty = eng.Queries(*(np.zeros(0, dtype=np.int64) for _ in range(3)))
    assert spark_engine.exposures(empty, eng.Rules(M)).size == 0
    unknown = spark_engine.exposures(as_queries([(999, T0, T0 + 86400)]), eng.Rules(M))
    assert unknown.size == 0
