"""Benchmark: contact tracing over a city's fortnight of venue scans (issue #4, "Measured").

    .venv/bin/python benchmarks/bench_tracing.py [--residents 1000000] [--days 14] [--seed 2020]
        [--cases 100] [--batch 300] [--sql-cases 20] [--skip-postgres] [--skip-spark]
        [--pg-admin-url URL] [--json-out FILE]

In one run, on one machine, with one private LINLI_HOME and SQLite database:

1. synth: the city (synth.city) and ``--days`` days of scans (synth.mobility), written as CSV;
2. import of the city's divisions, compounds, buildings, residents and venues (the framework);
3. import of the scans into the tracing store: rows per second and peak memory (target ≥ 200,000/s);
4. Linli's engine (tracing.engine.IndexEngine over the published index): ``--cases`` random cases,
   each traced alone — close contacts only (target p50 ≤ 5 ms, p95 ≤ 15 ms) and with secondary
   contacts (target p50 ≤ 50 ms); then ``--batch`` cases in one batch (target ≤ 5 s);
5. baselines on the same stays, same run: the plain DuckDB SQL join (tracing.engine.EXPOSURES_SQL,
   one case at a time) and PostgreSQL with b-tree indexes on (id_number) and (venue_code, t0);
6. Apache Spark in local mode on the same batch, checked to agree with the engine.

A random case is a person with stays, traced over a 4-day window ending on a random day of the
fortnight (as a symptomatic case is: two days before onset to isolation). Peak memory per step is
the process's high-water mark (VmHWM) reset before the step (``/proc/self/clear_refs``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_PG_ADMIN_URL, create_pg_database, drop_pg_database, print_table, setup_django, sqlite_url

CITY_KINDS = ("divisions", "compounds", "buildings", "residents", "venues")
WINDOW_DAYS = 4


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def ms_summary(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {"p50": round(statistics.median(ms), 2), "p95": round(percentile(ms, 95), 2), "max": round(max(ms), 2)}


def step(name: str, figures: dict):
    """Context: time a step and record its peak memory."""

    class _Step:
        def __enter__(self):
            gc.collect()
            reset_peak()
            self.started = time.perf_counter()
            return self

        def __exit__(self, *exc):
            figures[name] = {"seconds": round(time.perf_counter() - self.started, 2), "peak_mb": peak_mb()}

    return _Step()


def random_cases(index, rng, n: int, start: dt.date, days: int):
    from tracing.engine import CaseWindow

    with_stays = np.flatnonzero(np.diff(index.p_ptr) > 0)
    chosen = rng.choice(with_stays, size=min(n, with_stays.size), replace=False)
    base = int(dt.datetime.combine(start, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())
    ends = base + 86400 * rng.integers(WINDOW_DAYS, days + 1, chosen.size)
    ids = index.id_numbers(chosen)
    return [
        CaseWindow(ids[i], int(p), int(ends[i] - WINDOW_DAYS * 86400), int(ends[i]), int(ends[i]))
        for i, p in enumerate(chosen)
    ]


def postgres_baseline(admin_url: str, cases, stays_csv: io.BytesIO, rules) -> dict:
    """PostgreSQL with b-tree indexes on (id_number) and (venue_code, t0): the query a user would write."""
    import psycopg

    name = "linli_bench_tracing"
    url = create_pg_database(admin_url, name)
    figures: dict = {}
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE stays (id_number text NOT NULL, venue_code text NOT NULL, t0 bigint NOT NULL, "
                "t1 bigint NOT NULL)"
            )
            started = time.perf_counter()
            with conn.cursor().copy("COPY stays FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(stays_csv.getvalue())
            conn.execute("CREATE INDEX stays_person ON stays (id_number)")
            conn.execute("CREATE INDEX stays_venue_time ON stays (venue_code, t0)")
            conn.execute("ANALYZE stays")
            figures["load_seconds"] = round(time.perf_counter() - started, 1)
            longest = conn.execute("SELECT max(t1 - t0) FROM stays").fetchone()[0]
            sql = (
                "SELECT DISTINCT o.id_number FROM stays c JOIN stays o ON o.venue_code = c.venue_code "
                "AND o.t0 < LEAST(c.t1, %(w1)s) AND o.t0 >= GREATEST(c.t0, %(w0)s) - %(longest)s "
                "AND o.t1 > GREATEST(c.t0, %(w0)s) "
                "WHERE c.id_number = %(id)s AND c.t1 > %(w0)s AND c.t0 < %(w1)s AND o.id_number <> c.id_number "
                "AND LEAST(c.t1, %(w1)s, o.t1) - GREATEST(c.t0, %(w0)s, o.t0) >= %(m)s"
            )
            samples = []
            for case in cases:
                params = {"id": case.id_number, "w0": case.start, "w1": case.end, "longest": longest}
                params["m"] = rules.min_overlap_seconds
                began = time.perf_counter()
                conn.execute(sql, params).fetchall()
                samples.append(time.perf_counter() - began)
            figures["close_contacts_ms"] = ms_summary(samples)
    finally:
        drop_pg_database(admin_url, name)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--batch", type=int, default=300)
    parser.add_argument("--sql-cases", type=int, default=20)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--profile", action="store_true", help="print where the batch spends its time")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="linli-bench-tracing-"))
    setup_django(sqlite_url(folder / "bench.sqlite3"))
    from django.core.management import call_command

    from core.imports.runner import run_import
    from synth.city import generate_city
    from synth.mobility import SCAN_START, generate_scans
    from synth.writer import write_city, write_tables
    from tracing import engine as eng
    from tracing import index as presence_index
    from tracing import store

    call_command("migrate", verbosity=0)
    figures: dict = {"residents": args.residents, "days": args.days, "steps": {}}
    steps = figures["steps"]

    with step("synth", steps):
        city = generate_city(args.residents, args.seed)
        scans = generate_scans(city, start=SCAN_START, days=args.days, seed=args.seed)
        paths = write_city(city, folder / "city")
        scan_path = write_tables({"scans": scans.table}, folder / "city")["scans"]
    figures["scans"], figures["true_stays"] = scans.table.num_rows, scans.stays
    del scans
    gc.collect()

    with step("import_city", steps):
        for kind in CITY_KINDS:
            batch = run_import(kind, paths[kind].read_bytes(), filename=paths[kind].name, max_bytes=0)
            if batch.status != "done":
                raise SystemExit(f"import of {kind} failed: {batch.error}")
    del city
    gc.collect()

    with step("import_scans", steps):
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            batch = profiler.runcall(run_import, "scans", scan_path.read_bytes(), filename="scans.csv", max_bytes=0)
            pstats.Stats(profiler).sort_stats("cumtime").print_stats(25)
        else:
            batch = run_import("scans", scan_path.read_bytes(), filename="scans.csv", max_bytes=0)
    if batch.status != "done" or batch.rejected:
        raise SystemExit(f"scans import: {batch.summary()}")
    steps["import_scans"]["rows_per_second"] = round(batch.inserted / steps["import_scans"]["seconds"])
    counts = store.counts()
    figures["store"] = {k: counts[k] for k in ("scans", "stays", "persons", "households")}

    with step("load_index", steps):
        index = presence_index.current()
        presence_index.warm(index)
    engine = eng.IndexEngine(index)
    rules = eng.Rules()
    rng = np.random.default_rng(args.seed)
    cases = random_cases(index, rng, args.cases, SCAN_START, args.days)

    close_samples, full_samples, close_counts, secondary_counts = [], [], [], []
    for case in cases:
        began = time.perf_counter()
        eng.close_contacts(engine, index, [case], rules)
        close_samples.append(time.perf_counter() - began)
        began = time.perf_counter()
        (result,) = eng.trace(engine, index, [case], rules)
        result.close_set, result.secondary_set  # noqa: B018 - one case's contacts, cut out as a caller would
        full_samples.append(time.perf_counter() - began)
        close_counts.append(len(result.close_set))
        secondary_counts.append(len(result.secondary_set))
    figures["one_case"] = {
        "close_ms": ms_summary(close_samples),
        "with_secondary_ms": ms_summary(full_samples),
        "close_contacts_median": statistics.median(close_counts),
        "secondary_contacts_median": statistics.median(secondary_counts),
        "secondary_contacts_max": max(secondary_counts),
    }

    batch_cases = random_cases(index, np.random.default_rng(args.seed + 1), args.batch, SCAN_START, args.days)
    with step("batch", steps):
        batch_result = eng.trace(engine, index, batch_cases, rules)
        batch_counts = [(r.close_count, r.secondary_count) for r in batch_result]
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(eng.trace, engine, index, batch_cases, rules)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    steps["batch"]["cases"] = len(batch_cases)
    steps["batch"]["close_contacts"] = sum(c for c, _ in batch_counts)
    steps["batch"]["secondary_contacts"] = sum(s for _, s in batch_counts)
    started = time.perf_counter()
    for r in batch_result:
        r.close_set, r.secondary_set  # noqa: B018
    steps["batch"]["cut_all_sets_seconds"] = round(time.perf_counter() - started, 2)

    sql_samples = []
    with store.connect(read_only=True) as con:
        sql_engine = eng.SqlEngine(con)
        for case in cases[: args.sql_cases]:
            queries = eng.Queries(np.array([case.pkey]), np.array([case.start]), np.array([case.end]))
            began = time.perf_counter()
            baseline = sql_engine.exposures(queries, rules)
            sql_samples.append(time.perf_counter() - began)
            mine = engine.exposures(queries, rules)
            assert baseline.rows() == mine.rows(), "the DuckDB SQL and the engine disagree"
        stays_csv = io.BytesIO()
        if not args.skip_postgres:
            table = con.sql(
                "SELECT p.id_number, v.code AS venue_code, s.t0, s.t1 FROM stays s JOIN persons p USING (pkey) "
                "JOIN venues v USING (vkey)"
            ).to_arrow_table()
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, stays_csv, write_options=pacsv.WriteOptions(include_header=False))
            del table
    figures["duckdb_sql_close_ms"] = ms_summary(sql_samples)

    if not args.skip_postgres:
        figures["postgres_indexed"] = postgres_baseline(args.pg_admin_url, cases, stays_csv, rules)
    del stays_csv

    print(json.dumps(figures, ensure_ascii=False), flush=True)  # before Spark, which may fail
    if not args.skip_spark:
        from tracing.spark import SparkEngine

        started = time.perf_counter()
        spark = SparkEngine.shared()
        spark.exposures(eng.Queries(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)), rules)
        figures["spark_start_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        spark_result = eng.trace(spark, index, batch_cases, rules)
        figures["spark_batch_seconds"] = round(time.perf_counter() - started, 1)
        same = all(
            [(c.id_number, c.reasons) for c in a.close + a.secondary]
            == [(c.id_number, c.reasons) for c in b.close + b.secondary]
            for a, b in zip(batch_result, spark_result, strict=True)
        )
        figures["spark_agrees"] = same
        spark.stop()

    one = figures["one_case"]
    rows = [
        ["scans imported", f"{figures['scans']:,}", f"{steps['import_scans']['rows_per_second']:,}/s (≥200,000)"],
        ["stays", f"{figures['store']['stays']:,}", ""],
        ["one case, close: p50 / p95 ms", f"{one['close_ms']['p50']} / {one['close_ms']['p95']}", "≤5 / ≤15"],
        [
            "one case, with secondary: p50 / p95 ms",
            f"{one['with_secondary_ms']['p50']} / {one['with_secondary_ms']['p95']}",
            "≤50",
        ],
        [f"batch of {len(batch_cases)} cases, s", steps["batch"]["seconds"], "≤5"],
        [
            "DuckDB plain SQL, close: p50 ms",
            figures["duckdb_sql_close_ms"]["p50"],
            f"×{figures['duckdb_sql_close_ms']['p50'] / max(one['close_ms']['p50'], 1e-9):.0f} slower",
        ],
    ]
    if "postgres_indexed" in figures:
        pg = figures["postgres_indexed"]["close_contacts_ms"]
        rows.append(
            [
                "PostgreSQL indexed, close: p50 / max ms",
                f"{pg['p50']} / {pg['max']}",
                f"×{pg['p50'] / max(one['close_ms']['p50'], 1e-9):.0f} slower",
            ]
        )
    if "spark_batch_seconds" in figures:
        rows.append(
            [
                f"Spark local, batch of {len(batch_cases)}, s",
                figures["spark_batch_seconds"],
                "agrees" if figures["spark_agrees"] else "DISAGREES",
            ]
        )
    print_table(["figure", "value", "target / ratio"], rows, "lrl")
    print_table(
        ["step", "seconds", "peak MB"],
        [[name, s["seconds"], s["peak_mb"]] for name, s in steps.items()],
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
