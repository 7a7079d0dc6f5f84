"""The daily run (issue #9, item 2): every enabled detector over every series of the policy's
levels, and the space-time permutation scan over the communities, for one day.

Series are read once per signal and level as a matrix (ewarn.signals.read_series); each detector
judges only the day asked (``start`` = the last column), so the cost is one pass per series. What
alarms becomes a :class:`Finding`; ewarn.services turns findings into alerts and tasks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from core.imports.sql import fetch
from core.policy import DEFAULTS, policy
from ewarn.choices import AlertKind, Signal
from ewarn.detectors.base import Detection
from ewarn.detectors.scan import space_time_permutation_scan
from ewarn.detectors.temporal import DETECTORS, min_history, run
from ewarn.signals import Series, read_series

EVIDENCE_DAYS = 60  # the stretch of series an alert carries, to draw it beside its expected values
# CIDARS judges a moving 7-day total, the others the day's count: an alert reports the first alarmed
# detector in this order, so its observed and expected figures are a day's whenever possible
PRIMARY_ORDER = ("farrington", "ears_c1", "ears_c2", "ears_c3", "cusum", "cidars")


@dataclass
class Finding:
    """One alarm, ready to become (or join) an alert."""

    signal: str
    kind: str
    area_id: int
    level: str
    day: dt.date
    detectors: list[str]
    observed: float
    expected: float
    threshold: float | None = None
    p_value: float | None = None
    communities: list[int] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)


@dataclass
class RunResult:
    day: dt.date
    findings: list[Finding]
    series: int
    alarms: int
    seconds: dict[str, float]


def detector_settings(configured: Mapping[str, Mapping] | None = None) -> dict[str, dict]:
    """The policy's enabled detectors with their parameters; a name the registry does not know is a
    policy error worth stopping for, not a detector to skip quietly."""
    configured = policy().ewarn_detectors if configured is None else configured
    unknown = sorted(set(configured) - set(DETECTORS))
    if unknown:
        raise ValueError(f"ewarn_detectors: unknown detector(s) {', '.join(unknown)}; known: {', '.join(DETECTORS)}")
    return {name: dict(params or {}) for name, params in configured.items()}


def areas(level: str) -> tuple[np.ndarray, dict[int, int | None]]:
    """Sorted ids of the divisions of ``level``, and each one's district (itself for a district)."""
    rows = fetch("SELECT id, district_id FROM geo_division WHERE level = %s ORDER BY id", [level])
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, {r[0]: (r[0] if level == "district" else r[1]) for r in rows}


def community_centroids() -> tuple[np.ndarray, np.ndarray]:
    """Communities with a known place (the mean of their compounds' coordinates): ids and [lat, lon]."""
    rows = fetch(
        "SELECT community_id, AVG(lat), AVG(lon) FROM geo_compound "
        "WHERE community_id IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL "
        "GROUP BY community_id ORDER BY community_id"
    )
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, np.array([[r[1], r[2]] for r in rows], dtype=float).reshape(-1, 2)


def _listed(values: np.ndarray) -> list[float | None]:
    return [round(float(v), 3) if np.isfinite(v) else None for v in values]


def _history_days(settings: Mapping[str, dict]) -> int:
    return max([min_history(name, params) for name, params in settings.items()] + [EVIDENCE_DAYS]) + 30


def judge_series(counts: np.ndarray, settings: Mapping[str, dict], start: int | None = None) -> dict[str, Detection]:
    """Each enabled detector's verdict on ``counts`` from ``start`` (default: the last day only)."""
    start = len(counts) - 1 if start is None else start
    return {name: run(name, counts, params, start=start) for name, params in settings.items()}


def _per_day(name: str, params: Mapping, values: np.ndarray) -> np.ndarray:
    """A detector's figures as a day's count: CIDARS's 7-day totals divided by the window."""
    return values / params.get("window", 7) if name == "cidars" else values


def _evidence(series: Series, row: int, settings: Mapping[str, dict], alarmed: Iterable[str]) -> dict:
    counts = series.counts[row]
    start = max(0, len(counts) - EVIDENCE_DAYS)
    verdicts = judge_series(counts, {name: settings[name] for name in alarmed}, start=start)
    return {
        "first_day": series.day(start).isoformat(),
        "observed": _listed(counts[start:]),
        "detectors": {
            name: {
                "expected": _listed(_per_day(name, settings[name], v.expected[start:])),
                "threshold": _listed(_per_day(name, settings[name], v.threshold[start:])),
                "alarms": [int(i) for i in np.flatnonzero(v.alarm[start:])],
                "per_day_of": settings[name].get("window", 7) if name == "cidars" else 1,
            }
            for name, v in verdicts.items()
        },
    }


