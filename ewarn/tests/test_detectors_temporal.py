"""Unit tests of the temporal detectors (issue #9): small cases worked by hand, the rules that tie
statistic, threshold and alarm together, ``start``, missing days and the registry's checks.
The comparison with R lives in test_reference_r.py."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ewarn.detectors.cidars import cidars
from ewarn.detectors.cusum import cusum
from ewarn.detectors.ears import ears_c1, ears_c2, ears_c3
from ewarn.detectors.farrington import ORIGINAL_SETTINGS, farrington_flexible
from ewarn.detectors.glm import Design, fit_quasi_poisson
from ewarn.detectors.temporal import DETECTORS, min_history, run

RNG_SEED = 20130401


def _weekly(years: int = 10, mean: float = 10.0, seed: int = RNG_SEED) -> np.ndarray:
    return np.random.default_rng(seed).poisson(mean, 52 * years).astype(float)


# --- EARS -----------------------------------------------------------------------------------------


def test_c1_on_a_spike():
    counts = np.array([2, 3, 2, 3, 2, 3, 2, 10], dtype=float)
    result = ears_c1(counts)
    mean, sd = 17 / 7, math.sqrt(2 / 7)  # sample SD of four 2s and three 3s
    assert result.expected[7] == pytest.approx(mean)
    assert result.threshold[7] == pytest.approx(mean + 3 * sd)
    assert result.statistic[7] == pytest.approx((10 - mean) / sd)
    assert result.alarm.tolist() == [False] * 7 + [True]
    assert np.isnan(result.threshold[:7]).all()  # a 7-day baseline is needed first


def test_min_sigma_floors_the_sd_of_a_flat_baseline():
    flat = [1.0] * 7
    assert ears_c1([*flat, 2]).threshold[7] == pytest.approx(1 + 3 * 0.5)
    assert not ears_c1([*flat, 2]).alarm[7]
    assert ears_c1([*flat, 3]).alarm[7]
    assert ears_c1([*flat, 3], min_sigma=1.0).threshold[7] == pytest.approx(4.0)
    assert not ears_c1([*flat, 3], min_sigma=1.0).alarm[7]
    assert ears_c1([*flat, 1], min_sigma=0.0).statistic[7] == 0.0  # no case above a flat baseline


def test_c2_skips_the_two_days_before():
    """The guard band keeps an outbreak's first days out of its own baseline."""
    counts = np.array([1, 2, 1, 2, 1, 2, 1, 9, 9, 9], dtype=float)
    c2 = ears_c2(counts)
    baseline = counts[:7]
    assert c2.expected[9] == pytest.approx(statistics.mean(baseline))
    assert c2.threshold[9] == pytest.approx(statistics.mean(baseline) + 3 * statistics.stdev(baseline))
    assert c2.alarm[9]
    assert not ears_c1(counts).alarm[9]  # C1's baseline already holds the two 9s
    assert np.isnan(c2.threshold[:9]).all()


def test_c3_counts_the_current_day():
    counts = np.array([2, 3] * 6 + [20, 2], dtype=float)
    c2, c3 = ears_c2(counts), ears_c3(counts)
    terms = np.maximum(c2.statistic - 1, 0)
    assert c3.statistic[12] == pytest.approx(terms[10] + terms[11] + terms[12])
    assert terms[10] + terms[11] < 2  # without today's term (R's earsC) the spike day is quiet …
    assert c3.alarm[12]  # … with it, the CDC's C3 alarms on the spike day itself
    assert c3.alarm[13]  # and the day after, from the spike's term
    assert np.isnan(c3.threshold[:11]).all()


def test_c3_threshold_is_the_count_that_reaches_the_limit():
    counts = np.array([2, 3] * 6 + [4, 3], dtype=float)
    c2, c3 = ears_c2(counts), ears_c3(counts, z=2.0)
    terms = np.maximum(c2.statistic - 1, 0)
    previous = terms[11] + terms[12]
    sd = (c2.threshold[13] - c2.expected[13]) / 3.0
    assert c3.threshold[13] == pytest.approx(c2.expected[13] + sd * (1 + 2.0 - previous))


def test_c3_threshold_is_minus_infinity_when_the_previous_days_alone_alarm():
    counts = np.array([2, 3] * 6 + [30, 30, 0], dtype=float)
    c3 = ears_c3(counts)
    assert c3.threshold[14] == -np.inf
    assert c3.alarm[14]  # no case today, still an alarm: the two days before exceed the limit


