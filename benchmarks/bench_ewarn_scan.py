"""Benchmark: the prospective space-time permutation scan (issue #9, ewarn.detectors.scan).

    .venv/bin/python benchmarks/bench_ewarn_scan.py [--sizes 600,1500,3000] [--days 30]
        [--replications 999] [--neighbours all,100] [--signals 5] [--naive-locations 80]
        [--naive-replications 9] [--seed 2020] [--json-out FILE]

The target: the daily run for a 13-district city (600–3,000 communities, 5 signals, a 30-day window,
999 replications per signal) within 60 s on a 2-core machine, the scan being most of it.

1. For each size: community centroids in 13 district-sized blobs around one city centre, each with
   2–20 cases spread over the window (a weekly rhythm, no cluster: every replication runs, and
   the cluster's p-value is unremarkable). Timed per signal with 999 replications for each
   ``--neighbours`` cap (``all``: only the 50 %-of-cases limit), and once with ``stop_after=50``
   (a sequential p-value: an ordinary day ends early); then × ``--signals`` for the daily run.
2. Baseline, same run: a per-cylinder Python loop (every circle, every D, the ratio computed for each,
   replications by shuffling the case days) on a small instance, against the scan on the same
   instance; the ratio compares seconds per replication.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_json

from ewarn.detectors.scan import space_time_permutation_scan

CITY_CENTRE = (30.59, 114.30)


def synthetic_city(locations: int, days: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Community centroids in 13 district blobs (~4 km across) within ~25 km, and their cases."""
    districts = rng.normal(0.0, 0.12, (13, 2)) + CITY_CENTRE
    which = rng.integers(0, 13, locations)
    coordinates = districts[which] + rng.normal(0.0, 0.02, (locations, 2))
    weekday = np.array([1.2, 1.1, 1.0, 1.0, 1.0, 0.8, 0.7])
    day_weight = np.resize(weekday, days)
    totals = rng.integers(2, 21, locations)
    cases = np.zeros((locations, days), dtype=np.int64)
    for z, n in enumerate(totals):
        cases[z] = np.bincount(rng.choice(days, n, p=day_weight / day_weight.sum()), minlength=days)
    return cases, coordinates


def naive_scan(cases: np.ndarray, coordinates: np.ndarray, replications: int, rng: np.random.Generator) -> float:
    """The textbook loop: every cylinder's ratio, for the data and for each shuffled table; returns p."""
    locations, days = cases.shape
    total = int(cases.sum())
    lat = math.radians(float(coordinates[:, 0].mean()))
    xy = [(lon * math.cos(lat), la) for la, lon in coordinates.tolist()]
    circles = []
    for centre in range(locations):
        ranked = sorted(
            range(locations), key=lambda z: (xy[z][0] - xy[centre][0]) ** 2 + (xy[z][1] - xy[centre][1]) ** 2
        )
        inside = 0
        for size in range(1, locations + 1):
            inside += int(cases[ranked[size - 1]].sum())
            if inside > total / 2:
                break
            circles.append((ranked[:size], inside))
    day_totals = cases.sum(axis=0).tolist()

    def statistic(table: list[list[int]]) -> float:
        best = 0.0
        for members, inside in circles:
            for d in range(1, 8):
                observed = sum(sum(table[z][days - d :]) for z in members)
                expected = inside * sum(day_totals[days - d :]) / total
                if observed > expected and observed >= 3:
                    rest = total - observed
                    llr = observed * math.log(observed / expected)
                    llr += rest * math.log(rest / (total - expected)) if rest else 0.0
                    best = max(best, llr)
        return best

    observed = statistic(cases.tolist())
    case_location = [z for z in range(locations) for _ in range(int(cases[z].sum()))]
    case_day = [d for z in range(locations) for d in range(days) for _ in range(int(cases[z, d]))]
    beaten = 0
    for _ in range(replications):
        shuffled = list(case_day)
        rng.shuffle(shuffled)
        table = [[0] * days for _ in range(locations)]
        for z, d in zip(case_location, shuffled, strict=True):
            table[z][d] += 1
        beaten += statistic(table) >= observed
    return (1 + beaten) / (replications + 1)


def timed_scan(cases, coordinates, **options) -> tuple[float, object]:
    started = time.perf_counter()
    result = space_time_permutation_scan(cases, coordinates, **options)
    return time.perf_counter() - started, result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="600,1500,3000", help="numbers of locations (communities)")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--replications", type=int, default=999)
    p.add_argument("--neighbours", default="all,100", help="max_neighbours caps to time; 'all' = no cap")
    p.add_argument("--signals", type=int, default=5, help="signals scanned in one daily run")
    p.add_argument("--naive-locations", type=int, default=80)
    p.add_argument("--naive-replications", type=int, default=9)
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--json-out", type=Path)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"CPUs: {os.cpu_count()}; numpy {np.__version__}; {args.days}-day window; {args.replications} replications")

    rows, figures = [], []
    caps = [None if c == "all" else int(c) for c in args.neighbours.split(",")]
    for size in (int(s) for s in args.sizes.split(",")):
        cases, coordinates = synthetic_city(size, args.days, rng)
        for cap in caps:
            for stop in (None, 50):
                if stop and cap != caps[-1]:
                    continue
                seconds, result = timed_scan(
                    cases, coordinates, max_neighbours=cap, replications=args.replications, seed=1, stop_after=stop
                )
                figure = {
                    "locations": size,
                    "cases": int(cases.sum()),
                    "max_neighbours": cap or "all",
                    "stop_after": stop or "",
                    "seconds": round(seconds, 2),
                    "daily_run_s": round(seconds * args.signals, 1),
                    "p_value": round(result.p_value, 3),
                    "cluster_size": len(result.locations),
                }
                figures.append(figure)
                rows.append(list(figure.values()))
                print(f"  {size} locations, cap {cap or 'all'}, stop {stop or '-'}: {seconds:.2f} s", flush=True)
    print()
    print_table(
        ["locations", "cases", "max_neighbours", "stop_after", "s / signal", f"× {args.signals} signals", "p", "size"],
        rows,
    )

    cases, coordinates = synthetic_city(args.naive_locations, args.days, rng)
    started = time.perf_counter()
    naive_p = naive_scan(cases, coordinates, args.naive_replications, np.random.default_rng(1))
    naive = (time.perf_counter() - started) / (args.naive_replications + 1)
    seconds, fast_result = timed_scan(cases, coordinates, replications=args.replications, seed=1)
    fast = seconds / (args.replications + 1)
    print(
        f"\nbaseline ({args.naive_locations} locations × {args.days} days): per-cylinder Python loop "
        f"{naive * 1000:.1f} ms per table (p = {naive_p:.2f} from {args.naive_replications} replications); "
        f"scan {fast * 1000:.3f} ms per table (p = {fast_result.p_value:.2f} from {args.replications}); "
        f"ratio {naive / fast:,.0f}×"
    )
    write_json(
        args.json_out,
        {"scan": figures, "baseline": {"naive_ms_per_table": naive * 1000, "scan_ms_per_table": fast * 1000}},
    )


if __name__ == "__main__":
    main()
