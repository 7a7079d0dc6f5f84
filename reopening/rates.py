"""Resumption rates (issue #12 item 1): the share of units open and the share of staff back, by
district, street or sector, for any day, and as a daily series.

Computed set-based from the history: one query for the units, one for their status changes up to
the last day, one for their staff reports; numpy then carries each unit's latest status and latest
report forward across the days (a units × days matrix) and sums by group. A unit counts from the
day it was registered; before its first recorded change it is closed. Staff back counts at units
open that day (the latest report on or before the day, at most the unit's staff), over the staff
of every unit counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from core.moments import local_bounds
from geo.models import Division
from reopening.choices import RateLevel, Sector, UnitStatus
from reopening.models import StaffReport, Unit, UnitStatusChange

GROUP_COLUMN = {
    RateLevel.CITY: None,
    RateLevel.DISTRICT: "district_id",
    RateLevel.STREET: "street_id",
    RateLevel.SECTOR: "sector",
}


@dataclass(frozen=True)
class Rate:
    """One group on one day."""

    key: str
    label: str
    units: int
    open: int
    staff: int
    staff_back: int

    @property
    def open_share(self) -> float | None:
        return self.open / self.units if self.units else None

    @property
    def staff_share(self) -> float | None:
        return self.staff_back / self.staff if self.staff else None

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "units": self.units,
            "open": self.open,
            "staff": self.staff,
            "staff_back": self.staff_back,
            "open_share": self.open_share,
            "staff_share": self.staff_share,
        }


@dataclass
class Series:
    """Per group, per day: counts as arrays (group order as ``keys``)."""

    days: list[dt.date]
    keys: list[str]
    labels: list[str]
    units: np.ndarray  # groups × days
    open: np.ndarray
    staff: np.ndarray
    staff_back: np.ndarray
    totals: dict = field(default_factory=dict)

    def rates_on(self, index: int) -> list[Rate]:
        return [
            Rate(
                key,
                label,
                int(self.units[g, index]),
                int(self.open[g, index]),
                int(self.staff[g, index]),
                int(self.staff_back[g, index]),
            )
            for g, (key, label) in enumerate(zip(self.keys, self.labels, strict=True))
        ]

    @staticmethod
    def share(part: np.ndarray, whole: np.ndarray) -> list[float | None]:
        return [None if w == 0 else round(float(p) / float(w), 4) for p, w in zip(part, whole, strict=True)]


def _labels(level: str, keys: list) -> list[str]:
    if level == RateLevel.CITY:
        return [str(RateLevel.CITY.label)]
    if level == RateLevel.SECTOR:
        names = dict(Sector.choices)
        return [str(names.get(k, k)) for k in keys]
    names = dict(Division.objects.filter(pk__in=[k for k in keys if k is not None]).values_list("pk", "name"))
    return [names.get(k, "—") for k in keys]


def _carry_forward(n: int, width: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, empty) -> np.ndarray:
    """An n × width matrix holding, in each column, the value of the latest entry at or before it.

    ``rows``/``cols``/``values`` are entries in time order; column 0 stands for "before the first
    day" (entries earlier than the series). Cells with no entry yet hold ``empty``."""
    cell = rows * width + cols
    # the last entry of each cell wins: unique over the reversed order keeps the last occurrence
    _, last = np.unique(cell[::-1], return_index=True)
    keep = len(cell) - 1 - last
    grid = np.full(n * width, -1, dtype=np.int64)
    grid[cell[keep]] = keep
    grid = grid.reshape(n, width)
    # forward fill the entry index along the days
    index = np.where(grid >= 0, np.arange(width), 0)
    np.maximum.accumulate(index, axis=1, out=index)
    taken = np.take_along_axis(grid, index, axis=1)
    out = np.full((n, width), empty, dtype=values.dtype if len(values) else np.int64)
    filled = taken >= 0
    out[filled] = values[taken[filled]]
    return out


