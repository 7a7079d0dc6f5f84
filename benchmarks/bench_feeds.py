"""Benchmark: a synthetic city plus noisy agency feeds (synth.feeds), generated and written.

    .venv/bin/python benchmarks/bench_feeds.py [--residents 1000000] [--rows 1000000] [--seed 2020]
        [--no-day] [--out DIR] [--json]

Times each phase — generate the city, write its CSVs, draw the linkage evaluation set of ``--rows``
rows (noisy_feeds), draw one day of feeds (feed_day), write the feed CSVs and feed_truth.csv — and
prints rows per second and a baseline ratio: the same run also times numpy drawing ``--rows`` × 8
random int64 columns and pyarrow writing them as CSV (best of 3), so figures from noisy or different
machines can be compared as "× baseline". Target: 1,000,000 feed rows against a 1,000,000-resident
city, generated and written, in ≤ 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synth.city import generate_city
from synth.feeds import FEED_KINDS, TRUTH, feed_day, merge_feeds, noisy_feeds, write_feeds
from synth.writer import write_city

BASELINE_COLUMNS = 8
TARGET_SECONDS = 60.0


def baseline_seconds(rows: int, out_dir: Path, repeats: int = 3) -> float:
    """Best-of-``repeats`` time to draw ``rows`` × 8 random int64 and write them to CSV with pyarrow."""
    best = float("inf")
    for attempt in range(repeats):
        started = time.perf_counter()
        rng = np.random.default_rng(attempt)
        table = pa.table({f"c{i}": rng.integers(0, 10**9, rows) for i in range(BASELINE_COLUMNS)})
        pacsv.write_csv(table, out_dir / "baseline.csv")
        best = min(best, time.perf_counter() - started)
    (out_dir / "baseline.csv").unlink()
    return best


def run(residents: int, rows: int, seed: int, day: bool, out_dir: Path) -> dict:
    phases: dict[str, float] = {}
    clock = time.perf_counter()
    started = clock

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 3)
        clock = now

    city = generate_city(residents, seed)
    lap("city")
    write_city(city, out_dir)
    lap("city_write")
    linkage = noisy_feeds(city, rows, seed)
    lap("linkage")
    sets = [linkage]
    if day:
        sets.append(feed_day(city, seed=seed))
        lap("day")
    feeds = merge_feeds(*sets)
    paths = write_feeds(feeds, out_dir)
    lap("feeds_write")
    total = time.perf_counter() - started
    feed_rows = sum(feeds[kind].num_rows for kind in FEED_KINDS)
    feed_seconds = phases["linkage"] + phases.get("day", 0.0) + phases["feeds_write"]
    return {
        "residents": residents,
        "linkage_rows": rows,
        "feed_rows": {name: feeds[name].num_rows for name in (*FEED_KINDS, TRUTH)},
        "seed": seed,
        "cpus": os.cpu_count(),
        "phases": phases,
        "total_seconds": round(total, 3),
        "feed_seconds": round(feed_seconds, 3),
        "feed_megabytes": round(sum(p.stat().st_size for p in paths.values()) / 1e6, 1),
        "feed_rows_per_second": round(feed_rows / feed_seconds),
        "feed_rows_per_second_overall": round(feed_rows / total),
        "within_target": total <= TARGET_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the linkage evaluation set")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--no-day", action="store_true", help="leave out the one-day feed")
    parser.add_argument("--out", type=Path, help="keep the files here (default: a temporary directory)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-feeds-") as tmp:
        out_dir = args.out or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        result = run(args.residents, args.rows, args.seed, not args.no_day, out_dir)
        base = baseline_seconds(args.rows, Path(tmp))
    result["baseline_seconds"] = round(base, 3)
    result["baseline_ratio"] = round(result["feed_seconds"] / base, 2)
    result["baseline_ratio_overall"] = round(result["total_seconds"] / base, 2)

    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(
        f"feeds: {args.rows:,} linkage rows against {args.residents:,} residents, seed {args.seed}, "
        f"{result['cpus']} CPUs"
    )
    for phase, seconds in result["phases"].items():
        print(f"  {phase:<14}{seconds:>8.2f} s")
    verdict = "within" if result["within_target"] else "OVER"
    print(f"  {'total':<14}{result['total_seconds']:>8.2f} s   ({verdict} the {TARGET_SECONDS:.0f} s target)")
    for name, count in result["feed_rows"].items():
        print(f"  {name + '.csv':<22}{count:>12,} rows")
    print(
        f"  feeds: {result['feed_seconds']:.2f} s, {result['feed_rows_per_second']:,} rows/s "
        f"({result['feed_rows_per_second_overall']:,} rows/s counting the city), {result['feed_megabytes']} MB"
    )
    print(
        f"  baseline (numpy {args.rows:,} × {BASELINE_COLUMNS} random int64 → pyarrow CSV, best of 3): "
        f"{base:.2f} s; feeds = {result['baseline_ratio']}× baseline, all = {result['baseline_ratio_overall']}×"
    )


if __name__ == "__main__":
    main()
