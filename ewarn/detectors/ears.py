"""CDC's Early Aberration Reporting System methods C1, C2 and C3 (Hutwagner et al., Emerg Infect Dis
2005;11(2):314–6; shared/early-warning.md §CDC EARS).

C1 compares today with the mean and sample SD of the previous 7 days, C2 does the same with a 2-day
guard band (days t−9..t−3), and C3 sums the last three days' C2 excesses over 1. R's
``surveillance::earsC`` matches C1 and C2 exactly; its C3 leaves out the current day's term, which
this module keeps, as the CDC definition does (see ewarn/tests/test_reference_r.py).

Missing days: a baseline uses the days it has (at least 3 of them, R's minimum baseline); a missing
day is not judged and contributes no C3 term to the two days after it.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ewarn.detectors.base import Detection
from ewarn.detectors.common import as_series, first_index, positive_float, positive_int, unjudged

MIN_BASELINE_DAYS = 3  # R's earsC refuses shorter baselines; with gaps we need as many present days

C2_GUARD = 2  # days between C2's baseline and the judged day (Hutwagner 2005)


def _baseline(series: np.ndarray, first: int, *, lag: int, baseline: int, min_sigma: float) -> tuple:
    """Mean and floored sample SD of ``series[t-lag-baseline+1 .. t-lag]`` for every t >= first."""
    windows = sliding_window_view(series[first - lag - baseline + 1 : series.size - lag], baseline)
    present = ~np.isnan(windows)
    n_present = present.sum(axis=1)
    values = np.where(present, windows, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = values.sum(axis=1) / n_present
        deviations = np.where(present, windows - mean[:, None], 0.0)
        sd = np.sqrt((deviations**2).sum(axis=1) / (n_present - 1))
    enough = n_present >= MIN_BASELINE_DAYS
    mean[~enough] = np.nan
    sd = np.where(enough, np.maximum(sd, min_sigma), np.nan)
    return mean, sd


def _z_scores(observed: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """(observed − mean)/sd, with 0 where both are zero (a flat zero baseline and no case)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (observed - mean) / sd
    score[(observed == mean) & (sd == 0)] = 0.0
    return score


def _shewhart(counts: np.ndarray, *, lag: int, baseline: int, min_sigma: float, z: float, start: int) -> Detection:
    """C1 (lag 1) and C2 (lag 3): alarm when today exceeds mean + z·sd of the lagged baseline."""
    series = as_series(counts)
    baseline = positive_int("baseline", baseline, MIN_BASELINE_DAYS)
    min_sigma = positive_float("min_sigma", min_sigma, allow_zero=True)
    z = positive_float("z", z)
    result = unjudged(series.size)
    first = max(first_index(start, series.size), baseline + lag - 1)
    if first >= series.size:
        return result
    mean, sd = _baseline(series, first, lag=lag, baseline=baseline, min_sigma=min_sigma)
    observed = series[first:]
    judged = ~np.isnan(mean) & ~np.isnan(observed)
    threshold = mean + z * sd
    days = np.arange(first, series.size)[judged]
    result.statistic[days] = _z_scores(observed, mean, sd)[judged]
    result.expected[days] = mean[judged]
    result.threshold[days] = threshold[judged]
    result.alarm[days] = observed[judged] > threshold[judged]
    return result


def ears_c1(
    counts: np.ndarray, *, min_sigma: float = 0.5, z: float = 3.0, baseline: int = 7, start: int = 0
) -> Detection:
    """EARS C1 (Hutwagner 2005): C1 = (y_t − ȳ)/s over y[t−7..t−1]; alarm if C1 > z (strict).

    ``s`` is the sample SD floored at ``min_sigma``, so a quiet series does not alarm on every case.
    statistic = C1, expected = ȳ, threshold = ȳ + z·s (alarm iff y_t > threshold). R's ``earsC``
    gives the same bounds with ``minSigma=min_sigma`` and z = qnorm(1 − alpha).
    """
    return _shewhart(counts, lag=1, baseline=baseline, min_sigma=min_sigma, z=z, start=start)


def ears_c2(
    counts: np.ndarray, *, min_sigma: float = 0.5, z: float = 3.0, baseline: int = 7, start: int = 0
) -> Detection:
    """EARS C2 (Hutwagner 2005): as C1 over y[t−9..t−3], a 2-day guard band so the start of an
    outbreak does not inflate its own baseline; alarm if C2 > z (strict)."""
    return _shewhart(counts, lag=1 + C2_GUARD, baseline=baseline, min_sigma=min_sigma, z=z, start=start)


def ears_c3(
    counts: np.ndarray, *, min_sigma: float = 0.5, z: float = 2.0, baseline: int = 7, start: int = 0
) -> Detection:
    """EARS C3 (Hutwagner 2005): C3 = Σ_{i=0..2} max(0, C2(t−i) − 1); alarm if C3 > z (strict).

    The current day's term is included, as in the CDC definition; R's ``earsC`` leaves it out and so
    alarms a day later on a spike. ``z`` is C3's limit (2 in the CDC's EARS).

    statistic = C3, expected = ȳ of today's C2 baseline, threshold = the count today that would make
    C3 reach z given the previous two days' terms P: ȳ + s·(1 + z − P) — or −inf when P alone
    exceeds z (any count alarms). Alarm iff y_t > threshold. A missing previous day adds no term.
    """
    series = as_series(counts)
    baseline = positive_int("baseline", baseline, MIN_BASELINE_DAYS)
    min_sigma = positive_float("min_sigma", min_sigma, allow_zero=True)
    z = positive_float("z", z)
    lag = 1 + C2_GUARD
    result = unjudged(series.size)
    first = max(first_index(start, series.size), baseline + lag + 1)
    if first >= series.size:
        return result
    # C2 from two days before the first judged day, for its lag terms
    mean, sd = _baseline(series, first - 2, lag=lag, baseline=baseline, min_sigma=min_sigma)
    observed = series[first - 2 :]
    terms = np.nan_to_num(np.maximum(_z_scores(observed, mean, sd) - 1.0, 0.0), nan=0.0)
    previous = terms[1:-1] + terms[:-2]
    today_mean, today_sd, today = mean[2:], sd[2:], observed[2:]
    judged = ~np.isnan(today_mean) & ~np.isnan(today)
    with np.errstate(invalid="ignore"):
        threshold = np.where(previous > z, -np.inf, today_mean + today_sd * (1.0 + z - previous))
    statistic = previous + terms[2:]
    days = np.arange(first, series.size)[judged]
    result.statistic[days] = statistic[judged]
    result.expected[days] = today_mean[judged]
    result.threshold[days] = threshold[judged]
    result.alarm[days] = statistic[judged] > z
    return result
