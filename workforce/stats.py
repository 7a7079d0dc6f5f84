"""Days on duty and hours, computed set-based: continuous days on duty per worker (gaps and islands
over the duty days, in numpy), hours in the last 7 days (one GROUP BY), and the same figures
aggregated per grid, community or street with the workers over the policy's limits counted
(``duty_max_consecutive_days``: Labour Law art. 38; ``duty_max_weekly_hours``: State Council decree
174; see workforce.policy)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db.models import Max, QuerySet, Sum

from core.policy import policy
from workforce.models import DutyDay, Worker

WINDOW_DAYS = 42  # streaks are counted back this far; a longer one shows as "at least"
EPOCH = dt.date(1970, 1, 1)


def _ordinal(day: dt.date) -> int:
    return (day - EPOCH).days


@dataclass(frozen=True)
class Streaks:
    """Per worker id: the run of duty days ending on ``as_of``, and the longest run in the window."""

    as_of: dt.date
    current: dict[int, int]
    longest: dict[int, int]


def streaks(worker_ids: Iterable[int] | QuerySet, as_of: dt.date, window_days: int = WINDOW_DAYS) -> Streaks:
    """Gaps and islands: a run starts wherever the worker changes or a day is not the day after the
    previous one; a day with 0 hours is a day off. One query, then numpy over the rows."""
    rows = np.array(
        DutyDay.objects.filter(
            worker_id__in=worker_ids, hours__gt=0, day__gt=as_of - dt.timedelta(days=window_days), day__lte=as_of
        )
        .order_by("worker_id", "day")
        .values_list("worker_id", "day"),
        dtype=object,
    )
    if len(rows) == 0:
        return Streaks(as_of, {}, {})
    workers = rows[:, 0].astype(np.int64)
    days = np.array(rows[:, 1].tolist(), dtype="datetime64[D]").astype(np.int64)
    starts = np.ones(len(days), dtype=bool)
    starts[1:] = (workers[1:] != workers[:-1]) | (days[1:] != days[:-1] + 1)
    run_id = np.cumsum(starts) - 1
    run_length = np.bincount(run_id)
    run_worker = workers[starts]
    run_end = days[np.r_[np.flatnonzero(starts)[1:] - 1, len(days) - 1]]
    current = {
        int(w): int(n) for w, n, end in zip(run_worker, run_length, run_end, strict=True) if end == _ordinal(as_of)
    }
    longest: dict[int, int] = {}
    order = np.lexsort((run_length, run_worker))  # per worker, the longest run last
    for w, n in zip(run_worker[order], run_length[order], strict=True):
        longest[int(w)] = int(n)
    return Streaks(as_of, current, longest)


def week_hours(worker_ids: Iterable[int] | QuerySet, as_of: dt.date) -> dict[int, float]:
    """Hours on duty in the 7 days ending on ``as_of``, per worker (one GROUP BY)."""
    rows = (
        DutyDay.objects.filter(worker_id__in=worker_ids, day__gt=as_of - dt.timedelta(days=7), day__lte=as_of)
        .values("worker_id")
        .annotate(total=Sum("hours"))
        .values_list("worker_id", "total")
    )
    return {worker_id: float(total or 0) for worker_id, total in rows}


def latest_day(workers: QuerySet[Worker]) -> dt.date | None:
    """The last day with duty recorded for these workers: what the figures are 'as of'."""
    return DutyDay.objects.filter(worker__in=workers).aggregate(last=Max("day"))["last"]


@dataclass
class WorkerDuty:
    worker: Worker
    streak: int
    longest: int
    week_hours: float
    over_days: bool
    over_hours: bool

    @property
    def over(self) -> bool:
        return self.over_days or self.over_hours


def duty_of(workers: list[Worker], as_of: dt.date) -> list[WorkerDuty]:
    """Each worker's streak, longest run and week's hours, flagged against the policy's limits."""
    rules = policy()
    ids = [w.pk for w in workers]
    runs = streaks(ids, as_of)
    hours = week_hours(ids, as_of)
    out = []
    for w in workers:
        streak, week = runs.current.get(w.pk, 0), hours.get(w.pk, 0.0)
        out.append(
            WorkerDuty(
                worker=w,
                streak=streak,
                longest=runs.longest.get(w.pk, 0),
                week_hours=week,
                over_days=streak > rules.duty_max_consecutive_days,
                over_hours=week > rules.duty_max_weekly_hours,
            )
        )
    return out


@dataclass
class AreaDuty:
    area_id: int
    workers: int = 0
    over_days: int = 0
    over_hours: int = 0
    longest_streak: int = 0
    hours: float = 0.0

    @property
    def mean_week_hours(self) -> float:
        return self.hours / self.workers if self.workers else 0.0


def by_area(workers: QuerySet[Worker], level: str, as_of: dt.date) -> dict[int, AreaDuty]:
    """The workers' figures summed per ``level`` (grid, community, street or district) they are posted in."""
    column = f"{level}_id"
    pairs = list(workers.filter(**{f"{column}__isnull": False}).values_list("pk", column))
    if not pairs:
        return {}
    ids = np.array([p[0] for p in pairs], dtype=np.int64)
    areas = np.array([p[1] for p in pairs], dtype=np.int64)
    runs = streaks(ids.tolist(), as_of)
    hours = week_hours(ids.tolist(), as_of)
    rules = policy()
    streak = np.array([runs.current.get(int(i), 0) for i in ids])
    week = np.array([hours.get(int(i), 0.0) for i in ids])
    keys, index = np.unique(areas, return_inverse=True)
    counts = np.bincount(index)
    over_days = np.bincount(index, weights=streak > rules.duty_max_consecutive_days)
    over_hours = np.bincount(index, weights=week > rules.duty_max_weekly_hours)
    total_hours = np.bincount(index, weights=week)
    longest = np.zeros(len(keys), dtype=int)
    np.maximum.at(longest, index, streak)
    return {
        int(k): AreaDuty(int(k), int(n), int(od), int(oh), int(lo), float(h))
        for k, n, od, oh, lo, h in zip(keys, counts, over_days, over_hours, longest, total_hours, strict=True)
    }
