"""Benchmark: generate a synthetic city and write its contract CSVs.

    .venv/bin/python benchmarks/bench_synth.py [--residents 1000000] [--seed 2020] [--out DIR] [--json]

Prints wall time per phase and in total, rows per second, and a baseline ratio: the same run also
times numpy drawing N rows × 8 random int64 columns and pyarrow writing them as CSV (best of 3), so
figures from noisy or different machines can be compared as "× baseline". Target: 1,000,000 residents
generated and written in ≤ 60 s on a 2-core machine.
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
from synth.writer import write_city

BASELINE_COLUMNS = 8


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


def run(residents: int, seed: int, out_dir: Path) -> dict:
    started = time.perf_counter()
    city = generate_city(residents, seed)
    generated = time.perf_counter()
    paths = write_city(city, out_dir)
    written = time.perf_counter()
    counts = city.counts()
    total = written - started
    rows = sum(counts[kind] for kind in paths)
    return {
        "residents": residents,
        "seed": seed,
        "cpus": os.cpu_count(),
        "phases": {**{k: round(v, 3) for k, v in city.timings.items()}, "write": round(written - generated, 3)},
        "generate_seconds": round(generated - started, 3),
        "write_seconds": round(written - generated, 3),
        "total_seconds": round(total, 3),
        "rows": {kind: counts[kind] for kind in paths},
        "megabytes": round(sum(p.stat().st_size for p in paths.values()) / 1e6, 1),
        "residents_per_second": round(residents / total),
        "rows_per_second": round(rows / total),
        "levels": {k: counts[k] for k in ("streets", "communities", "grids", "households")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--out", type=Path, help="keep the files here (default: a temporary directory)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        out_dir = args.out or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        result = run(args.residents, args.seed, out_dir)
        base = baseline_seconds(args.residents, Path(tmp))
    result["baseline_seconds"] = round(base, 3)
    result["baseline_ratio"] = round(result["total_seconds"] / base, 2)

    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"synth: {args.residents:,} residents, seed {args.seed}, {result['cpus']} CPUs")
    for phase, seconds in result["phases"].items():
        print(f"  {phase:<12}{seconds:>8.2f} s")
    print(
        f"  {'total':<12}{result['total_seconds']:>8.2f} s   (generate {result['generate_seconds']:.2f} s, "
        f"write {result['write_seconds']:.2f} s, {result['megabytes']} MB)"
    )
    for kind, count in result["rows"].items():
        print(f"  {kind + '.csv':<22}{count:>12,} rows")
    print(f"  {result['residents_per_second']:,} residents/s, {result['rows_per_second']:,} rows/s (all files)")
    print(
        f"  baseline (numpy {args.residents:,} × {BASELINE_COLUMNS} random int64 → pyarrow CSV, "
        f"best of 3): {base:.2f} s; synth = {result['baseline_ratio']}× baseline"
    )


if __name__ == "__main__":
    main()
