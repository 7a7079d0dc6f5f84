"""A big programme: 5,000 old compounds' projects imported through renovation_projects, then the
progress query by district and by street and the monthly series timed (issue #12: measure it)."""

from __future__ import annotations

import datetime as dt
import time

import pyarrow.compute as pc
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.imports.runner import run_import
from renovation import synth
from renovation.demo import city_compounds
from renovation.models import Project
from renovation.progress import monthly, progress
from renovation.services import do_create_programme
from tests_support.city import to_csv

N = 5_000


@pytest.mark.slow
def test_progress_of_five_thousand_projects(city, capsys):
    grids = [code for code, d in city.divisions.items() if d.level == "grid"]
    compounds = [
        {
            "compound_code": f"{grids[i % len(grids)]}-B{i:05d}",
            "name": f"老小区{i:05d}",
            "grid_code": grids[i % len(grids)],
            "built_year": str(1960 + i % 40),
        }
        for i in range(N)
    ]
    assert not run_import("compounds", to_csv(compounds), filename="old.csv").rejected
    table, homes = city_compounds()
    data = synth.generate(table, homes + 80, 7, as_of=dt.date(2022, 8, 31))
    do_create_programme(synth.PROGRAMME_CODE, synth.PROGRAMME_NAME, synth.FIRST_YEAR, synth.LAST_YEAR)
    clock = time.perf_counter()
    batch = run_import("renovation_projects", to_csv(data.projects.to_pylist()), filename="projects.csv")
    imported = time.perf_counter() - clock
    assert batch.rejected_total == 0 and Project.objects.count() == data.projects.num_rows >= 0.95 * N
    timings = {}
    for name, call in (
        ("district", lambda: progress(2022, today=dt.date(2022, 8, 31))),
        ("street", lambda: progress(2022, "street", today=dt.date(2022, 8, 31))),
        ("monthly", lambda: monthly(2022)),
    ):
        call()
        clock = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            for _ in range(5):
                result = call()
        timings[name] = ((time.perf_counter() - clock) / 5, len(queries) // 5)
    total = progress(2022, today=dt.date(2022, 8, 31)).total
    live = data.projects.filter(pc.not_equal(data.projects.column("status"), "cancelled"))
    assert total.started == live.filter(pc.starts_with(live.column("started_on"), "2022")).num_rows
    with capsys.disabled():
        print(
            f"\n[{connection.vendor}] {data.projects.num_rows} projects imported in {imported:.2f} s; "
            + "; ".join(f"{k} {v[0] * 1000:.1f} ms ({v[1]} queries)" for k, v in timings.items())
        )
    assert timings["district"][0] < 1.0 and result is not None
