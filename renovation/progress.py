"""Progress of the programme against its yearly targets, by district (or street) and for the city,
set-based: one GROUP BY over the projects, one over the targets, one for the months.

Definitions (one place, used by the pages, the API and the dashboard):
- selected, planned, started, finished in year Y count the projects (cancelled ones excepted) whose
  step is dated in calendar year Y, the way the city reports "300 started and 265 finished in 2020";
  the monthly series are the same counts by month, cumulated;
- the budget and spending are those of the projects on year Y's list (Project.year = Y);
- a row is late when, with the share of the year elapsed (all of it for a past year), its starts or
  finishes are below that share of its targets, rounded down.
Targets are shown only for areas the user sees whole (a street's staff see no district target).
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractMonth
from django.utils import timezone

from core.scoping import jurisdiction_of, restrict
from geo.models import Division
from renovation.choices import ProjectStatus
from renovation.models import BUDGET_FIELDS, Programme, Project, YearTarget

LEVELS = ("district", "street")
STEP_DATES = {"selected": "selected_on", "planned": "planned_on", "started": "started_on", "finished": "finished_on"}


@dataclass
class AreaProgress:
    area_id: int | None
    code: str
    name: str
    selected: int = 0
    planned: int = 0
    started: int = 0
    finished: int = 0
    target_start: int | None = None
    target_finish: int | None = None
    target_budget: Decimal | None = None
    budget: Decimal = Decimal(0)
    spent: Decimal = Decimal(0)
    late: bool = False

    @staticmethod
    def _pct(n: int, target: int | None) -> int | None:
        return round(n * 100 / target) if target else None

    @property
    def started_pct(self) -> int | None:
        return self._pct(self.started, self.target_start)

    @property
    def finished_pct(self) -> int | None:
        return self._pct(self.finished, self.target_finish)

    @property
    def over_budget(self) -> bool:
        return self.spent > self.budget

    def as_dict(self) -> dict:
        return {
            "area_id": self.area_id,
            "code": self.code,
            "name": self.name,
            "selected": self.selected,
            "planned": self.planned,
            "started": self.started,
            "finished": self.finished,
            "target_start": self.target_start,
            "target_finish": self.target_finish,
            "target_budget": self.target_budget,
            "started_pct": self.started_pct,
            "finished_pct": self.finished_pct,
            "budget": self.budget,
            "spent": self.spent,
            "over_budget": self.over_budget,
            "late": self.late,
        }


@dataclass
class Progress:
    programme: Programme
    year: int
    level: str
    elapsed: float  # share of the year gone by, 0…1
    rows: list[AreaProgress] = field(default_factory=list)
    total: AreaProgress | None = None

    @property
    def late_rows(self) -> list[AreaProgress]:
        return [row for row in self.rows if row.late]


def current_programme() -> Programme | None:
    """The newest programme (the one the pages open on)."""
    return Programme.objects.order_by("-first_year", "-pk").first()


def default_year(programme: Programme, today: dt.date | None = None) -> int:
    """This year if the programme runs in it, else its nearest year."""
    year = (today or timezone.localdate()).year
    return min(max(year, programme.first_year), programme.last_year)


def elapsed_share(year: int, today: dt.date | None = None) -> float:
    today = today or timezone.localdate()
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if today > last:
        return 1.0
    if today < first:
        return 0.0
    return ((today - first).days + 1) / ((last - first).days + 1)


def _in_year(column: str, year: int) -> Q:
    return Q(**{f"{column}__gte": dt.date(year, 1, 1), f"{column}__lte": dt.date(year, 12, 31)})


def scoped_projects(user, programme: Programme) -> QuerySet[Project]:
    qs = Project.objects.filter(programme=programme)
    return qs if user is None else restrict(user, qs)


def _is_late(row: AreaProgress, elapsed: float) -> bool:
    if row.target_start is None and row.target_finish is None:
        return False
    return row.started < int((row.target_start or 0) * elapsed) or row.finished < int(
        (row.target_finish or 0) * elapsed
    )


def progress(
    year: int,
    level: str = "district",
    *,
    user=None,
    programme: Programme | None = None,
    today: dt.date | None = None,
) -> Progress | None:
    """Selected, planned, started and finished in ``year`` against the targets, per area of
    ``level`` ("district" or "street") and for the whole (the city, or what ``user`` may see).
    None when there is no programme. ``user`` None means the whole city (dashboard, jobs)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    programme = programme or current_programme()
    if programme is None:
        return None
    group = f"{level}_id"
    budget_sum = reduce(operator.add, (F(f) for f in BUDGET_FIELDS.values()))
    counts = {name: Count("id", filter=_in_year(column, year)) for name, column in STEP_DATES.items()}
    aggregates = (
        scoped_projects(user, programme)
        .exclude(status=ProjectStatus.CANCELLED)
        .values(group)
        .order_by(group)
        .annotate(
            **counts,
            budget=Sum(budget_sum, filter=Q(year=year)),
            spent=Sum("spent", filter=Q(year=year)),
        )
    )
    by_area = {row[group]: row for row in aggregates}
    areas = Division.objects.filter(level=level)
    if user is not None:
        areas = areas.filter(pk__in=set(by_area)) | restrict(user, Division.objects.filter(level=level))
    else:
        areas = areas | Division.objects.filter(pk__in=set(by_area))
    jurisdiction = jurisdiction_of(user) if user is not None else None
    whole = None if jurisdiction is None or jurisdiction.everything else jurisdiction.nodes.get("district", frozenset())
    targets = {t.district_id: t for t in YearTarget.objects.filter(programme=programme, year=year)}
    elapsed = elapsed_share(year, today)
    result = Progress(programme=programme, year=year, level=level, elapsed=elapsed)
    for area in areas.distinct().order_by("code"):
        data = by_area.get(area.pk, {})
        row = AreaProgress(
            area_id=area.pk,
            code=area.code,
            name=area.name,
            **{name: data.get(name, 0) for name in STEP_DATES},
            budget=data.get("budget") or Decimal(0),
            spent=data.get("spent") or Decimal(0),
        )
        target = targets.get(area.pk) if level == "district" and (whole is None or area.pk in whole) else None
        if target is not None:
            row.target_start, row.target_finish, row.target_budget = target.to_start, target.to_finish, target.budget
        row.late = _is_late(row, elapsed)
        result.rows.append(row)
    total = AreaProgress(area_id=None, code="", name="")
    for row in result.rows:
        for name in (*STEP_DATES, "budget", "spent"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    city_target = targets.get(None)
    if jurisdiction is None or jurisdiction.everything:
        total.area_id = Division.objects.filter(level="city").values_list("pk", flat=True).first()
        if city_target is not None:
            total.target_start, total.target_finish = city_target.to_start, city_target.to_finish
            total.target_budget = city_target.budget
    if total.target_start is None and any(r.target_start is not None for r in result.rows):
        total.target_start = sum(r.target_start or 0 for r in result.rows)
        total.target_finish = sum(r.target_finish or 0 for r in result.rows)
        total.target_budget = sum((r.target_budget or Decimal(0) for r in result.rows), Decimal(0))
    total.late = _is_late(total, elapsed)
    result.total = total
    return result


def monthly(
    year: int, *, user=None, programme: Programme | None = None, district: Division | None = None
) -> dict[str, list[int]]:
    """Cumulative starts and finishes by month of ``year`` (12 values each), for the user's area or
    one district of it."""
    programme = programme or current_programme()
    started, finished = [0] * 12, [0] * 12
    if programme is None:
        return {"started": started, "finished": finished}
    qs = scoped_projects(user, programme).exclude(status=ProjectStatus.CANCELLED)
    if district is not None:
        qs = qs.filter(district=district)
    for series, column in ((started, "started_on"), (finished, "finished_on")):
        rows = (
            qs.filter(_in_year(column, year))
            .annotate(month=ExtractMonth(column))
            .values("month")
            .order_by("month")
            .annotate(n=Count("id"))
        )
        for row in rows:
            series[row["month"] - 1] = row["n"]
        running = 0
        for i, n in enumerate(series):
            running += n
            series[i] = running
    return {"started": started, "finished": finished}


def behind(progress_: Progress, *, user=None, limit: int = 200) -> QuerySet[Project]:
    """The projects behind the late areas: on the year's list or earlier, not finished yet, least
    advanced first."""
    ids = [row.area_id for row in progress_.late_rows]
    qs = (
        scoped_projects(user, progress_.programme)
        .filter(**{f"{progress_.level}_id__in": ids}, year__lte=progress_.year)
        .filter(status__in=(ProjectStatus.SELECTED, ProjectStatus.PLANNED, ProjectStatus.STARTED))
        .select_related("compound", "district", "street")
    )
    order = {ProjectStatus.SELECTED: 0, ProjectStatus.PLANNED: 1, ProjectStatus.STARTED: 2}
    rank = Case(*(When(status=s, then=Value(v)) for s, v in order.items()), output_field=IntegerField())
    return qs.annotate(rank=rank).order_by("district__code", "rank", "year", "compound__code")[:limit]
