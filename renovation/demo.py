"""The renovation programme on the demo city: a three-year programme ending this year (so its
current year is live), targets per district scaled from Wuhan's 2020 figures, and every old
compound's project imported through the ``renovation_projects`` kind (renovation.synth), with its
works. The progress page then shows the city and each district against this year's targets, some
districts behind. A second call changes nothing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db.models import Count
from django.utils import timezone

from core.imports.runner import run_import
from geo.models import Compound, Division, Household
from renovation import synth
from renovation.models import Programme, Project, Work
from renovation.progress import progress
from renovation.services import do_create_programme, do_set_target

SEED = 2020
DEMO_CODE = "WH-OCR-DEMO"


def _csv(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue().to_pybytes()


def city_compounds() -> tuple[pa.Table, np.ndarray]:
    """The database's compounds as synth.generate takes them, and their households."""
    rows = list(Compound.objects.order_by("code").values_list("pk", "code", "grid__code", "built_year"))
    homes = dict(Household.objects.values("compound_id").annotate(n=Count("id")).values_list("compound_id", "n"))
    table = pa.table(
        {
            "compound_code": pa.array([r[1] for r in rows], pa.string()),
            "grid_code": pa.array([r[2] for r in rows], pa.string()),
            "built_year": pa.array([r[3] for r in rows], pa.int64()),
        }
    )
    return table, np.array([homes.get(r[0], 0) for r in rows], dtype=np.int64)


def _load_works(works: pa.Table) -> int:
    """The works of the imported projects, in one bulk insert."""
    projects = dict(Project.objects.filter(programme__code=DEMO_CODE).values_list("compound__code", "pk"))
    rows = works.to_pylist()
    Work.objects.bulk_create(
        [
            Work(
                project_id=projects[r["compound_code"]],
                kind=r["kind"],
                description=r["description"] or "",
                quantity=r["quantity"],
                unit=r["unit"],
                cost=r["cost"],
                status=r["status"],
                finished_on=dt.date.fromisoformat(r["finished_on"]) if r["finished_on"] else None,
            )
            for r in rows
            if r["compound_code"] in projects
        ],
        batch_size=2000,
    )
    return len(rows)


def set_up(log=print, today: dt.date | None = None) -> dict:
    """Returns what it made: projects, rows rejected, works, targets and this year's late districts."""
    if Programme.objects.filter(code=DEMO_CODE).exists():
        log("  renovation       programme already loaded")
        return {"projects": 0}
    today = today or timezone.localdate()
    first, last = today.year - 2, today.year
    compounds, homes = city_compounds()
    data = synth.generate(
        compounds, homes, SEED, first_year=first, last_year=last, as_of=today, programme_code=DEMO_CODE
    )
    programme = do_create_programme(DEMO_CODE, f"老旧小区改造三年行动 {first}–{last}", first, last)
    districts = {d.code: d for d in Division.objects.filter(level="district")}
    for row in data.targets.to_pylist():
        district = districts.get(row["district_code"]) if row["district_code"] else None
        if row["district_code"] and district is None:
            continue
        do_set_target(
            programme, row["year"], district, to_start=row["to_start"], to_finish=row["to_finish"], budget=row["budget"]
        )
    batch = run_import("renovation_projects", _csv(data.projects), filename="renovation_projects.csv", source="import")
    works = _load_works(data.works)
    now = progress(last, programme=programme, today=today)
    late = [row.name for row in now.late_rows]
    total = now.total
    log(
        f"  renovation       {batch.inserted:>9,} projects  {works:,} work items  {batch.rejected_total} rejected; "
        f"{last}: {total.started}/{total.target_start} started, {total.finished}/{total.target_finish} finished; "
        f"behind: {', '.join(late) or 'none'}"
    )
    return {
        "projects": batch.inserted,
        "rejected": batch.rejected_total,
        "works": works,
        "targets": programme.targets.count(),
        "late": late,
    }
