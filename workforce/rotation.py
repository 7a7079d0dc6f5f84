"""The rotation planner: who rests on which day, as a mixed-integer programme solved by HiGHS
(``scipy.optimize.milp``). Pure numpy in, numpy out; workforce.planning gathers the inputs from the
database and stores the result.

Variables: ``x[w, d]`` = 1 when worker ``w`` is on duty on day ``d`` of the horizon; ``s[g, d]`` ≥ 0,
how many workers grid ``g`` is short on day ``d``; ``r_min`` and ``r_max``, the least and most rest
anyone gets. Constraints:

* consecutive days (policy ``duty_max_consecutive_days`` = L; PRC Labour Law art. 38): no L + 1
  consecutive duty days, counting the run each worker carries in from before the start. With ``c``
  duty days carried in, every window of L + 1 days starting at day ``j`` (−min(c, L) ≤ j ≤ D − L − 1)
  may hold at most L − max(0, −j) planned duty days. A worker already past the limit rests on day 1.
* weekly hours (policy ``duty_max_weekly_hours`` / ``duty_shift_hours``; State Council decree 174):
  at most K = ⌊hours ÷ shift⌋ duty days in any 7 consecutive planned days. Hours worked before the
  start are not charged here: the plan cannot undo them, and the carried streak already forces rest.
* staffing: Σ x[w, d] over the grid's workers + s[g, d] ≥ the grid's minimum, every grid and day.
  The slack keeps every instance feasible: when the minimum cannot be met, the least-bad plan is
  returned and ``s`` says which grids and days are short, by how many.
* leave: x[w, d] = 0 on a day the worker is unavailable.

Objective: minimise P·Σ s (P large: staffing first) + (r_max − r_min) − ½·r_min, where r_min is at
most everyone's days off (leave included) and r_max at least everyone's rest days (leave excluded):
rest is as even as the grids allow, and as generous as the tightest grid allows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

SHORTFALL_PENALTY = 1000.0  # one person-day short outweighs any rest arrangement
SPREAD_WEIGHT = 1.0
MIN_REST_WEIGHT = 0.5
MIP_GAP = 0.01


@dataclass(frozen=True)
class RotationProblem:
    """Inputs by position: ``worker_grid[w]`` is an index into ``min_staff``."""

    worker_grid: np.ndarray  # (W,) int
    carry: np.ndarray  # (W,) int: consecutive duty days ending the day before the start
    unavailable: np.ndarray  # (W, D) bool
    min_staff: np.ndarray  # (G,) int
    max_consecutive: int
    max_days_per_week: int
    time_limit: float = 20.0

    @property
    def days(self) -> int:
        return int(self.unavailable.shape[1])


@dataclass
class RotationSolution:
    duty: np.ndarray  # (W, D) bool
    shortfall: np.ndarray  # (G, D) int
    runs: np.ndarray  # (W, D) int: consecutive duty days reached on each day (carry included), 0 on rest
    status: str
    optimal: bool
    seconds: float

    @property
    def total_shortfall(self) -> int:
        return int(self.shortfall.sum())


def _windows(starts: np.ndarray, ends: np.ndarray, owners: np.ndarray, days: int):
    """(row, column) pairs of windows: window ``i`` covers days ``starts[i]``…``ends[i]`` of worker ``owners[i]``."""
    d = np.arange(days)
    inside = (d[None, :] >= starts[:, None]) & (d[None, :] <= ends[:, None])
    rows, day = np.nonzero(inside)
    return rows, owners[rows] * days + day


def _rows(problem: RotationProblem):
    """The constraint matrix (CSR) with its bounds, and the variable count; built with numpy, no loop
    over workers."""
    W, D = problem.unavailable.shape
    G = len(problem.min_staff)
    L, K = problem.max_consecutive, problem.max_days_per_week
    n_x, n_s = W * D, G * D
    r_min, r_max = n_x + n_s, n_x + n_s + 1
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (rows, columns, values) per block
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    offset = 0

    def block(rows: np.ndarray, cols: np.ndarray, n_rows: int, lo: np.ndarray, hi: np.ndarray) -> None:
        nonlocal offset
        parts.append((rows + offset, cols, np.ones(len(cols))))
        lower.append(np.broadcast_to(np.asarray(lo, dtype=float), n_rows))
        upper.append(np.broadcast_to(np.asarray(hi, dtype=float), n_rows))
        offset += n_rows

    # consecutive duty days with the carried-in run: windows j = -carry … D - L - 1 (module docstring)
    carry = np.minimum(problem.carry.astype(int), L)
    counts = np.maximum(D - L + carry, 0)
    owners = np.repeat(np.arange(W), counts)
    j = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) - np.repeat(carry, counts)
    rows, cols = _windows(np.maximum(j, 0), np.minimum(j + L, D - 1), owners, D)
    block(rows, cols, len(owners), -np.inf, L - np.maximum(0, -j))
    # duty days in any 7 planned days (shorter horizons: all of it)
    length = min(7, D)
    if length > K:
        per = D - length + 1
        owners = np.repeat(np.arange(W), per)
        starts = np.tile(np.arange(per), W)
        rows, cols = _windows(starts, starts + length - 1, owners, D)
        block(rows, cols, len(owners), -np.inf, K)
    # rest fairness: r_min ≤ days off; r_max ≥ rest days (leave not counted)
    everyone = np.repeat(np.arange(W), D)
    leave = problem.unavailable.sum(axis=1)
    for bound, lo, hi in ((r_min, -np.inf, D), (r_max, D - leave, np.inf)):
        rows = np.concatenate([everyone, np.arange(W)])
        cols = np.concatenate([np.arange(n_x), np.full(W, bound)])
        block(rows, cols, W, lo, hi)
    # staffing: the grid's workers on duty + shortfall ≥ the grid's minimum, each day
    grid_rows = (problem.worker_grid[:, None] * D + np.arange(D)[None, :]).ravel()
    rows = np.concatenate([grid_rows, np.arange(n_s)])
    cols = np.concatenate([np.arange(n_x), n_x + np.arange(n_s)])
    block(rows, cols, n_s, np.repeat(problem.min_staff.astype(float), D), np.inf)

    n = n_x + n_s + 2
    matrix = coo_matrix(
        (
            np.concatenate([p[2] for p in parts]),
            (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])),
        ),
        shape=(offset, n),
    ).tocsr()
    return matrix, np.concatenate(lower), np.concatenate(upper), n


def solve_rotation(problem: RotationProblem) -> RotationSolution:
    """The plan that meets the limits for everyone and leaves the fewest staff short (module docstring)."""
    started = time.perf_counter()
    W, D = problem.unavailable.shape
    G = len(problem.min_staff)
    n_x, n_s = W * D, G * D
    matrix, lower, upper, n = _rows(problem)
    cost = np.zeros(n)
    cost[n_x : n_x + n_s] = SHORTFALL_PENALTY
    cost[n_x + n_s] = -SPREAD_WEIGHT - MIN_REST_WEIGHT  # r_min
    cost[n_x + n_s + 1] = SPREAD_WEIGHT  # r_max
    var_upper = np.concatenate(
        [(~problem.unavailable).astype(float).ravel(), np.repeat(problem.min_staff.astype(float), D), [D, D]]
    )
    integrality = np.concatenate([np.ones(n_x), np.zeros(n_s + 2)])
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, lower, upper),
        integrality=integrality,
        bounds=Bounds(np.zeros(n), var_upper),
        options={"time_limit": float(problem.time_limit), "mip_rel_gap": MIP_GAP, "presolve": True},
    )
    # no incumbent within the time limit: everyone rests, and every grid-day is reported short
    duty = np.zeros((W, D), dtype=bool) if result.x is None else result.x[:n_x].reshape(W, D) > 0.5
    return RotationSolution(
        duty=duty,
        shortfall=shortfall_of(duty, problem.worker_grid, problem.min_staff),
        runs=runs_of(duty, problem.carry),
        status=str(result.message),
        optimal=result.status == 0,
        seconds=time.perf_counter() - started,
    )


def shortfall_of(duty: np.ndarray, worker_grid: np.ndarray, min_staff: np.ndarray) -> np.ndarray:
    """(G, D): how many each grid is short of its minimum on each day."""
    on = np.zeros((len(min_staff), duty.shape[1]), dtype=int)
    np.add.at(on, worker_grid, duty.astype(int))
    return np.maximum(min_staff[:, None] - on, 0)


def runs_of(duty: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """(W, D): the run of consecutive duty days each day reaches, starting from the carried-in run."""
    runs = np.zeros(duty.shape, dtype=int)
    previous = carry.astype(int)
    for d in range(duty.shape[1]):
        previous = np.where(duty[:, d], previous + 1, 0)
        runs[:, d] = previous
    return runs