def temporal_findings(
    day: dt.date, settings: Mapping[str, dict], levels: Iterable[str], min_detectors: int = 1
) -> tuple[list[Finding], int]:
    """Alarms of the temporal detectors on ``day``: a series alarms when at least ``min_detectors``
    of them agree (or all of them, when fewer run). Within a district the alarms of one signal
    make one finding: at the district when its own series alarms (its alarmed streets listed in
    the evidence), else one per alarmed area below it. Returns the findings and the series judged."""
    history = _history_days(settings)
    first = day - dt.timedelta(days=history - 1)
    findings: list[Finding] = []
    judged = 0
    order = {name: i for i, name in enumerate(PRIMARY_ORDER)}
    placed = {level: areas(level) for level in levels}  # the same areas for every signal
    for signal in Signal.values:
        alarmed: list[tuple[str, int, int, Series, list[str], Detection]] = []
        for level in levels:
            ids, district_of = placed[level]
            if not len(ids):
                continue
            series = read_series(signal, level, first, day, ids)
            for row in np.flatnonzero(~np.isnan(series.counts[:, -1])):
                judged += 1
                verdicts = judge_series(series.counts[row], settings)
                names = sorted((n for n, v in verdicts.items() if v.alarm[-1]), key=lambda n: order.get(n, len(order)))
                if names and len(names) >= min(min_detectors, len(settings)):
                    area = int(ids[row])
                    alarmed.append((level, area, district_of.get(area) or area, series, names, verdicts[names[0]]))
        districts_alarmed = {area for level, area, *_ in alarmed if level == "district"}
        below: dict[int, list[int]] = {}
        for level, area, district, *_ in alarmed:
            if level != "district" and district in districts_alarmed:
                below.setdefault(district, []).append(area)
        for level, area, district, series, names, primary in alarmed:
            if level != "district" and district in districts_alarmed:
                continue
            row = int(np.searchsorted(series.division_ids, area))
            evidence = _evidence(series, row, settings, names)
            evidence["areas_below"] = below.get(area, [])
            observed = primary.statistic[-1] if names[0] == "cidars" else series.counts[row, -1]
            evidence["primary"] = {"detector": names[0], "window_days": evidence["detectors"][names[0]]["per_day_of"]}
            findings.append(
                Finding(
                    signal=signal,
                    kind=AlertKind.TEMPORAL,
                    area_id=area,
                    level=level,
                    day=day,
                    detectors=names,
                    observed=float(observed),
                    expected=float(primary.expected[-1]) if np.isfinite(primary.expected[-1]) else 0.0,
                    threshold=float(primary.threshold[-1]) if np.isfinite(primary.threshold[-1]) else None,
                    evidence=evidence,
                )
            )
    return findings, judged


def _seed(day: dt.date, signal: str) -> int:
    """The same day and signal always draw the same permutations, so a re-run gives the same p-value."""
    return int.from_bytes(hashlib.sha256(f"{day.isoformat()}:{signal}".encode()).digest()[:8], "little")


def cluster_findings(day: dt.date, scan: Mapping[str, float]) -> list[Finding]:
    """The most likely space-time cluster of each signal among the communities, when its Monte-Carlo
    p-value is at most the policy's ``max_p``."""
    ids, coordinates = community_centroids()
    if len(ids) < 2:
        return []
    window = int(scan["window_days"])
    first = day - dt.timedelta(days=window - 1)
    findings = []
    for signal in Signal.values:
        series = read_series(signal, "community", first, day, ids)
        if np.isnan(series.counts[:, -1]).all():
            continue
        cases = np.nan_to_num(series.counts).astype(np.int64)
        result = space_time_permutation_scan(
            cases,
            coordinates,
            max_days=int(scan["max_days"]),
            max_share=float(scan["max_share"]),
            replications=int(scan["replications"]),
            max_neighbours=int(scan.get("max_neighbours", 0)) or None,
            stop_after=int(scan.get("stop_after", 0)) or None,
            seed=_seed(day, signal),
        )
        if result is None or result.p_value > float(scan["max_p"]):
            continue
        where = np.asarray(result.locations, dtype=np.int64)
        members = [int(i) for i in ids[where]]
        days = int(result.days)
        findings.append(
            Finding(
                signal=signal,
                kind=AlertKind.CLUSTER,
                area_id=members[0],
                level="community",
                day=day,
                detectors=["scan"],
                observed=float(result.observed),
                expected=float(result.expected),
                p_value=float(result.p_value),
                communities=members,
                evidence={
                    "first_day": first.isoformat(),
                    "cluster_days": days,
                    "llr": round(float(result.llr), 3),
                    "observed": _listed(cases[where].sum(axis=0).astype(float)),
                    "by_community": {
                        str(ids[i]): {
                            "observed": int(cases[i, -days:].sum()),
                            "window": int(cases[i].sum()),
                        }
                        for i in where
                    },
                },
            )
        )
    return findings


def run_day(day: dt.date) -> RunResult:
    """Judge ``day``: the temporal detectors over the policy's levels, then the scan."""
    current = policy()
    settings = detector_settings(current.ewarn_detectors)
    started = time.perf_counter()
    findings, judged = temporal_findings(day, settings, current.ewarn_levels, int(current.ewarn_min_detectors))
    temporal_seconds = time.perf_counter() - started
    # a partial edit of the scan's settings keeps the defaults of the keys it leaves out
    clusters = cluster_findings(day, {**DEFAULTS["ewarn_scan"].default, **current.ewarn_scan})
    return RunResult(
        day=day,
        findings=findings + clusters,
        series=judged,
        alarms=len(findings) + len(clusters),
        seconds={"temporal": temporal_seconds, "scan": time.perf_counter() - started - temporal_seconds},
    )
