"""Prospective space-time permutation scan (Kulldorff et al., PLoS Med 2005; shared/early-warning.md).

Finds the circle of neighbouring locations whose cases over the last few days exceed what the
location totals and the day totals predict, without a population denominator, and judges it
against the same maximum over tables whose case days are permuted (the margins stay fixed).

Why it is fast enough for a daily run over thousands of communities:

* the expected count of a cylinder factorises, μ = A·S_D/C (A: the circle's cases in the window,
  S_D: all cases in the last D days), and both factors are the same in every permuted table, so
  only the observed count changes between replications;
* the Poisson likelihood ratio grows with the observed count when it exceeds μ, so a replication
  beats a level λ exactly when some cylinder's count reaches the smallest integer whose ratio is
  at least λ. Those integer thresholds are computed once; each replication is then additions and
  integer comparisons (no logarithms), over circles grown one neighbour at a time;
* replications run in batches that share one pass over the circles, on a few threads (numpy
  releases the GIL in these loops); each batch has its own random stream spawned from ``seed``,
  so the result does not depend on the number of threads.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from django.utils.translation import gettext_lazy as _

LABEL = _("Space-time permutation scan")

KM_PER_DEGREE = 111.2  # mean great-circle km per degree of latitude; longitude scaled by cos(latitude)
BATCH = 16  # replications sharing one pass over the circles
CHUNK_CELLS = 4_000_000  # cylinders evaluated at once on the observed table (bounds memory)


@dataclass(frozen=True)
class ScanResult:
    """A space-time cluster: a circle of locations over the last ``days`` days, ending today.

    ``locations`` are row indices of ``cases``, the centre first and then by distance from it.
    ``p_value`` comes from the rank of ``llr`` among the maxima of the permuted tables;
    ``recurrence_days`` is 1/p, how often a cluster this unusual would arise by chance if the scan
    runs daily (SaTScan's recurrence interval). ``secondary`` holds the next clusters that share no
    location with this one or each other, judged against the same maxima.
    """

    locations: tuple[int, ...]
    days: int
    observed: int
    expected: float
    llr: float
    p_value: float
    recurrence_days: float
    centre: int
    radius_km: float
    secondary: tuple[ScanResult, ...] = ()

    @property
    def relative_risk(self) -> float:
        return self.observed / self.expected


def space_time_permutation_scan(
    cases: np.ndarray,
    coordinates: np.ndarray,
    *,
    max_days: int = 7,
    max_share: float = 0.5,
    max_neighbours: int | None = None,
    replications: int = 999,
    seed: int | None = None,
    min_cases: int = 3,
    max_secondary: int = 0,
    stop_after: int | None = None,
    workers: int | None = None,
) -> ScanResult | None:
    """Scan ``cases`` [locations, days] (the study window, the last column being today).

    ``coordinates`` are [locations, 2] latitude and longitude in degrees; distances are
    equirectangular, exact enough within a city. Circles are centred on each location and grow by
    its nearest neighbours (ties in distance broken by row order) while they hold at most
    ``max_share`` of the window's cases and at most ``max_neighbours`` neighbours besides the
    centre; cylinders are those circles × the last D days, D = 1..``max_days``. A cylinder counts
    only with more cases than expected and at least ``min_cases`` of them.

    Returns None when no cylinder qualifies (no cases, or none in excess: one location, all cases
    on one day …). ``max_secondary`` extra non-overlapping clusters are reported with their own
    p-values (each needs one more comparison per cylinder and replication). ``stop_after`` = h
    stops the replications once h of them beat the cluster (a sequential p-value, valid too, never
    below h/replications; most days nothing is unusual and the scan then ends early). ``workers``
    threads run the replications (default: the CPU count, at most 4); the result does not depend
    on it.

    The cost is locations × circles per centre × ``max_days`` per replication. With ``max_share``
    alone, circles reach half the locations when cases are spread evenly: 3,000 communities take
    ~15–20 s a signal on 2 cores, against ~2 s with ``max_neighbours=100``
    (benchmarks/bench_ewarn_scan.py).
    """
    cases = np.asarray(cases)
    coordinates = np.asarray(coordinates, dtype=float)
    if cases.ndim != 2 or coordinates.shape != (cases.shape[0], 2):
        raise ValueError("cases must be [locations, days] and coordinates [locations, 2]")
    if replications < 1 or not 0 < max_share <= 1 or max_days < 1:
        raise ValueError("replications and max_days must be positive and max_share in (0, 1]")
    if np.any(cases < 0):
        raise ValueError("case counts cannot be negative")
    cases = cases.astype(np.int64)
    total = int(cases.sum())
    if total == 0:
        return None

    geometry = _Geometry.build(cases, coordinates, max_days, max_share, max_neighbours)
    if geometry is None:
        return None
    best = geometry.best_per_centre(min_cases)
    clusters = _non_overlapping(best, geometry, 1 + max_secondary)
    if not clusters:
        return None

    levels = np.array([llr for llr, *_ in clusters])
    p_values = _Replicator(geometry, levels, min_cases).p_values(replications, seed, workers, stop_after)
    found = [geometry.result(centre, k, d, llr, p) for (llr, centre, k, d), p in zip(clusters, p_values, strict=True)]
    primary, *others = found
    return replace(primary, secondary=tuple(others))


def poisson_llr(observed: np.ndarray, expected: np.ndarray, total: int) -> np.ndarray:
    """Kulldorff's Poisson log likelihood ratio, 0 where the cylinder has no excess.

    c·log(c/μ) + (C−c)·log((C−c)/(C−μ)) for c > μ, with 0·log 0 = 0.
    """
    c = np.asarray(observed, dtype=float)
    mu = np.asarray(expected, dtype=float)
    rest = total - c
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = c * np.log(c / mu)
        outside = np.where(rest > 0, rest * np.log(rest / (total - mu)), 0.0)
        value = inside + outside
    return np.where(c > mu, value, 0.0)


@dataclass
class _Geometry:
    """Everything the replications share: circles, their case totals, and the day totals."""

    order: np.ndarray  # [L, K] neighbour rows of each centre, nearest first (centre itself first)
    distance_km: np.ndarray  # [L, K]
    sizes: np.ndarray  # [L] circles per centre (a prefix of its row of ``order``)
    circle_cases: np.ndarray  # [L, K] window cases inside circle (i, k): A
    recent: np.ndarray  # [L, D] observed cases of each location in the last d+1 days
    day_totals: np.ndarray  # [D] all cases in the last d+1 days: S
    case_location: np.ndarray  # [C] the location of each case, by location
    case_slot: np.ndarray  # [C] days before today of each case, ascending days (today last)
    total: int

    @classmethod
    def build(
        cls,
        cases: np.ndarray,
        coordinates: np.ndarray,
        max_days: int,
        max_share: float,
        max_neighbours: int | None,
    ) -> _Geometry | None:
        locations, days = cases.shape
        horizon = min(max_days, days)
        total = int(cases.sum())
        location_totals = cases.sum(axis=1)
        limit = locations if max_neighbours is None else min(locations, max_neighbours + 1)
        order, distance = _neighbours(coordinates, limit)
        circle_cases = np.cumsum(location_totals[order], axis=1)
        sizes = (circle_cases <= max_share * total).sum(axis=1)  # A grows with k, so this is a prefix
        widest = int(sizes.max())
        if widest == 0:
            return None
        recent = np.cumsum(cases[:, days - horizon :][:, ::-1], axis=1)
        day_of_case = np.repeat(np.arange(days), cases.sum(axis=0))
        return cls(
            order=order[:, :widest],
            distance_km=distance[:, :widest],
            sizes=sizes,
            circle_cases=circle_cases[:, :widest],
            recent=recent,
            day_totals=recent.sum(axis=0),
            case_location=np.repeat(np.arange(locations), location_totals),
            case_slot=(days - 1) - day_of_case,
            total=total,
        )

    @property
    def horizon(self) -> int:
        return self.recent.shape[1]

    def chunks(self) -> list[slice]:
        """Centre ranges small enough to hold their cylinders in memory at once."""
        locations, widest = self.order.shape
        step = max(1, CHUNK_CELLS // (widest * self.horizon))
        return [slice(start, min(start + step, locations)) for start in range(0, locations, step)]

    def expected(self, rows: slice) -> np.ndarray:
        """μ of every cylinder of the centres in ``rows``: [centres, K, D]."""
        return self.circle_cases[rows, :, None] * self.day_totals[None, None, :] / self.total

    def valid(self, rows: slice) -> np.ndarray:
        return np.arange(self.order.shape[1])[None, :, None] < self.sizes[rows, None, None]

    def best_per_centre(self, min_cases: int) -> list[tuple[float, int, int, int]]:
        """(llr, centre, k, d) of each centre's best cylinder with an excess, best first."""
        found = []
        for rows in self.chunks():
            observed = np.cumsum(self.recent[self.order[rows]], axis=1)
            llr = poisson_llr(observed, self.expected(rows), self.total)
            llr = np.where(self.valid(rows) & (observed >= min_cases), llr, 0.0)
            flat = llr.reshape(llr.shape[0], -1)
            where = flat.argmax(axis=1)
            for offset, (value, cell) in enumerate(zip(flat[np.arange(len(where)), where], where, strict=True)):
                if value > 0:
                    k, d = divmod(int(cell), self.horizon)
                    found.append((float(value), rows.start + offset, k, d))
        found.sort(key=lambda item: (-item[0], item[1]))
        return found

    def thresholds(self, levels: np.ndarray, min_cases: int, centres: np.ndarray, dtype: type) -> np.ndarray:
        """Smallest count at which each cylinder's ratio reaches each level: [J, K, L, D] of
        ``dtype``, the centres in the order ``centres``.

        μ depends only on the circle's window cases A and on D, so the counts are found once per
        distinct A (bisection on the integers; the ratio grows with the count) and looked up.
        The dtype's maximum where a cylinder cannot get there (at most min(A, S_D) cases fit in
        it) or is not a circle of its centre: no count reaches it.
        """
        values, index = np.unique(self.circle_cases, return_inverse=True)
        mu = values[:, None] * self.day_totals[None, :] / self.total
        cap = np.minimum(values[:, None], self.day_totals[None, :]).astype(float)
        low = np.maximum(np.floor(mu) + 1, min_cases)
        never = np.iinfo(dtype).max
        table = np.full((len(levels), len(values) + 1, self.horizon), never, dtype=dtype)  # last row: no circle
        for j, level in enumerate(levels):
            reachable = (cap >= low) & (poisson_llr(cap, mu, self.total) >= level)
            lo, hi = low.copy(), cap.copy()
            while (open_ := reachable & (lo < hi)).any():
                mid = np.floor((lo + hi) / 2)
                enough = poisson_llr(mid, mu, self.total) >= level
                hi = np.where(open_ & enough, mid, hi)
                lo = np.where(open_ & ~enough, mid + 1, lo)
            table[j, :-1][reachable] = np.minimum(lo[reachable], never)
        index = np.where(self.valid(slice(None))[:, :, 0], index.reshape(self.circle_cases.shape), len(values))
        return table[:, index[centres].T, :]

    def result(self, centre: int, k: int, d: int, llr: float, p_value: float) -> ScanResult:
        members = self.order[centre, : k + 1]
        expected = float(self.circle_cases[centre, k] * self.day_totals[d] / self.total)
        return ScanResult(
            locations=tuple(int(m) for m in members),
            days=d + 1,
            observed=int(self.recent[members, d].sum()),
            expected=expected,
            llr=llr,
            p_value=float(p_value),
            recurrence_days=float(1 / p_value),
            centre=centre,
            radius_km=float(self.distance_km[centre, k]),
        )


def _neighbours(coordinates: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Each location's ``limit`` nearest locations (itself first) and their distances in km."""
    lat = np.radians(coordinates[:, 0])
    x = coordinates[:, 1] * np.cos(lat.mean()) * KM_PER_DEGREE
    y = coordinates[:, 0] * KM_PER_DEGREE
    squared = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    np.fill_diagonal(squared, -1.0)  # the centre comes first even beside a twin location
    if limit < len(x):
        part = np.argpartition(squared, limit - 1, axis=1)[:, :limit]
        near = np.take_along_axis(squared, part, axis=1)
        order = np.take_along_axis(part, np.argsort(near, axis=1, kind="stable"), axis=1)
    else:
        order = np.argsort(squared, axis=1, kind="stable")
    distance = np.sqrt(np.maximum(np.take_along_axis(squared, order, axis=1), 0.0))
    return order, distance


def _non_overlapping(
    best: list[tuple[float, int, int, int]], geometry: _Geometry, wanted: int
) -> list[tuple[float, int, int, int]]:
    """The best cylinders, each sharing no location with those kept before it (SaTScan's
    'no geographical overlap'), from the best cylinder of every centre."""
    kept: list[tuple[float, int, int, int]] = []
    used: set[int] = set()
    for llr, centre, k, d in best:
        members = set(geometry.order[centre, : k + 1].tolist())
        if members & used:
            continue
        kept.append((llr, centre, k, d))
        used |= members
        if len(kept) == wanted:
            break
    return kept


class _Replicator:
    """The permutation test: which permuted tables have a cylinder reaching each level."""

    def __init__(self, geometry: _Geometry, levels: np.ndarray, min_cases: int) -> None:
        self.geometry = geometry
        self.levels = levels
        # Counts never exceed the recent cases, so 16 bits usually do, and halve the memory traffic.
        self.dtype = np.int16 if geometry.day_totals[-1] < np.iinfo(np.int16).max else np.int32
        by_size = np.argsort(-geometry.sizes, kind="stable")  # centres with the most circles first
        # [J, K, L, D]; the levels lowered a hair so that a tie is not lost to rounding
        self.threshold = geometry.thresholds(levels * (1 - 1e-9), min_cases, by_size, self.dtype)
        self.order = np.ascontiguousarray(geometry.order[by_size].T)  # [K, L]: the k-th neighbour of each
        sizes = geometry.sizes[by_size]
        self.active = [int((sizes > k).sum()) for k in range(self.order.shape[0])]
        self.before = geometry.total - int(geometry.day_totals[-1])  # cases before the scanned days

    def permuted(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` tables of recent cases [L, size, D] (cumulated over days) with the case days
        permuted: the locations of the cases are shuffled against their fixed, sorted days, which
        keeps every location's and every day's total."""
        geometry = self.geometry
        locations, horizon = geometry.recent.shape
        slots = geometry.case_slot[self.before :]
        index = np.concatenate(
            [(rng.permutation(geometry.case_location)[self.before :] * size + b) * horizon + slots for b in range(size)]
        )
        per_day = np.bincount(index, minlength=locations * size * horizon).reshape(locations, size, horizon)
        return np.cumsum(per_day, axis=2, dtype=self.dtype)

    def beats(self, recent: np.ndarray) -> np.ndarray:
        """[J, B]: whether table b has a cylinder at or above level j; ``recent`` is [L, B, D]."""
        locations, size, horizon = recent.shape
        flat = recent.reshape(locations, size * horizon)
        running = np.zeros_like(recent)
        hit = np.zeros((len(self.levels), locations, size, horizon), dtype=bool)
        for k, rows in enumerate(self.active):
            if rows == 0:
                break
            running[:rows] += flat[self.order[k, :rows]].reshape(rows, size, horizon)
            for j in range(len(self.levels)):
                hit[j, :rows] |= running[:rows] >= self.threshold[j, k, :rows, None, :]
        return hit.any(axis=(1, 3))

    def p_values(self, replications: int, seed: int | None, workers: int | None, stop_after: int | None) -> np.ndarray:
        """Monte-Carlo p-value of each level: (1 + tables reaching it) / (replications + 1), or,
        with ``stop_after`` = h, Besag & Clifford's sequential p-value h/l once the h-th table
        reaching the first (highest) level is table l (Biometrika 1991;78:301–304)."""
        counts = [min(BATCH, replications - start) for start in range(0, replications, BATCH)]
        streams = np.random.SeedSequence(seed).spawn(len(counts))
        threads = workers or min(os.cpu_count() or 1, 4)

        def batch(args: tuple[np.random.SeedSequence, int]) -> np.ndarray:
            stream, size = args
            return self.beats(self.permuted(np.random.default_rng(stream), size))

        done: list[np.ndarray] = []
        with ThreadPoolExecutor(max_workers=threads) as pool:
            jobs = list(zip(streams, counts, strict=True))
            for start in range(0, len(jobs), threads):
                done.extend(pool.map(batch, jobs[start : start + threads]))
                if stop_after and sum(int(d[0].sum()) for d in done) >= stop_after:
                    hits = np.concatenate(done, axis=1)
                    tables = np.argmax(np.cumsum(hits, axis=1) >= stop_after, axis=1) + 1
                    return stop_after / tables
        hits = np.concatenate(done, axis=1)
        return (1 + hits.sum(axis=1)) / (replications + 1)
