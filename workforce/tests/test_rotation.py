"""The rotation planner's rules, on the solver alone (no database): the carried-in streak, the
consecutive-day and weekly limits, leave, staffing with the least-bad plan when it cannot be met,
and fair rest; then a property test over random instances."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workforce.rotation import RotationProblem, runs_of, shortfall_of, solve_rotation


def problem(grid, carry, days=14, min_staff=None, leave=None, limit=6, per_week=5) -> RotationProblem:
    grid = np.array(grid)
    unavailable = np.zeros((len(grid), days), dtype=bool)
    for w, d in leave or ():
        unavailable[w, d] = True
    return RotationProblem(
        worker_grid=grid,
        carry=np.array(carry),
        unavailable=unavailable,
        min_staff=np.array(min_staff if min_staff is not None else [1] * (grid.max() + 1)),
        max_consecutive=limit,
        max_days_per_week=per_week,
        time_limit=10,
    )


def test_runs_and_shortfall_helpers():
    duty = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], dtype=bool)
    assert runs_of(duty, np.array([5, 0])).tolist() == [[6, 7, 0, 1], [0, 1, 2, 3]]
    assert shortfall_of(duty, np.array([0, 0]), np.array([2])).tolist() == [[1, 0, 1, 0]]


def test_a_long_carried_streak_rests_on_the_first_day():
    p = problem(grid=[0, 0], carry=[30, 2])
    s = solve_rotation(p)
    assert s.optimal and s.total_shortfall == 0
    assert not s.duty[0, 0] and s.duty[1, 0]  # the 30-day worker rests first; the other covers
    assert s.runs.max() <= 6


def test_carry_in_counts_toward_the_limit():
    # 5 days carried in: at most one more duty day before a rest
    p = problem(grid=[0, 0], carry=[5, 0])
    s = solve_rotation(p)
    first_rest = int(np.argmin(s.duty[0]))
    assert first_rest <= 1
    assert s.runs[0].max() <= 6


def test_weekly_days_and_consecutive_limit_hold_for_everyone():
    p = problem(grid=[0, 0, 0, 1, 1, 1], carry=[0, 3, 6, 30, 1, 2], days=21, min_staff=[2, 2])
    s = solve_rotation(p)
    assert s.total_shortfall == 0
    assert s.runs.max() <= 6
    windows = np.lib.stride_tricks.sliding_window_view(s.duty, 7, axis=1).sum(axis=2)
    assert windows.max() <= 5
    assert (s.shortfall == 0).all()


def test_leave_is_respected():
    p = problem(grid=[0, 0, 0], carry=[0, 0, 0], leave=[(0, d) for d in range(5)])
    s = solve_rotation(p)
    assert not s.duty[0, :5].any()
    assert s.total_shortfall == 0


def test_rest_is_spread_fairly():
    p = problem(grid=[0, 0, 0, 0], carry=[0, 0, 0, 0])
    s = solve_rotation(p)
    rest = (~s.duty).sum(axis=1)
    assert rest.max() - rest.min() <= 1
    assert s.total_shortfall == 0


def test_an_impossible_minimum_returns_the_least_bad_plan_and_says_where():
    # grid 1 has one worker, who carries a 30-day streak and is on leave on days 3-4: grid 1 is short on
    # day 0 (forced rest) and on days 3-4 (leave); grid 0 needs 2 but has 2 who cannot work every day
    p = problem(grid=[0, 0, 1], carry=[0, 0, 30], days=7, min_staff=[2, 1], leave=[(2, 3), (2, 4)])
    s = solve_rotation(p)
    short = {(int(g), int(d)) for g, d in zip(*np.nonzero(s.shortfall), strict=True)}
    assert {(1, 0), (1, 3), (1, 4)} <= short
    # grid 0: two workers, at most 5 days each in 7 → at least 4 of the 14 person-days short
    assert s.shortfall[0].sum() == 4
    assert s.total_shortfall == s.shortfall.sum() == 7
    assert s.runs.max() <= 6  # the limits still hold for everyone: short, not overworked
    assert s.duty[2, 1:3].all()  # the lone worker works what they may


def test_a_grid_without_workers_is_short_every_day():
    p = problem(grid=[0, 0], carry=[0, 0], days=5, min_staff=[1, 1])
    s = solve_rotation(p)
    assert s.shortfall[1].tolist() == [1] * 5 and s.shortfall[0].sum() == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 4).flatmap(
        lambda grids: st.tuples(
            st.just(grids),
            st.lists(st.integers(0, grids - 1), min_size=1, max_size=10),
            st.integers(2, 10),
            st.integers(2, 7),
            st.integers(3, 7),
            st.integers(0, 3),
            st.randoms(use_true_random=False),
        )
    )
)
def test_any_instance_keeps_the_limits_and_reports_its_shortfall(case):
    grids, worker_grid, days, limit, per_week, minimum, rnd = case
    n = len(worker_grid)
    carry = [rnd.choice([0, 1, 3, limit, 30]) for _ in range(n)]
    leave = [(w, d) for w in range(n) for d in range(days) if rnd.random() < 0.1]
    p = problem(worker_grid, carry, days=days, min_staff=[minimum] * grids, leave=leave, limit=limit, per_week=per_week)
    s = solve_rotation(p)
    planned_runs = np.where(s.duty, s.runs, 0)
    assert planned_runs.max(initial=0) <= limit
    assert not (s.duty & p.unavailable).any()
    if days >= 7:
        assert np.lib.stride_tricks.sliding_window_view(s.duty, 7, axis=1).sum(axis=2).max() <= per_week
    assert (s.shortfall == shortfall_of(s.duty, p.worker_grid, p.min_staff)).all()