def test_ears_missing_days():
    counts = np.array([2, 3, np.nan, 3, 2, 3, 2, 10, np.nan, 2], dtype=float)
    c1 = ears_c1(counts)
    present = [2, 3, 3, 2, 3, 2]
    assert c1.expected[7] == pytest.approx(statistics.mean(present))
    assert c1.alarm[7]
    assert np.isnan(c1.threshold[8]) and not c1.alarm[8]  # a missing day is not judged
    assert np.isfinite(c1.threshold[9])
    sparse = np.array([np.nan] * 5 + [1, 1, 5], dtype=float)
    assert np.isnan(ears_c1(sparse).threshold[7])  # two present baseline days are too few


# --- CIDARS -----------------------------------------------------------------------------------------


def _block_series(values: list[float], current: float) -> tuple[np.ndarray, int]:
    """Four years of zeros with ``values`` as the sums of the 15 baseline blocks of the last day
    (oldest year first, blocks from −2 to +2) and ``current`` as its own 7-day sum."""
    counts = np.zeros(4 * 365)
    day = counts.size - 1
    blocks = [day - i * 365 + j * 7 for i in (3, 2, 1) for j in (-2, -1, 0, 1, 2)]
    counts[blocks] = values
    counts[day] = current
    return counts, day


def test_cidars_percentile_of_fifteen_blocks():
    counts, day = _block_series(list(range(1, 16)), current=13)
    result = cidars(counts, percentile=80)
    # linear interpolation: rank 0.8 × 14 = 11.2 between 12 and 13
    assert result.threshold[day] == pytest.approx(12.2)
    assert result.expected[day] == 8
    assert result.statistic[day] == 13
    assert result.alarm[day]
    just_below, _ = _block_series(list(range(1, 16)), current=12)
    assert not cidars(just_below).alarm[day]
    assert not cidars(counts, percentile=80, min_count=14).alarm[day]
    assert cidars(counts, percentile=50).threshold[day] == 8


def test_cidars_uses_only_the_blocks_around_the_same_week():
    counts, day = _block_series([1.0] * 15, current=2)
    assert cidars(counts, percentile=100).threshold[day] == 1
    counts[day - 365 + 3 * 7] = 100  # a third block after last year's week: not in the baseline
    counts[day - 2 * 365 - 3 * 7] = 100  # nor a third block before
    counts[day - 4 * 7 - 6] = 100  # nor this year's weeks
    assert cidars(counts, percentile=100).threshold[day] == 1
    counts[day - 365 + 2 * 7 - 6] = 100  # the first day of the last block that is
    assert cidars(counts, percentile=100).threshold[day] == 101


def test_cidars_matches_a_direct_count_on_random_data():
    counts = np.random.default_rng(RNG_SEED).poisson(3, 4 * 365).astype(float)
    start = counts.size - 40
    result = cidars(counts, start=start, percentile=70)
    for day in range(start, counts.size):
        baseline = [
            counts[end - 6 : end + 1].sum() for i in (1, 2, 3) for end in (day - i * 365 + j * 7 for j in range(-2, 3))
        ]
        assert result.statistic[day] == counts[day - 6 : day + 1].sum()
        assert result.threshold[day] == pytest.approx(np.percentile(baseline, 70))
        assert result.expected[day] == pytest.approx(statistics.median(baseline))


def test_cidars_weekly_and_missing_blocks():
    counts = np.arange(4 * 52, dtype=float) % 7
    last = counts.size - 1
    weekly = cidars(counts, period=52, window=1)
    baseline = [counts[last - i * 52 + j] for i in (1, 2, 3) for j in range(-2, 3)]
    assert weekly.threshold[last] == pytest.approx(np.percentile(baseline, 80))
    counts[last - 52] = np.nan
    gap = cidars(counts, period=52, window=1)
    del baseline[2]  # last year's same week
    assert gap.threshold[last] == pytest.approx(np.percentile(baseline, 80))
    counts[last] = np.nan
    assert not cidars(counts, period=52, window=1).judged[last]


def test_cidars_needs_three_full_years():
    counts = np.ones(3 * 365 + 40)
    judged = np.flatnonzero(cidars(counts).judged)
    assert judged[0] == 3 * 365 + 2 * 7 + 6
    assert DETECTORS["cidars"].min_history == judged[0] + 1


# --- CUSUM --------------------------------------------------------------------------------------------


