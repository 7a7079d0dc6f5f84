"""Detection metrics over an evaluation period, as Noufaily et al. 2013 and Bédubourg & Le Strat
(PLoS One 2017) define them, pooled over series.

For each series: its judged periods, which of them alarmed, and which hold cases of the current
outbreak ("outbreak periods"). Then:

* false-positive rate (FPR) = alarms on non-outbreak periods / non-outbreak periods;
* specificity = 1 − FPR;
* probability of detection (POD) = series whose current outbreak has at least one alarmed outbreak
  period / series with a current outbreak (at least one outbreak case in the evaluation period);
* sensitivity = alarmed outbreak periods / outbreak periods;
* delay, for each detected outbreak = periods from its first outbreak period to its first alarmed
  outbreak period (0: alarmed on the first one); reported as median and mean.

A period the detector could not judge counts as not alarmed: an evaluation of a detector that
needs more history than the series has shows up as low sensitivity rather than disappearing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Tally:
    """Counts behind the metrics; tallies of several scenarios add up."""

    series: int = 0
    quiet_periods: int = 0  # non-outbreak periods
    false_alarms: int = 0
    outbreak_periods: int = 0
    alarmed_outbreak_periods: int = 0
    outbreaks: int = 0
    detected: int = 0
    delays: list[int] = field(default_factory=list)

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.series + other.series,
            self.quiet_periods + other.quiet_periods,
            self.false_alarms + other.false_alarms,
            self.outbreak_periods + other.outbreak_periods,
            self.alarmed_outbreak_periods + other.alarmed_outbreak_periods,
            self.outbreaks + other.outbreaks,
            self.detected + other.detected,
            self.delays + other.delays,
        )

    @property
    def false_positive_rate(self) -> float:
        return _share(self.false_alarms, self.quiet_periods)

    @property
    def specificity(self) -> float:
        return 1 - self.false_positive_rate

    @property
    def probability_of_detection(self) -> float:
        return _share(self.detected, self.outbreaks)

    @property
    def sensitivity(self) -> float:
        return _share(self.alarmed_outbreak_periods, self.outbreak_periods)

    @property
    def median_delay(self) -> float:
        return float(np.median(self.delays)) if self.delays else float("nan")

    @property
    def mean_delay(self) -> float:
        return float(np.mean(self.delays)) if self.delays else float("nan")


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def score(alarm: np.ndarray, outbreak_cases: np.ndarray) -> Tally:
    """The tally of ``alarm`` [series, periods] (bool) against ``outbreak_cases`` [series, periods],
    both restricted to the evaluation period."""
    alarm = np.asarray(alarm, dtype=bool)
    outbreak = np.asarray(outbreak_cases) > 0
    has_outbreak = outbreak.any(axis=1)
    hits = alarm & outbreak
    detected = hits.any(axis=1)
    first_case = np.argmax(outbreak, axis=1)
    first_hit = np.argmax(hits, axis=1)
    return Tally(
        series=int(alarm.shape[0]),
        quiet_periods=int((~outbreak).sum()),
        false_alarms=int((alarm & ~outbreak).sum()),
        outbreak_periods=int(outbreak.sum()),
        alarmed_outbreak_periods=int(hits.sum()),
        outbreaks=int(has_outbreak.sum()),
        detected=int(detected.sum()),
        delays=(first_hit - first_case)[detected].tolist(),
    )
