"""Synthetic renovation programme for a generated city, deterministic from a seed.

Every compound built before 2001 (国办发〔2020〕23号) is put on one year's list of a programme
(2020–2022 by default), spread evenly over its years. Each district draws a pace: most keep up, some
lag (their starts come months later), so by ``as_of`` the progress page has districts behind target.
A project's dates follow its steps (selected the autumn before its year, planned 1–3 months later,
consulted before the start, started during its year, finished 4–8 months later with the final
inspection just before); a step dated after ``as_of`` has not happened yet, which sets the status.
About 3 % of the projects are cancelled. Targets scale Wuhan's 2020 figures (300 started, 265
finished a year) to the city: a district's yearly start target is its old compounds over the
programme's years, its finish target 265/300 of that.

Tables (and the CSV files :func:`write` makes of them):

- ``renovation_projects.csv``: the ``renovation_projects`` import kind (renovation.importers):
  programme_code, compound_code, year, status, selected_on, planned_on, started_on, inspected_on,
  finished_on, cancelled_on, budget_central, budget_provincial, budget_city, budget_district,
  budget_residents, budget_enterprise, spent (10,000 yuan), consulted_on, consultation_kind,
  households, participating, in_favour, against. Planned projects carry the consultation held so
  far, a few of them short of the Civil Code's thresholds (their start would be refused).
- ``renovation_targets.csv``: programme_code, year, district_code (empty: the whole city), to_start,
  to_finish, budget (10,000 yuan).
- ``renovation_works.csv``: programme_code, compound_code, kind, description, quantity, unit, cost,
  status, finished_on: 3–6 work items per project (pipes always), all finished on a finished project,
  partly on a started one, planned before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from renovation.choices import WORK_UNITS, WorkKind

PROGRAMME_CODE = "WH-OCR-2020"
PROGRAMME_NAME = "武汉市老旧小区改造三年行动 2020–2022"
FIRST_YEAR, LAST_YEAR = 2020, 2022
AS_OF = dt.date(2022, 8, 31)  # the demo's "now" of the programme: two-thirds into its last year
BUILT_BEFORE = 2001  # 国办发〔2020〕23号: built before the end of 2000
FINISH_PER_START = 265 / 300  # Wuhan's 2020 figures: 300 started, 265 finished
SHARES = {  # budget by source: governments carry most, residents and enterprises a little
    "central": 0.40,
    "provincial": 0.10,
    "city": 0.20,
    "district": 0.20,
    "residents": 0.05,
    "enterprise": 0.05,
}
WORK_QUANTITY = {  # per project: a typical range of each kind
    WorkKind.PIPES: (300, 3000),
    WorkKind.ROOFS: (500, 6000),
    WorkKind.WALLS: (1000, 12000),
    WorkKind.ELEVATOR: (1, 6),
    WorkKind.LIGHTING: (10, 120),
    WorkKind.PARKING: (10, 150),
    WorkKind.ACCESS: (2, 20),
    WorkKind.FIRE: (2, 30),
    WorkKind.GREENERY: (200, 3000),
}
OPTIONAL_WORKS = [k for k in WORK_QUANTITY if k != WorkKind.PIPES]
TABLES = ("renovation_projects", "renovation_targets", "renovation_works")


@dataclass(frozen=True)
class RenovationData:
    projects: pa.Table
    targets: pa.Table
    works: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        return {
            "renovation_projects": self.projects,
            "renovation_targets": self.targets,
            "renovation_works": self.works,
        }


def _dates(values: np.ndarray, known: np.ndarray) -> pa.Array:
    return pa.array([str(d) if k else "" for d, k in zip(values.astype("datetime64[D]"), known, strict=True)])


def generate(
    compounds: pa.Table,
    households: np.ndarray,
    seed: int,
    *,
    first_year: int = FIRST_YEAR,
    last_year: int = LAST_YEAR,
    as_of: dt.date = AS_OF,
    programme_code: str = PROGRAMME_CODE,
) -> RenovationData:
    """The programme for ``compounds`` (compound_code, grid_code, built_year) whose households are
    ``households`` (one count per compound row)."""
    rng = np.random.default_rng(seed)
    built = pc.fill_null(compounds.column("built_year"), 9999).to_numpy(zero_copy_only=False)
    old = np.flatnonzero(built < BUILT_BEFORE)
    codes = np.asarray(compounds.column("compound_code").to_pylist(), dtype=object)[old]
    districts = np.asarray([g[:6] + "000000" for g in compounds.column("grid_code").to_pylist()], dtype=object)[old]
    homes = np.maximum(np.asarray(households)[old], 12)
    n, years = len(old), last_year - first_year + 1
    order = rng.permutation(n)
    year = np.empty(n, dtype=np.int64)
    year[order] = first_year + (np.arange(n) * years) // max(n, 1)
    names, district_index = np.unique(districts, return_inverse=True)
    pace = rng.choice([0, 0, 0, 60, 150], size=len(names))  # days of delay; some districts lag
    delay = pace[district_index]
    jan1 = np.array([np.datetime64(f"{y}-01-01") for y in year], dtype="datetime64[D]")
    selected = jan1 - rng.integers(30, 120, n)
    late_pick = (year == last_year) & (rng.random(n) < 0.15)  # a few added to the last year's list late
    selected = np.where(late_pick, jan1 + rng.integers(150, 330, n), selected)
    planned = selected + rng.integers(30, 100, n) + delay // 2
    started = np.maximum(jan1 + rng.integers(60, 240, n) + delay, planned + 20)
    consulted = started - rng.integers(5, 20, n)
    consulted = np.maximum(consulted, selected + 1)
    finished = started + rng.integers(120, 240, n)
    inspected = finished - rng.integers(0, 10, n)
    now = np.datetime64(as_of)
    cancelled = rng.random(n) < 0.03
    old_per_district = np.bincount(district_index, minlength=len(names))
    keep = selected <= now  # not selected yet by ``as_of``: still a candidate, no project
    (
        codes,
        district_index,
        homes,
        year,
        delay,
        selected,
        planned,
        started,
        consulted,
        finished,
        inspected,
        cancelled,
    ) = (
        a[keep]
        for a in (
            codes,
            district_index,
            homes,
            year,
            delay,
            selected,
            planned,
            started,
            consulted,
            finished,
            inspected,
            cancelled,
        )
    )
    n = int(keep.sum())
    has_planned, has_started, has_finished = planned <= now, started <= now, finished <= now
    status = np.where(
        has_finished, "finished", np.where(has_started, "started", np.where(has_planned, "planned", "selected"))
    )
    cancelled_on = np.minimum(planned, now)
    status = np.where(cancelled, "cancelled", status)
    # cancelled ones stop where they were: their later dates are dropped
    has_started &= ~cancelled
    has_finished &= ~cancelled
    has_planned &= ~cancelled | (planned <= cancelled_on)
    has_consult = (consulted <= now) & (has_started | has_planned) & ~cancelled
    participation = rng.uniform(0.70, 0.95, n)
    consent = rng.uniform(0.78, 0.97, n)
    # a few planned projects whose consultation fell short: their start must wait for a second round
    short = (status == "planned") & (rng.random(n) < 0.3)
    participation = np.where(short, rng.uniform(0.45, 0.6, n), participation)
    participating = np.ceil(homes * participation).astype(np.int64)
    in_favour = np.ceil(participating * consent).astype(np.int64)
    against = ((participating - in_favour) * rng.uniform(0.3, 1.0, n)).astype(np.int64)
    total = np.round(homes * rng.uniform(2.0, 4.5, n), 2)  # 2–4.5 万元 a household
    budget = {s: np.round(total * share * rng.uniform(0.8, 1.2, n), 2) for s, share in SHARES.items()}
    budget_total = sum(budget.values())
    spent = np.where(
        status == "finished",
        budget_total * rng.uniform(0.85, 1.12, n),  # about one in five over budget
        np.where(status == "started", budget_total * rng.uniform(0.2, 0.8, n), 0.0),
    )
    spent = np.round(spent, 2)
    none = np.zeros(n, dtype=bool)
    projects = pa.table(
        {
            "programme_code": pa.array([programme_code] * n),
            "compound_code": pa.array(codes.tolist(), type=pa.string()),
            "year": pa.array(year),
            "status": pa.array(status.tolist(), type=pa.string()),
            "selected_on": _dates(selected, ~none),
            "planned_on": _dates(planned, has_planned),
            "started_on": _dates(started, has_started),
            "inspected_on": _dates(inspected, has_finished),
            "finished_on": _dates(finished, has_finished),
            "cancelled_on": _dates(cancelled_on, cancelled),
            **{f"budget_{s}": pa.array(v) for s, v in budget.items()},
            "spent": pa.array(spent),
            "consulted_on": _dates(consulted, has_consult),
            "consultation_kind": pa.array(np.where(has_consult, "survey", "").tolist(), type=pa.string()),
            "households": pa.array(np.where(has_consult, homes, -1)).cast(pa.string()),
            "participating": pa.array(np.where(has_consult, participating, -1)).cast(pa.string()),
            "in_favour": pa.array(np.where(has_consult, in_favour, -1)).cast(pa.string()),
            "against": pa.array(np.where(has_consult, against, -1)).cast(pa.string()),
        }
    )
    for name in ("households", "participating", "in_favour", "against"):  # -1: no consultation
        column = projects.column(name)
        projects = projects.set_column(
            projects.schema.get_field_index(name), name, pc.if_else(pc.equal(column, "-1"), "", column)
        )
    targets = _targets(
        names, old_per_district, district_index, year, budget_total, (first_year, last_year), programme_code
    )
    works = _works(rng, codes, status, started, finished, has_started, budget_total, programme_code, now)
    return RenovationData(projects, targets, works)


def _targets(names, per_district, district_index, year, budget_total, span, code) -> pa.Table:
    """Each district's start target: its old compounds over the programme's years (rounded up)."""
    first_year, last_year = span
    years = last_year - first_year + 1
    rows: dict[str, list] = {
        k: [] for k in ("programme_code", "year", "district_code", "to_start", "to_finish", "budget")
    }
    for y in range(first_year, last_year + 1):
        in_year = year == y
        money = np.bincount(district_index[in_year], weights=budget_total[in_year], minlength=len(names))
        starts = np.ceil(per_district / years).astype(int)
        for district, to_start, amount in zip(names, starts, money, strict=True):
            rows["programme_code"].append(code)
            rows["year"].append(y)
            rows["district_code"].append(district)
            rows["to_start"].append(int(to_start))
            rows["to_finish"].append(round(to_start * FINISH_PER_START))
            rows["budget"].append(round(float(amount), 2))
        city_start = int(np.ceil(per_district.sum() / years))
        rows["programme_code"].append(code)
        rows["year"].append(y)
        rows["district_code"].append("")
        rows["to_start"].append(city_start)
        rows["to_finish"].append(round(city_start * FINISH_PER_START))
        rows["budget"].append(round(float(budget_total[in_year].sum()), 2))
    return pa.table(rows)


def _works(rng, codes, status, started, finished, has_started, budget_total, code, now) -> pa.Table:
    n = len(codes)
    count = rng.integers(3, 7, n)
    project = np.repeat(np.arange(n), count)
    first = np.r_[0, np.cumsum(count)[:-1]]
    position = np.arange(len(project)) - first[project]
    kinds = np.array([WorkKind.PIPES.value] + [k.value for k in OPTIONAL_WORKS], dtype=object)
    # pipes first, then distinct optional kinds drawn per project
    draws = np.argsort(rng.random((n, len(OPTIONAL_WORKS))), axis=1) + 1
    kind_index = np.where(position == 0, 0, draws[project, np.maximum(position - 1, 0)])
    kind = kinds[kind_index]
    low = np.array([WORK_QUANTITY[WorkKind(k)][0] for k in kinds])[kind_index]
    high = np.array([WORK_QUANTITY[WorkKind(k)][1] for k in kinds])[kind_index]
    quantity = np.round(low + (high - low) * rng.random(len(project)), 0)
    weight = rng.uniform(0.5, 1.5, len(project))
    cost = np.round(budget_total[project] * weight / np.bincount(project, weights=weight)[project], 2)
    span = (finished - started).astype(np.int64)[project]
    done_on = started[project] + (span * rng.uniform(0.5, 0.95, len(project))).astype(np.int64)
    st = status[project]
    work_status = np.where(
        st == "finished",
        "finished",
        np.where(st == "started", np.where(done_on <= now, "finished", "in_progress"), "planned"),
    )
    work_status = np.where(st == "cancelled", np.where(has_started[project], "dropped", "planned"), work_status)
    return pa.table(
        {
            "programme_code": pa.array([code] * len(project)),
            "compound_code": pa.array(codes[project].tolist(), type=pa.string()),
            "kind": pa.array(kind.tolist(), type=pa.string()),
            "description": pa.array([""] * len(project)),
            "quantity": pa.array(quantity),
            "unit": pa.array([WORK_UNITS[WorkKind(k)] for k in kind]),
            "cost": pa.array(cost),
            "status": pa.array(work_status.tolist(), type=pa.string()),
            "finished_on": _dates(done_on, work_status == "finished"),
        }
    )


def for_city(city, seed: int, **options) -> RenovationData:
    """The programme for a :class:`synth.city.SynthCity`."""
    return generate(city.compounds, city.places.compound_households, seed, **options)


def write(data: RenovationData, folder: Path) -> dict[str, Path]:
    """Write the three tables as CSV (UTF-8, header row) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in data.tables().items():
        paths[name] = folder / f"{name}.csv"
        pacsv.write_csv(table, paths[name])
    return paths
