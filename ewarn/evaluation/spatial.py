"""The space-time scan on a simple spatial scenario: how often it flags a quiet city, how often it
finds a planted cluster (our design; no published counterpart).

A grid of ``side`` × ``side`` locations about 1 km apart, each with its own daily rate (0.1–0.6
cases) times a weekly rhythm, over a ``days``-day window. Each replicate makes one quiet window and
one with a cluster: a random location and its four nearest neighbours get Poisson(k · √E) extra
cases over the last three days (E: the cylinder's expected count, k uniform in 1..10, as the
temporal design sizes outbreaks by the baseline SD), spread at random over those 15 location-days.

Scored as one judged day per window: FPR = quiet windows with p ≤ ``alpha``; POD = sensitivity =
windows with a cluster whose most likely cluster has p ≤ ``alpha`` and shares a location with it.
"""

from __future__ import annotations

import numpy as np

from ewarn.detectors.scan import LABEL, space_time_permutation_scan
from ewarn.evaluation.metrics import Tally
from ewarn.evaluation.report import EvaluationRow

WEEKDAY = np.array([1.2, 1.1, 1.0, 1.0, 1.0, 0.8, 0.7])
CLUSTER_DAYS = 3
CLUSTER_LOCATIONS = 5
SPATIAL_STREAM = 2  # random stream of this scenario; 0 and 1 are the weekly and daily designs


def grid_coordinates(side: int, rng: np.random.Generator) -> np.ndarray:
    """Latitude/longitude of a jittered grid about 1 km apart (no ties in distance)."""
    lat, lon = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    points = np.column_stack([lat.ravel(), lon.ravel()]) + rng.uniform(-0.1, 0.1, (side * side, 2))
    return np.column_stack([30.6 + points[:, 0] / 111.2, 114.3 + points[:, 1] / 95.7])


def evaluate_scan(
    *,
    replicates: int,
    seed: int,
    side: int = 10,
    days: int = 28,
    replications: int = 99,
    alpha: float = 0.05,
) -> EvaluationRow:
    """POD and FPR of the scan over ``replicates`` quiet and ``replicates`` clustered windows."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SPATIAL_STREAM,)))
    coordinates = grid_coordinates(side, rng)
    locations = side * side
    nearest = np.argsort(((coordinates[:, None, :] - coordinates[None, :, :]) ** 2).sum(axis=2), axis=1)
    day_factor = np.resize(WEEKDAY, days)
    tally = Tally()
    for _replicate in range(replicates):
        rate = rng.uniform(0.1, 0.6, (locations, 1)) * day_factor[None, :]
        quiet = rng.poisson(rate)
        found = space_time_permutation_scan(quiet, coordinates, replications=replications, seed=_seed(rng))
        flagged = found is not None and found.p_value <= alpha

        cluster = nearest[rng.integers(locations), :CLUSTER_LOCATIONS]
        expected = rate[cluster, -CLUSTER_DAYS:].sum()
        extra = rng.poisson(rng.integers(1, 11) * np.sqrt(expected))
        clustered = rng.poisson(rate)
        cells = rng.integers(0, CLUSTER_LOCATIONS * CLUSTER_DAYS, extra)
        np.add.at(clustered, (cluster[cells // CLUSTER_DAYS], days - CLUSTER_DAYS + cells % CLUSTER_DAYS), 1)
        found = space_time_permutation_scan(clustered, coordinates, replications=replications, seed=_seed(rng))
        detected = (
            extra > 0 and found is not None and found.p_value <= alpha and bool(set(found.locations) & set(cluster))
        )
        tally += Tally(
            series=2,
            quiet_periods=1,
            false_alarms=int(flagged),
            outbreak_periods=int(extra > 0),
            alarmed_outbreak_periods=int(detected),
            outbreaks=int(extra > 0),
            detected=int(detected),
        )
    return EvaluationRow("spatial", "scan", LABEL, tally)


def _seed(rng: np.random.Generator) -> int:
    """The scan's own permutation seed, drawn from the scenario's stream."""
    return int(rng.integers(2**63))