def test_cusum_accumulates_by_hand():
    counts = np.array([4, 8, 8, 4, 12, 8], dtype=float)
    result = cusum(counts, baseline=4.0)  # m = 4, √m = 2: z = 0, 2, 2, 0, 4, 2
    np.testing.assert_allclose(result.statistic, [0, 0.96, 1.92, 0.88, 3.84, 4.8])
    np.testing.assert_allclose(result.threshold, [10.6, 10.6, 8.68, 6.76, 8.84, 4.0 + 2 * (3.3 - 3.84)])
    assert result.alarm.tolist() == [False, False, False, False, True, True]
    assert (result.expected == 4).all()
    reset = cusum(counts, baseline=4.0, reset=True)
    assert reset.statistic[5] == pytest.approx(0.96)  # starts again from 0 after the alarm
    assert reset.threshold[5] == pytest.approx(10.6)
    assert not reset.alarm[5]


def test_cusum_threshold_is_floored_at_zero():
    counts = np.array([4, 30, 30, 0], dtype=float)
    result = cusum(counts, baseline=4.0)
    assert result.threshold[3] == 0.0
    assert result.alarm[3]  # S stays above h without reset, as in R


def test_cusum_baselines():
    counts = np.array([3, 5, 4, 4, 4, 8, 8], dtype=float)
    ranged = cusum(counts, baseline=(0, 4))
    assert np.isnan(ranged.statistic[:4]).all()
    np.testing.assert_allclose(ranged.statistic[4:], [0, 0.96, 1.92])
    np.testing.assert_allclose(cusum(counts, baseline=[-7, -3]).statistic[4:], [0, 0.96, 1.92])
    before = cusum(counts, start=4)  # R's algo.cusum: m = mean of the days before range[1]
    np.testing.assert_allclose(before.statistic[4:], [0, 0.96, 1.92])
    assert np.isnan(cusum(np.zeros(10), start=5).threshold).all()  # m = 0: z undefined
    with pytest.raises(ValueError, match="empty"):
        cusum(counts, baseline=(4, 2))
    with pytest.raises(ValueError, match="baseline"):
        cusum(counts, baseline="week")


def test_cusum_carries_over_a_missing_day():
    result = cusum(np.array([4, 8, np.nan, 8]), baseline=4.0)
    np.testing.assert_allclose(result.statistic, [0, 0.96, np.nan, 1.92])
    assert np.isnan(result.threshold[2]) and not result.alarm[2]


# --- Farrington --------------------------------------------------------------------------------------


def test_farrington_is_quiet_on_a_flat_poisson_series():
    counts = _weekly()
    for params in ({}, ORIGINAL_SETTINGS):
        result = farrington_flexible(counts, **params)
        judged = result.judged
        assert judged.sum() == counts.size - 52 * 5
        assert result.alarm[judged].mean() < 0.03
        assert np.all(np.abs(result.expected[judged] - 10) < 4)


def test_farrington_flags_a_big_spike():
    counts = _weekly()
    counts[-1] = 40
    for params in ({}, ORIGINAL_SETTINGS):
        result = farrington_flexible(counts, start=-1, **params)
        assert result.alarm[-1]
        assert 15 < result.threshold[-1] < 25
        assert result.statistic[-1] > 1


def test_farrington_drops_a_trend_that_would_extrapolate():
    """Rising counts: the trend's prediction passes every count the model saw, so it is dropped
    and the result is the no-trend model's (Farrington 1996; R keeps the same rule)."""
    weeks = np.arange(52 * 7)
    rising = np.random.default_rng(RNG_SEED).poisson(3 * np.exp(weeks / 80)).astype(float)
    for params in ({}, ORIGINAL_SETTINGS):
        kept = farrington_flexible(rising, start=-1, **params)
        flat = farrington_flexible(rising, start=-1, trend=False, **params)
        assert kept.expected[-1] == pytest.approx(flat.expected[-1])
    falling = np.random.default_rng(RNG_SEED).poisson(400 * np.exp(-weeks / 150)).astype(float)
    kept = farrington_flexible(falling, start=-1, **ORIGINAL_SETTINGS)
    flat = farrington_flexible(falling, start=-1, trend=False, **ORIGINAL_SETTINGS)
    assert kept.expected[-1] < 0.8 * flat.expected[-1]  # a falling trend stays
    short = farrington_flexible(falling, start=-1, b=2, **ORIGINAL_SETTINGS)
    no_trend = farrington_flexible(falling, start=-1, b=2, trend=False, **ORIGINAL_SETTINGS)
    assert short.expected[-1] == pytest.approx(no_trend.expected[-1])  # b < 3: never a trend


