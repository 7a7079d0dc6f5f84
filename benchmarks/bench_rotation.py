"""Benchmark of the rotation planner (issue #12 item 3): solve time for a realistic street (40
workers in 12 grids), a large one (300 workers in 90 grids) and a whole district (1,000 workers in
300 grids), with 2020-style carried-in streaks and some leave.

Run: ``.venv/bin/python benchmarks/bench_rotation.py [--seed N] [--days 14]``."""

from __future__ import annotations

import argparse

import numpy as np

from workforce.rotation import RotationProblem, solve_rotation

SIZES = ((40, 12), (300, 90), (1000, 300))


def random_problem(workers: int, grids: int, days: int, rng: np.random.Generator) -> RotationProblem:
    """Every grid gets at least two workers; a third of workers carry a month-long streak, the rest
    0–5 days; one worker in twenty has 2–4 days of leave."""
    worker_grid = np.concatenate([np.arange(grids), np.arange(grids), rng.integers(0, grids, workers - 2 * grids)])
    carry = np.where(rng.random(workers) < 1 / 3, 30, rng.integers(0, 6, workers))
    carry[:grids] = rng.integers(0, 5, grids)  # someone in each grid had a day off lately
    unavailable = np.zeros((workers, days), dtype=bool)
    for w in np.flatnonzero(rng.random(workers) < 0.05):
        start = int(rng.integers(0, days - 4))
        unavailable[w, start : start + int(rng.integers(2, 5))] = True
    return RotationProblem(
        worker_grid=worker_grid,
        carry=carry,
        unavailable=unavailable,
        min_staff=np.ones(grids, dtype=int),
        max_consecutive=6,
        max_days_per_week=5,
        time_limit=60,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for workers, grids in SIZES:
        problem = random_problem(workers, grids, args.days, rng)
        solution = solve_rotation(problem)
        print(
            f"{workers:>4} workers {grids:>3} grids {args.days} days: {solution.seconds:6.2f} s, "
            f"optimal={solution.optimal}, short person-days={solution.total_shortfall}, "
            f"longest run in plan={int(solution.runs.max())}, status={solution.status}"
        )


if __name__ == "__main__":
    main()