def resumption_series(
    level: str, first: dt.date, last: dt.date, *, units: QuerySet[Unit] | None = None, kind: str | None = None
) -> Series:
    """Daily counts from ``first`` to ``last`` (inclusive) by ``level`` (city, district, street or
    sector), over ``units`` (all by default; a user's visible units for a scoped view)."""
    if level not in GROUP_COLUMN:
        raise ValueError(f"unknown level {level!r}")
    if last < first:
        raise ValueError("last day before first day")
    qs = (units if units is not None else Unit.objects.all()).order_by("id")
    if kind:
        qs = qs.filter(kind=kind)
    column = GROUP_COLUMN[level]
    fields = ["id", "staff_count", "registered_on"] + ([column] if column else [])
    rows = list(qs.values_list(*fields))
    days = [first + dt.timedelta(days=i) for i in range(((last - first).days) + 1)]
    width = len(days) + 1
    if not rows:
        empty = np.zeros((0, len(days)), dtype=np.int64)
        return Series(days, [], [], empty, empty, empty, empty)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    staff = np.array([r[1] for r in rows], dtype=np.int64)
    registered = np.array([(r[2] - first).days for r in rows], dtype=np.int64)
    group_values = [r[3] for r in rows] if column else ["city"] * len(rows)
    keys = sorted(set(group_values), key=lambda k: (k is None, str(k)))
    group_index = {k: i for i, k in enumerate(keys)}
    group = np.array([group_index[v] for v in group_values], dtype=np.int64)
    position = {int(u): i for i, u in enumerate(ids)}
    _, end = local_bounds(last, last)
    tz = timezone.get_current_timezone()

    changes = list(
        UnitStatusChange.objects.filter(unit__in=qs.values("id"), at__lt=end)
        .order_by("at", "id")
        .values_list("unit_id", "at", "to_status")
    )
    codes = {s: i for i, s in enumerate(UnitStatus.values)}
    if changes:
        c_rows = np.array([position[u] for u, _at, _s in changes], dtype=np.int64)
        c_cols = np.clip([(at.astimezone(tz).date() - first).days + 1 for _u, at, _s in changes], 0, None)
        c_vals = np.array([codes[s] for _u, _at, s in changes], dtype=np.int64)
        status = _carry_forward(len(ids), width, c_rows, np.asarray(c_cols), c_vals, codes[UnitStatus.CLOSED])
    else:
        status = np.full((len(ids), width), codes[UnitStatus.CLOSED], dtype=np.int64)

    reports = list(
        StaffReport.objects.filter(unit__in=qs.values("id"), day__lte=last)
        .order_by("day", "id")
        .values_list("unit_id", "day", "staff_back")
    )
    if reports:
        r_rows = np.array([position[u] for u, _d, _b in reports], dtype=np.int64)
        r_cols = np.clip([(d - first).days + 1 for _u, d, _b in reports], 0, None)
        r_vals = np.array([b for _u, _d, b in reports], dtype=np.int64)
        back = _carry_forward(len(ids), width, r_rows, np.asarray(r_cols), r_vals, 0)
    else:
        back = np.zeros((len(ids), width), dtype=np.int64)

    status, back = status[:, 1:], back[:, 1:]
    counted = registered[:, None] <= np.arange(len(days))[None, :]
    is_open = counted & (status == codes[UnitStatus.OPEN])
    back = np.where(is_open, np.minimum(back, staff[:, None]), 0)

    def by_group(values: np.ndarray) -> np.ndarray:
        out = np.zeros((len(keys), len(days)), dtype=np.int64)
        np.add.at(out, group, values.astype(np.int64))
        return out

    return Series(
        days=days,
        keys=[str(k) for k in keys],
        labels=_labels(level, keys),
        units=by_group(counted),
        open=by_group(is_open),
        staff=by_group(counted * staff[:, None]),
        staff_back=by_group(back),
    )


def resumption(
    level: str, day: dt.date | None = None, *, units: QuerySet[Unit] | None = None, kind: str | None = None
) -> list[Rate]:
    """The rates on ``day`` (today by default) by ``level``: for the dashboard and the API."""
    day = day or timezone.localdate()
    return resumption_series(level, day, day, units=units, kind=kind).rates_on(0)
