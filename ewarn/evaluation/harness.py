"""Run the registry's detectors over simulated series and score them (``linli ewarn evaluate``).

Each (frequency, scenario) is one task: simulate its replicates, run every detector over every
series from the first evaluation period on (``start``), score the alarms. Tasks run in worker
processes (the detectors are numpy code holding the GIL between calls); each task's random stream
depends only on the seed, the frequency and the scenario number, so a subset of scenarios gives the
same series as the full run, whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext_lazy as _

from ewarn.detectors.base import Detection
from ewarn.detectors.temporal import DETECTORS, run
from ewarn.evaluation.metrics import Tally, score
from ewarn.evaluation.report import EvaluationReport, EvaluationRow
from ewarn.evaluation.simulation import DESIGNS, SCENARIOS, simulate_noufaily
from ewarn.evaluation.spatial import evaluate_scan

Runner = Callable[[str, np.ndarray, Mapping[str, Any] | None, int], Detection]

# Which detectors each design suits: EARS and CIDARS are daily methods, Farrington a weekly one
# (its daily use would need 5 × 365-day GLMs per day); on weekly series every detector runs, as in
# Bédubourg & Le Strat's comparison.
FREQUENCY_DETECTORS = {
    "weekly": ("cidars", "ears_c1", "ears_c2", "ears_c3", "cusum", "farrington"),
    "daily": ("cidars", "ears_c1", "ears_c2", "ears_c3", "cusum", "farrington"),
}
# The registry's defaults are for daily counts; weekly series need the year in weeks.
FREQUENCY_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "weekly": {"cidars": {"period": 52, "window": 1}, "farrington": {"freq": 52}},
    "daily": {},
}
# Detectors whose verdict on a day depends on where the series ends (the standing CUSUM's baseline
# is "28 days ending a week before the last day"): each evaluation day is judged on the series cut
# at that day, as the daily job sees it.
STANDING = frozenset({"cusum"})

DEFAULT_REPLICATES = 100  # per scenario and design: ~4,200 series each, about a minute on 2 cores
QUICK_SCENARIOS = (1, 9, 17, 24, 30, 35, 40)  # one per parameter group, trends and seasons mixed
QUICK_REPLICATES = 4
QUICK_SCAN_REPLICATES = 6
DEFAULT_SCAN_REPLICATES = 100


@dataclass(frozen=True)
class _Task:
    frequency: str
    scenario: int
    replicates: int
    seed: int
    detectors: dict[str, dict[str, Any]]
    runner: Runner | None
    agreement: tuple[tuple[str, ...], int] | None = None


def evaluate(
    detectors: Mapping[str, Mapping[str, Any] | None] | None = None,
    *,
    scenarios: Sequence[int] | None = None,
    replicates: int | None = None,
    seed: int = 2013,
    frequency: str = "both",
    quick: bool = False,
    scan_replicates: int | None = None,
    workers: int | None = None,
    runner: Runner | None = None,
    agreement: tuple[Sequence[str], int] | None = None,
) -> EvaluationReport:
    """Score ``detectors`` (registry names → parameters over the registry's defaults; None: all)
    on the Noufaily design (ewarn.evaluation.simulation) and, with the daily designs and unless
    ``scan_replicates`` is 0, the space-time scan on a planted spatial cluster
    (ewarn.evaluation.spatial).

    ``frequency`` is "weekly", "daily" or "both"; a detector runs on the designs it suits
    (FREQUENCY_DETECTORS). ``quick`` shrinks the defaults to seconds (CI); explicit ``scenarios``,
    ``replicates`` and ``scan_replicates`` still win. ``runner`` replaces ewarn.detectors.temporal.run
    (tests); ``agreement`` = (names, k) adds a row alarming when at least k of those detectors alarm
    on a period (the daily job's ``ewarn_min_detectors`` rule); ``workers`` processes (default: the
    CPU count, one when ``quick``) are spawned, so the calling program's main module must be
    import-safe (``if __name__ == "__main__"``).
    """
    started = time.perf_counter()
    frequencies = ("weekly", "daily") if frequency == "both" else (frequency,)
    if any(f not in DESIGNS for f in frequencies):
        raise ValueError(f"frequency must be weekly, daily or both, not {frequency!r}")
    chosen = {name: dict(params or {}) for name, params in (detectors or dict.fromkeys(DETECTORS)).items()}
    numbers = tuple(scenarios or (QUICK_SCENARIOS if quick else SCENARIOS))
    unknown = sorted(set(numbers) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"unknown scenario number(s): {unknown}; there are {len(SCENARIOS)}")
    replicates = replicates or (QUICK_REPLICATES if quick else DEFAULT_REPLICATES)
    if scan_replicates is None:
        scan_replicates = QUICK_SCAN_REPLICATES if quick else DEFAULT_SCAN_REPLICATES

    tasks = []
    parameters: dict[str, dict] = {}
    for freq in frequencies:
        suited = {
            name: {**FREQUENCY_PARAMS[freq].get(name, {}), **params}
            for name, params in chosen.items()
            if name in FREQUENCY_DETECTORS[freq] or name not in DETECTORS
        }
        parameters[freq] = {name: dict(params) for name, params in suited.items()}
        if suited:
            rule = (tuple(agreement[0]), int(agreement[1])) if agreement else None
            tasks += [_Task(freq, number, replicates, seed, suited, runner, rule) for number in numbers]
    workers = workers or (1 if quick else os.cpu_count() or 1)  # quick: worker start-up would dominate
    if workers == 1 or len(tasks) == 1:
        results = [_run_task(task) for task in tasks]
    else:
        # Spawned, not forked: the caller may hold threads or a database connection.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
            results = list(pool.map(_run_task, tasks))

    totals: dict[tuple[str, str], Tally] = {}
    for task, tallies in zip(tasks, results, strict=True):
        for name, tally in tallies.items():
            totals[(task.frequency, name)] = totals.get((task.frequency, name), Tally()) + tally
    rows = [EvaluationRow(freq, name, _label(name), tally) for (freq, name), tally in totals.items()]
    if scan_replicates and "daily" in frequencies:  # the scan is a daily method: reported once, with them
        rows.append(evaluate_scan(replicates=scan_replicates, seed=seed))
    settings = {
        "scenarios": len(numbers) if len(numbers) > 8 else ",".join(map(str, numbers)),
        "replicates": replicates,
        "scan_replicates": scan_replicates,
        "seed": seed,
        "detectors": {  # what each detector ran with (over its defaults), so a table can be reproduced
            name: params for freq in frequencies for name, params in parameters[freq].items()
        }
        if len(frequencies) == 1
        else parameters,
    }
    return EvaluationReport(rows, frequency, settings, time.perf_counter() - started)


AGREEMENT = "agreement"


def _label(name: str) -> Any:
    if name == AGREEMENT:
        return _("Detectors agreeing (the daily job's rule)")
    return DETECTORS[name].label if name in DETECTORS else name


def _run_task(task: _Task) -> dict[str, Tally]:
    """Simulate one scenario and score every detector on it."""
    stream = np.random.SeedSequence(task.seed, spawn_key=(list(DESIGNS).index(task.frequency), task.scenario))
    simulated = simulate_noufaily(task.scenario, replicates=task.replicates, seed=stream, frequency=task.frequency)
    counts = simulated.counts.astype(float)
    start = simulated.evaluation_start
    outbreak = simulated.current[:, start:]
    runner = task.runner or run
    alarms = {
        name: np.vstack([_alarms(runner, name, series, params, start) for series in counts])
        for name, params in task.detectors.items()
    }
    tallies = {name: score(alarmed, outbreak) for name, alarmed in alarms.items()}
    if task.agreement:
        names, k = task.agreement
        voting = [alarms[name].astype(int) for name in names if name in alarms]
        if voting:
            tallies[AGREEMENT] = score(sum(voting) >= min(k, len(voting)), outbreak)
    return tallies


def _alarms(runner: Runner, name: str, series: np.ndarray, params: Mapping[str, Any], start: int) -> np.ndarray:
    """The detector's alarms on ``series[start:]``, each day judged as the daily job would judge it."""
    if name not in STANDING:
        return runner(name, series, params, start).alarm[start:]
    return np.array([runner(name, series[: t + 1], params, t).alarm[t] for t in range(start, series.size)])
