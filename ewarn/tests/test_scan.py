"""The space-time permutation scan (ewarn.detectors.scan) against hand computations, a brute-force
enumeration of the cylinders, and its null and planted-cluster behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ewarn.detectors.scan import _Geometry, _Replicator, poisson_llr, space_time_permutation_scan


def line(n: int) -> np.ndarray:
    """``n`` locations 1 km apart along a parallel, so the neighbour order is obvious."""
    return np.column_stack([np.full(n, 30.0), 114.0 + np.arange(n) / (111.2 * math.cos(math.radians(30.0)))])


def grid(side: int) -> np.ndarray:
    """A ``side`` × ``side`` grid of locations about 1 km apart, with a little jitter against ties."""
    rng = np.random.default_rng(0)
    lat, lon = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    points = np.column_stack([lat.ravel(), lon.ravel()]) + rng.uniform(-0.05, 0.05, (side * side, 2))
    return np.column_stack([30.0 + points[:, 0] / 111.2, 114.0 + points[:, 1] / 96.3])


def brute_force(cases: np.ndarray, coordinates: np.ndarray, max_days: int, max_share: float, min_cases: int):
    """The most likely cylinder by enumerating every circle and every D with plain Python."""
    locations, days = cases.shape
    total = int(cases.sum())
    xy = np.column_stack([coordinates[:, 1] * math.cos(math.radians(coordinates[:, 0].mean())), coordinates[:, 0]])
    best = (0.0, None, None)
    for centre in range(locations):
        by_distance = sorted(range(locations), key=lambda z: (z != centre, float(((xy[z] - xy[centre]) ** 2).sum()), z))
        for size in range(1, locations + 1):
            members = by_distance[:size]
            window = sum(int(cases[z].sum()) for z in members)
            if window > max_share * total:
                break
            for d in range(1, min(max_days, days) + 1):
                observed = sum(int(cases[z, days - d :].sum()) for z in members)
                expected = window * int(cases[:, days - d :].sum()) / total
                if observed <= expected or observed < min_cases:
                    continue
                rest = total - observed
                llr = observed * math.log(observed / expected)
                if rest:
                    llr += rest * math.log(rest / (total - expected))
                if llr > best[0] + 1e-12:
                    best = (llr, sorted(members), d)
    return best


def test_ratio_matches_a_hand_computation_on_a_3x3_table():
    cases = np.array([[0, 1, 4], [2, 1, 1], [3, 2, 0]])  # C = 14; location 0 holds 5, today 5
    result = space_time_permutation_scan(cases, line(3), max_days=2, replications=99, seed=1, min_cases=1)
    # Circle {0} over today: c = 4, μ = 5 · 5 / 14; the circle {0, 1} holds 9 > 7 cases, too many.
    mu = 5 * 5 / 14
    by_hand = 4 * math.log(4 / mu) + 10 * math.log(10 / (14 - mu))
    assert result.locations == (0,)
    assert result.days == 1
    assert result.observed == 4
    assert result.expected == pytest.approx(mu)
    assert result.llr == pytest.approx(by_hand)
    assert poisson_llr(np.array([4.0]), np.array([mu]), 14)[0] == pytest.approx(by_hand)
    assert poisson_llr(np.array([1.0]), np.array([mu]), 14)[0] == 0  # no excess, no signal


@pytest.mark.parametrize("seed", range(4))
def test_most_likely_cluster_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    cases = rng.poisson(0.6, (12, 10))
    coordinates = grid(4)[:12]
    llr, members, days = brute_force(cases, coordinates, 4, 0.5, 2)
    result = space_time_permutation_scan(cases, coordinates, max_days=4, replications=9, seed=seed, min_cases=2)
    assert result.llr == pytest.approx(llr)
    assert sorted(result.locations) == members
    assert result.days == days


def test_integer_thresholds_agree_with_the_exact_ratio_on_permuted_tables():
    """Each replication compares counts with precomputed integer thresholds instead of computing the
    ratio; on the same permuted tables the verdicts must equal max ratio ≥ level."""
    rng = np.random.default_rng(7)
    cases = rng.poisson(0.8, (16, 12))
    coordinates = grid(4)
    geometry = _Geometry.build(cases, coordinates, 5, 0.5, None)
    levels = np.array([6.0, 3.5, 1.0])
    replicator = _Replicator(geometry, levels, 2)
    tables = replicator.permuted(np.random.default_rng(1), 12)
    verdicts = replicator.beats(tables)
    for b in range(tables.shape[1]):
        recent = tables[:, b, :].astype(np.int64)
        observed = np.cumsum(recent[geometry.order], axis=1)
        llr = poisson_llr(observed, geometry.expected(slice(None)), geometry.total)
        llr = np.where(geometry.valid(slice(None)) & (observed >= 2), llr, 0.0)
        assert list(verdicts[:, b]) == [bool(llr.max() >= level) for level in levels]


def test_permutation_keeps_every_location_and_day_total():
    rng = np.random.default_rng(3)
    cases = rng.poisson(1.5, (9, 6))
    geometry = _Geometry.build(cases, grid(3), 6, 1.0, None)  # every day is recent: the whole table
    replicator = _Replicator(geometry, np.array([1.0]), 1)
    tables = replicator.permuted(np.random.default_rng(5), 20)
    per_day = np.diff(tables, axis=2, prepend=0)  # undo the cumulation over days (today first)
    assert (per_day.sum(axis=0) == cases[:, ::-1].sum(axis=0)[None, :]).all()
    assert (per_day.sum(axis=2) == cases.sum(axis=1)[:, None]).all()
    assert not all((per_day[:, b, :] == cases[:, ::-1]).all() for b in range(20))  # and it does permute


def test_planted_cluster_is_found():
    rng = np.random.default_rng(11)
    coordinates = grid(10)
    cases = rng.poisson(0.4, (100, 28))
    planted = [44, 34, 43, 45, 54]  # a location and its four nearest neighbours: a circle
    cases[planted, -3:] += rng.poisson(3.0, (5, 3))
    result = space_time_permutation_scan(cases, coordinates, replications=199, seed=2)
    assert result.p_value <= 0.01
    assert sorted(result.locations) == sorted(planted)
    assert result.days == 3
    assert result.recurrence_days == pytest.approx(1 / result.p_value)
    assert result.relative_risk > 3


def test_no_cluster_gives_roughly_uniform_p_values():
    coordinates = grid(6)
    p_values = []
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        cases = rng.poisson(rng.uniform(0.2, 1.0, (36, 1)) * rng.uniform(0.5, 1.5, (1, 21)))
        result = space_time_permutation_scan(cases, coordinates, replications=99, seed=seed)
        p_values.append(1.0 if result is None else result.p_value)
    p_values = np.array(p_values)
    assert (p_values < 0.05).mean() <= 0.15  # binomial(40, 0.05): P(more than 6) < 0.5 %
    assert 0.25 <= np.median(p_values) <= 0.8


@pytest.mark.parametrize(
    ("cases", "coordinates"),
    [
        (np.zeros((5, 10), dtype=int), line(5)),  # no cases
        (np.array([[1, 0, 3, 2, 5]]), line(1)),  # one location: nothing is unusual against itself
        (np.array([[0, 0, 4], [0, 0, 2], [0, 0, 7]]), line(3)),  # all cases today
        (np.array([[0, 4, 0], [0, 2, 0], [0, 7, 0]]), line(3)),  # all cases on one earlier day
    ],
)
def test_degenerate_inputs_give_none(cases, coordinates):
    assert space_time_permutation_scan(cases, coordinates, replications=9, seed=0) is None


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="coordinates"):
        space_time_permutation_scan(np.ones((3, 4), dtype=int), line(2))


def test_secondary_clusters_do_not_overlap_and_rank_below_the_first():
    rng = np.random.default_rng(5)
    coordinates = grid(10)
    cases = rng.poisson(0.4, (100, 28))
    cases[[0, 1, 10], -2:] += 4
    cases[[88, 89, 99], -2:] += 3
    result = space_time_permutation_scan(cases, coordinates, replications=99, seed=1, max_secondary=2)
    assert len(result.secondary) == 2
    seen = set(result.locations)
    for other in result.secondary:
        assert not seen & set(other.locations)
        seen |= set(other.locations)
        assert other.llr <= result.llr and other.p_value >= result.p_value
    assert {88, 89, 99} <= set(result.secondary[0].locations) or {0, 1, 10} <= set(result.secondary[0].locations)


def test_sequential_stop_and_threads_do_not_change_the_answer():
    rng = np.random.default_rng(9)
    cases = rng.poisson(0.5, (36, 21))
    coordinates = grid(6)
    one = space_time_permutation_scan(cases, coordinates, replications=999, seed=4, workers=1)
    two = space_time_permutation_scan(cases, coordinates, replications=999, seed=4, workers=2)
    assert one == two
    early = space_time_permutation_scan(cases, coordinates, replications=999, seed=4, stop_after=20)
    tables = round(20 / early.p_value)
    assert early.p_value == pytest.approx(20 / tables)
    assert tables < 999  # an unremarkable day stops early
    assert early.p_value == pytest.approx(one.p_value, abs=0.2)
