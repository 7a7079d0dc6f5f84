"""Benchmark: the daily early-warning run over a 13-district city (issue #9).

    .venv/bin/python benchmarks/bench_ewarn.py [--residents 1000000] [--years 5] [--signals 8]
        [--replications 999] [--database sqlite|postgres] [--json-out FILE]

The target: every community series of a 13-district city (about 3,000 series, 5 years of days)
judged in ≤ 60 s, including the space-time scan with 999 replications per signal.

1. The city's divisions and compounds (synth.city: 374 communities at 1,000,000 residents, so 8
   signals make 2,992 community series, plus those of the streets and districts) are
   imported through the real import path; five years of daily counts for ``--signals`` signals are
   written to the signal table at community level and rolled up (ewarn.signals), as the imports do.
2. The run is ewarn.detection.run_day with the temporal detectors at community, street and district
   level (every series) and the scan over the communities, timed by part.
3. Baselines, same run: reading the series alone (the I/O floor), and the detectors judging the
   whole five years of a sample of series instead of the day (what ``start`` saves), scaled up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_PG_ADMIN_URL,
    create_pg_database,
    drop_database_url,
    print_table,
    setup_django,
    sqlite_url,
    write_json,
)

DAY = dt.date(2026, 11, 28)
SIGNALS = (
    "fever_clinic",
    "antipyretic",
    "cough",
    "school_fever",
    "positive_test",
    "gate_fever",
    "suspected",
    "antiviral",
)


def build(residents: int, years: int, n_signals: int, seed: int) -> tuple[int, int]:
    """Import the city's grid and write its signal history; returns (communities, count rows)."""
    from django.db import connection, transaction

    from core.imports.runner import run_import
    from ewarn.choices import Signal
    from ewarn.signals import TABLE, _roll_up
    from synth.city import generate_city
    from synth.writer import write_city

    city = generate_city(residents, seed)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_city(city, Path(tmp))
        for kind in ("divisions", "compounds"):
            run_import(kind, paths[kind].read_bytes(), filename=paths[kind].name, max_bytes=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM geo_division WHERE level = 'community' ORDER BY id")
        communities = np.array([r[0] for r in cursor.fetchall()])
    days = years * 365 + 1
    first = DAY - dt.timedelta(days=days - 1)
    rng = np.random.default_rng(seed)
    rows = 0
    signals = SIGNALS[:n_signals]
    with transaction.atomic(), connection.cursor() as cursor:
        for signal in signals:
            level = rng.gamma(2.0, 2.0, len(communities))
            season = 1 + 0.4 * np.cos(2 * np.pi * (np.arange(days) - 15) / 365.25)
            counts = rng.poisson(np.outer(level, season))
            where = np.nonzero(counts)
            batch = [
                (
                    signal,
                    "community",
                    int(communities[i]),
                    (first + dt.timedelta(days=int(d))).isoformat(),
                    int(counts[i, d]),
                )
                for i, d in zip(*where, strict=True)
            ]
            cursor.executemany(
                f"INSERT INTO {TABLE} (signal, level, division_id, day, count) VALUES (%s, %s, %s, %s, %s)", batch
            )
            rows += len(batch)
        _roll_up([Signal(s) for s in signals], first, DAY)
    return len(communities), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--signals", type=int, default=8)
    parser.add_argument("--replications", type=int, default=999)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sample", type=int, default=40, help="series judged over the whole range (baseline)")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    if args.database == "postgres":
        url = create_pg_database(DEFAULT_PG_ADMIN_URL, "linli_bench_ewarn")
    else:
        url = sqlite_url(Path(tempfile.mkdtemp(prefix="linli-bench-ewarn-")) / "db.sqlite3")
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from core.policy import do_update_policy
    from ewarn import detection
    from ewarn.signals import read_series

    try:
        started = time.perf_counter()
        communities, rows = build(args.residents, args.years, args.signals, args.seed)
        build_seconds = time.perf_counter() - started
        do_update_policy(
            {
                "ewarn_levels": ["community", "street", "district"],
                "ewarn_scan": {"replications": args.replications},
            },
            None,
            "benchmark",
        )
        # baseline 1: reading every series the run reads, nothing judged
        levels = ("community", "street", "district")
        settings = detection.detector_settings()
        history = detection._history_days(settings)
        first = DAY - dt.timedelta(days=history - 1)
        clock = time.perf_counter()
        matrices = {}
        for signal in SIGNALS[: args.signals]:
            for level in levels:
                ids, _ = detection.areas(level)
                matrices[(signal, level)] = read_series(signal, level, first, DAY, ids)
        read_seconds = time.perf_counter() - clock
        series = sum(m.counts.shape[0] for m in matrices.values())

        clock = time.perf_counter()
        result = detection.run_day(DAY)
        run_seconds = time.perf_counter() - clock

        # baseline 2: judging the whole range of a sample of series (no ``start``), scaled to all
        sample = matrices[(SIGNALS[0], "community")].counts[: args.sample]
        clock = time.perf_counter()
        for counts in sample:
            detection.judge_series(counts, settings, start=0)
        full_range_seconds = (time.perf_counter() - clock) / len(sample) * series
        clock = time.perf_counter()
        for counts in sample:
            detection.judge_series(counts, settings)
        one_day_seconds = (time.perf_counter() - clock) / len(sample) * series
    finally:
        from django.db import connection

        connection.close()
        drop_database_url(url)

    figures = {
        "database": args.database,
        "communities": communities,
        "series": series,
        "judged": result.series,
        "days_of_history": history,
        "count_rows": rows,
        "build_seconds": round(build_seconds, 1),
        "read_seconds": round(read_seconds, 2),
        "run_seconds": round(run_seconds, 2),
        "temporal_seconds": round(result.seconds["temporal"], 2),
        "scan_seconds": round(result.seconds["scan"], 2),
        "replications": args.replications,
        "alarms": result.alarms,
        "detectors_one_day_seconds_est": round(one_day_seconds, 2),
        "detectors_full_range_seconds_est": round(full_range_seconds, 1),
        "ratio_full_range_vs_one_day": round(full_range_seconds / one_day_seconds, 1),
        "ratio_run_vs_read": round(run_seconds / read_seconds, 1),
        "target_met": run_seconds <= 60,
    }
    print_table(["figure", "value"], list(figures.items()))
    if args.json_out:
        write_json(args.json_out, figures)


if __name__ == "__main__":
    main()
