"""Poisson CUSUM as in R's ``surveillance::algo.cusum`` with its default "standard" transform
(shared/early-warning.md §CUSUM; Rossi, Lampugnani & Marchi, Stat Med 1999).

z_t = (x_t − m)/√m with m the mean count of a baseline period; S_t = max(0, S_{t−1} + z_t − k);
alarm if S_t >= h. S starts at 0 on the first monitored day.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ewarn.detectors.base import Detection
from ewarn.detectors.common import as_series, first_index, positive_float, unjudged

Baseline = None | float | Sequence[int]


def _monitoring(series: np.ndarray, baseline: Baseline, first: int) -> tuple[float, int]:
    """The baseline mean m and the day S starts accumulating, from the ``baseline`` argument."""
    n = series.size
    if baseline is None:
        begin, stop = 0, first
    elif isinstance(baseline, int | float | np.integer | np.floating) and not isinstance(baseline, bool):
        return positive_float("baseline", baseline), 0
    elif (
        isinstance(baseline, Sequence)
        and len(baseline) == 2
        and all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in baseline)
    ):
        begin, stop = int(baseline[0]), int(baseline[1])
        if (begin < 0) == (stop < 0) and begin >= stop:
            raise ValueError(f"baseline range {tuple(baseline)} is empty")
        begin, stop, _ = slice(begin, stop).indices(n)  # a short series may leave no day: not judged
    else:
        raise ValueError("baseline must be None, a mean count, or a (start, stop) index range")
    days = series[begin:stop]
    days = days[~np.isnan(days)]
    return (float(days.mean()) if days.size else np.nan), stop


def _accumulate(increments: np.ndarray, h: float, judged: np.ndarray, reset: bool) -> tuple[np.ndarray, np.ndarray]:
    """S_t for every monitored day and S_{t−1} (the state each day starts from).

    Without reset, S_t = C_t − min(0, min_{s<=t} C_s) with C the running sum of the increments
    (Lindley's recursion in closed form, so a five-year series costs a few array passes). With
    reset, that is repeated from the day after each alarm.
    """
    state = np.empty(increments.size)
    before = np.empty(increments.size)
    position = 0
    while position < increments.size:
        running = np.cumsum(increments[position:])
        segment = running - np.minimum(np.minimum.accumulate(running), 0.0)
        state[position:] = segment
        before[position] = 0.0
        before[position + 1 :] = segment[:-1]
        if not reset:
            break
        alarms = np.flatnonzero((segment >= h) & judged[position:])
        if alarms.size == 0:
            break
        position += int(alarms[0]) + 1
    return state, before


def cusum(
    counts: np.ndarray,
    *,
    k: float = 1.04,
    h: float = 2.26,
    baseline: Baseline = None,
    reset: bool = False,
    start: int = 0,
) -> Detection:
    """Poisson CUSUM (R ``algo.cusum``, trans="standard"); alarm if S_t >= h (non-strict).

    ``baseline`` sets m and where S starts:
    - None: m = mean of the days before ``start`` and S starts at ``start`` (R's ``range[1]``), so
      here, and only here, the values depend on ``start``;
    - (begin, stop): m = mean of ``counts[begin:stop]`` (Python slice, negatives from the end) and S
      starts at ``stop``; ``start`` only picks the days returned, so a daily job can monitor "the
      last 7 days against the 28 before them" with (−35, −7);
    - a number: m itself, S starts at the first day.

    ``reset`` restarts S at 0 after each alarm (R has no reset). A missing day carries S unchanged
    and is not judged. Nothing is judged when m is 0 or unknown (z is undefined).

    statistic = S_t, expected = m, threshold = the count that makes S_t reach h,
    m + √m·(h + k − S_{t−1}), floored at 0; alarm iff x_t >= threshold. R reports that bound rounded
    up to a whole count.
    """
    series = as_series(counts)
    k = positive_float("k", k, allow_zero=True)
    h = positive_float("h", h)
    if not isinstance(reset, bool | np.bool_):
        raise ValueError(f"reset must be true or false, not {reset!r}")
    first = first_index(start, series.size)
    result = unjudged(series.size)
    m, monitor_from = _monitoring(series, baseline, first)
    if not m > 0 or monitor_from >= series.size:
        return result
    observed = series[monitor_from:]
    present = ~np.isnan(observed)
    increments = np.where(present, (observed - m) / np.sqrt(m) - k, 0.0)
    state, before = _accumulate(increments, h, present, bool(reset))
    report = np.arange(monitor_from, series.size)
    keep = present & (report >= first)
    days = report[keep]
    threshold = np.maximum(m + np.sqrt(m) * (h + k - before[keep]), 0.0)
    result.statistic[days] = state[keep]
    result.expected[days] = m
    result.threshold[days] = threshold
    result.alarm[days] = state[keep] >= h
    return result
