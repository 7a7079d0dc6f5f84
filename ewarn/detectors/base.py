"""What every detector returns, so the daily job, the alert evidence and the evaluation harness
treat them alike (issue #9; definitions in shared/early-warning.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detection:
    """A temporal detector's verdict on each day of one series.

    All arrays have the series' length. Days the detector cannot judge (not enough history, or
    before ``start``) hold NaN in the float arrays and False in ``alarm``.
    ``expected`` and ``threshold`` are in the series' own units (counts), so staff can read them
    beside the observed count: an alarm means the observed value passed the threshold by the
    detector's own rule (``>`` or ``>=``, documented per detector).
    """

    statistic: np.ndarray  # the detector's own score (C1 z-score, CUSUM S_t, percentile rank …)
    expected: np.ndarray  # what the baseline expects for the day
    threshold: np.ndarray  # the count above which the day alarms
    alarm: np.ndarray  # bool

    @property
    def judged(self) -> np.ndarray:
        return ~np.isnan(self.threshold)