def test_fewer_than_five_cases_in_four_periods_do_not_alarm():
    """R's farringtonFlexible applies limit54 = c(5, 4) in both variants by default, the current
    period included; ``limit54=None`` turns it off."""
    counts = np.zeros(52 * 6)
    counts[::9] = 1  # a sporadic case every nine weeks
    counts[-4:] = [0, 0, 0, 4]
    for params in ({}, ORIGINAL_SETTINGS):
        silenced = farrington_flexible(counts, start=-1, **params)
        assert silenced.threshold[-1] < 4  # above the bound …
        assert not silenced.alarm[-1]  # … but only 4 cases in the last 4 weeks
        assert farrington_flexible(counts, start=-1, limit54=None, **params).alarm[-1]
        counts[-2] = 1
        assert farrington_flexible(counts, start=-1, **params).alarm[-1]
        counts[-2] = 0


def test_farrington_on_daily_counts():
    days = np.arange(5 * 365 + 30)
    mean = 5 * np.exp(0.5 * np.sin(2 * np.pi * days / 365))
    counts = np.random.default_rng(RNG_SEED).poisson(mean).astype(float)
    result = farrington_flexible(counts, freq=365)
    judged = np.flatnonzero(result.judged)
    assert judged[0] == 5 * 365
    assert result.alarm[judged].mean() < 0.05
    np.testing.assert_allclose(result.expected[judged], mean[judged], rtol=0.35)
    counts[-1] = 40
    assert farrington_flexible(counts, freq=365, start=-1).alarm[-1]


def test_a_constant_population_changes_nothing():
    counts = _weekly(years=7)
    plain = farrington_flexible(counts, start=-30)
    scaled = farrington_flexible(counts, start=-30, population=np.full(counts.size, 2500.0))
    np.testing.assert_allclose(scaled.expected, plain.expected, rtol=1e-8)
    np.testing.assert_array_equal(scaled.threshold, plain.threshold)


def test_farrington_missing_days():
    counts = _weekly(years=7)
    counts[-1] = np.nan
    counts[-53] = np.nan  # a reference week of the day before
    result = farrington_flexible(counts, start=-5)
    assert np.isnan(result.threshold[-1]) and not result.alarm[-1]
    assert np.isfinite(result.threshold[-5:-1]).all()


def test_farrington_rejects_bad_settings():
    counts = _weekly(years=6)
    for bad in ({"alpha": 0.7}, {"threshold_method": "exact"}, {"w": 30}, {"limit54": (5,)}, {"no_periods": 60}):
        with pytest.raises(ValueError):
            farrington_flexible(counts, **bad)


def test_glm_fit_of_an_intercept_is_the_mean():
    y = np.array([[1.0, 4.0, 2.0, 0.0, 8.0]])
    fit = fit_quasi_poisson(Design(np.ones((5, 1))), y, np.ones_like(y), np.zeros_like(y))
    assert fit.converged[0]
    assert math.exp(fit.coefficients[0, 0]) == pytest.approx(3.0)
    # Pearson χ²/df, with R's working weights from the last iteration's start (so not to the last digit)
    assert fit.dispersion[0] == pytest.approx(np.sum((y - 3) ** 2 / 3) / 4, rel=1e-4)


# --- shared rules --------------------------------------------------------------------------------------

SMALL_FARRINGTON = {"freq": 13, "w": 1, "b": 3, "no_periods": 3, "past_periods_not_included": 2}
SMALL = {
    "ears_c1": (ears_c1, {}),
    "ears_c2": (ears_c2, {}),
    "ears_c3": (ears_c3, {}),
    "cidars": (cidars, {"period": 10, "window": 2, "years": 2, "blocks_each_side": 1, "percentile": 60}),
    "cusum": (cusum, {"baseline": (0, 10)}),
    "farrington": (farrington_flexible, SMALL_FARRINGTON),
}
# small counts with about one day in eight missing
series = arrays(float, st.integers(40, 80), elements=st.integers(-2, 12).map(lambda v: float(v) if v >= 0 else np.nan))


def _agree(a: np.ndarray, b: np.ndarray, *, exact: bool = True) -> bool:
    if exact or a.dtype == bool:
        return np.array_equal(a, b, equal_nan=True)
    return np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True)


