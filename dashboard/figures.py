"""Reading the pre-aggregated figures: one area's figures for a day, its children's, and trends.
What the dashboard, its live feed and the daily report all use (so they agree)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dashboard.indicators import INDICATORS
from dashboard.models import Figure, Refresh
from geo.models import Division

CHILD_LEVEL = {"city": "district", "district": "street", "street": "community"}


def figures_for(area: Division, day: dt.date) -> dict[str, int]:
    """Every indicator of ``area`` on ``day`` (0 where nothing was counted)."""
    found = dict(Figure.objects.filter(division=area, day=day).values_list("indicator", "value"))
    return {code: int(found.get(code, 0)) for code in INDICATORS}


def children_figures(
    area: Division, day: dt.date, indicators: Iterable[str] | None = None
) -> dict[int, dict[str, int]]:
    """The same for each area one level below ``area`` (a community has none here): {division id: figures}."""
    child = CHILD_LEVEL.get(area.level)
    if child is None:
        return {}
    children = Division.objects.filter(parent=area, level=child).values_list("pk", flat=True)
    wanted = list(indicators or INDICATORS)
    rows = Figure.objects.filter(division_id__in=children, day=day, indicator__in=wanted)
    out: dict[int, dict[str, int]] = {pk: dict.fromkeys(wanted, 0) for pk in children}
    for division_id, indicator, value in rows.values_list("division_id", "indicator", "value"):
        out[division_id][indicator] = int(value)
    return out


def history(area: Division, indicators: Iterable[str], last: dt.date, days: int = 30) -> dict[str, list[int]]:
    """Each indicator of ``area`` for the ``days`` days up to ``last`` (oldest first)."""
    first = last - dt.timedelta(days=days - 1)
    wanted = list(indicators)
    series = {code: [0] * days for code in wanted}
    rows = Figure.objects.filter(division=area, indicator__in=wanted, day__gte=first, day__lte=last)
    for day, indicator, value in rows.values_list("day", "indicator", "value"):
        series[indicator][(day - first).days] = int(value)
    return series


def last_refresh(day: dt.date | None = None) -> Refresh | None:
    refreshes = Refresh.objects.all()
    if day is not None:
        refreshes = refreshes.filter(day=day)
    return refreshes.first()
