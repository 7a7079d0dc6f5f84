"""Read-side views of the workforce shared by the pages and the API: a plan's grid × day staffing
table and per-worker calendar, and training completion rates by area. Each is a few grouped
queries, whatever the size of the plan or the area."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from geo.models import Division
from workforce.choices import RosterState
from workforce.models import Completion, Course, PlanDay, RotationPlan, Worker


@dataclass
class GridRow:
    grid: Division
    minimum: int
    on_duty: list[int]

    @property
    def short_days(self) -> list[bool]:
        return [n < self.minimum for n in self.on_duty]

    @property
    def cells(self) -> list[tuple[int, bool]]:
        return list(zip(self.on_duty, self.short_days, strict=True))


@dataclass
class WorkerRow:
    worker: Worker
    states: list[str] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)

    @property
    def rest_days(self) -> int:
        return sum(1 for s in self.states if s == RosterState.REST)

    @property
    def longest_run(self) -> int:
        return max(self.runs, default=0)

    @property
    def cells(self) -> list[tuple[str, int]]:
        return list(zip(self.states, self.runs, strict=True))


@dataclass
class PlanTables:
    days: list[dt.date]
    grids: list[GridRow]
    workers: list[WorkerRow]

    @property
    def staffed_every_day(self) -> bool:
        return not any(any(row.short_days) for row in self.grids)

    @property
    def longest_run(self) -> int:
        return max((row.longest_run for row in self.workers), default=0)


def plan_tables(plan: RotationPlan) -> PlanTables:
    days = [plan.starts_on + dt.timedelta(days=d) for d in range(plan.days)]
    index = {day: i for i, day in enumerate(days)}
    minimums = {int(k): v for k, v in (plan.extra or {}).get("min_staff", {}).items()}
    grids = Division.objects.filter(pk__in=list(minimums)).order_by("code")
    rows = {g.pk: GridRow(g, minimums[g.pk], [0] * plan.days) for g in grids}
    counts = (
        PlanDay.objects.filter(plan=plan, state=RosterState.DUTY)
        .values("grid_id", "day")
        .annotate(n=Count("pk"))
        .values_list("grid_id", "day", "n")
    )
    for grid_id, day, n in counts:
        if grid_id in rows:
            rows[grid_id].on_duty[index[day]] = n
    workers: dict[int, WorkerRow] = {}
    for pd in (
        PlanDay.objects.filter(plan=plan).select_related("worker", "grid").order_by("grid__code", "worker__code", "day")
    ):
        row = workers.setdefault(pd.worker_id, WorkerRow(pd.worker))
        row.states.append(pd.state)
        row.runs.append(pd.run)
    return PlanTables(days, list(rows.values()), list(workers.values()))


@dataclass
class TrainingRow:
    area: Division
    workers: int
    completed: dict[int, int]  # course id -> workers who completed it

    def rate(self, course_id: int) -> float:
        return self.completed.get(course_id, 0) / self.workers if self.workers else 0.0


def training_rates(workers: QuerySet[Worker], level: str) -> tuple[list[Course], list[TrainingRow]]:
    """Per ``level`` area (street or community) the workers posted there and how many completed each course."""
    column = f"{level}_id"
    courses = list(Course.objects.order_by("code"))
    headcount = dict(
        workers.filter(**{f"{column}__isnull": False}).values(column).annotate(n=Count("pk")).values_list(column, "n")
    )
    done: dict[int, dict[int, int]] = {}
    for area_id, course_id, n in (
        Completion.objects.filter(worker__in=workers)
        .values(f"worker__{column}", "course_id")
        .annotate(n=Count("pk", filter=Q(worker__active=True)))
        .values_list(f"worker__{column}", "course_id", "n")
    ):
        done.setdefault(area_id, {})[course_id] = n
    areas = Division.objects.filter(pk__in=list(headcount)).order_by("code")
    return courses, [TrainingRow(a, headcount[a.pk], done.get(a.pk, {})) for a in areas]