@settings(max_examples=25, deadline=None)
@given(counts=series, start=st.integers(0, 79))
def test_start_gives_the_full_runs_values(counts, start):
    start = min(start, counts.size)
    for detector, (function, params) in SMALL.items():
        full, part = function(counts, **params), function(counts, start=start, **params)
        # Farrington fits days in batches, and BLAS may round a batch differently from a single day
        exact = detector != "farrington"
        for name in ("statistic", "expected", "threshold"):
            assert _agree(getattr(part, name)[start:], getattr(full, name)[start:], exact=exact), (detector, name)
            assert np.isnan(getattr(part, name)[:start]).all()
        assert _agree(part.alarm[start:], full.alarm[start:])
        assert not part.alarm[:start].any()


@settings(max_examples=25, deadline=None)
@given(counts=series)
def test_the_alarm_is_the_threshold_rule(counts):
    for name, (function, params) in SMALL.items():
        result = function(counts, **params)
        judged = result.judged
        observed, threshold = counts[judged], result.threshold[judged]
        assert not np.isnan(observed).any(), name  # a missing day is never judged
        if name == "cusum":
            expected = observed >= threshold
        elif name == "cidars":
            expected = (result.statistic[judged] > threshold) & (result.statistic[judged] >= 1)
        elif name == "farrington":
            recent = np.array([np.nansum(counts[max(0, t - 3) : t + 1]) for t in np.flatnonzero(judged)])
            expected = (observed > threshold) & (recent >= 5)
        else:
            expected = observed > threshold
        assert np.array_equal(result.alarm[judged], expected), name
        assert not result.alarm[~judged].any()


def test_negative_start_counts_from_the_end():
    counts = _weekly(years=1)
    assert _agree(ears_c1(counts, start=-3).threshold, ears_c1(counts, start=counts.size - 3).threshold)
    with pytest.raises(ValueError, match="outside"):
        ears_c1(counts, start=counts.size + 1)


def test_bad_counts_are_refused():
    for bad in ([1, -1, 2], [[1, 2]], [1, np.inf]):
        with pytest.raises(ValueError):
            ears_c1(bad)


# --- registry ---------------------------------------------------------------------------------------------


def test_registry_names_labels_and_defaults():
    assert set(DETECTORS) == {"cidars", "ears_c1", "ears_c2", "ears_c3", "cusum", "farrington"}
    assert str(DETECTORS["ears_c3"].label) == "EARS C3"
    with pytest.raises(TypeError):
        DETECTORS["cusum"].defaults["k"] = 2  # the policy overrides through run(), never in place


@pytest.mark.parametrize("name", ["cidars", "ears_c1", "ears_c2", "ears_c3", "cusum", "farrington"])
def test_min_history_is_enough_for_the_last_day(name):
    need = DETECTORS[name].min_history
    counts = np.random.default_rng(RNG_SEED).poisson(6, need).astype(float)
    assert run(name, counts, start=-1).judged[-1]
    if name != "cusum":  # a shorter series still has a (shorter) CUSUM baseline
        assert not run(name, counts[1:], start=-1).judged[-1]


def test_run_merges_the_policy_over_the_defaults():
    counts = np.random.default_rng(RNG_SEED).poisson(3, 4 * 365).astype(float)
    ours = run("cidars", counts, {"percentile": 50, "min_count": 3}, start=-10)
    direct = cidars(counts, percentile=50, min_count=3, start=-10)
    assert _agree(ours.threshold, direct.threshold)
    # JSON has no tuples: lists work where a pair is expected
    assert run("cusum", counts, {"baseline": [-400, -35]}, start=-1).judged[-1]
    assert run("farrington", counts, {"b": 3, "limit54": [5, 4], "alpha": 0.005}, start=-1).judged[-1]
    assert min_history("farrington", {"b": 3}) == 3 * 365 + 1
    assert min_history("cusum", {"baseline": [-400, -35]}) == 400


def test_run_refuses_what_the_policy_should_not_say():
    counts = np.ones(30)
    with pytest.raises(ValueError, match="unknown detector 'ears_c4'"):
        run("ears_c4", counts)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) percentil for detector 'cidars'"):
        run("cidars", counts, {"percentil": 60})
    with pytest.raises(ValueError, match="unknown parameter"):
        run("ears_c1", counts, {"start": 3})  # start is the caller's, not the policy's
    with pytest.raises(ValueError, match="percentile"):
        run("cidars", counts, {"percentile": 150})
    with pytest.raises(ValueError, match="min_sigma"):
        run("ears_c1", counts, {"min_sigma": "high"})
    with pytest.raises(ValueError, match="reset"):
        run("cusum", counts, {"reset": "yes"})
