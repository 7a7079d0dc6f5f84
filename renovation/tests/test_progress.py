"""Progress against the targets: counts by the step's date in the year, cancelled projects left
out, budgets of the year's list, late areas, the monthly series, scoping of rows and targets, and
the query count of a big programme staying flat."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from renovation.models import Project
from renovation.progress import behind, elapsed_share, monthly, progress
from renovation.services import do_cancel, do_plan, do_record_consultation, do_select, do_start
from renovation.tests.conftest import JIANGAN, WUCHANG

D = dt.timedelta


def start(setting, compound, on: dt.date, budget: int = 100) -> Project:
    project = do_select(setting.programme, compound, on.year, on=on - D(days=60))
    do_plan(project, on=on - D(days=30), budget={"city": budget})
    do_record_consultation(
        project, held_on=on - D(days=10), kind="vote", households=10, participating=8, in_favour=7, against=1
    )
    return do_start(project, on=on)


def test_counts_targets_and_late_areas(setting, city):
    start(setting, setting.old_a, dt.date(2021, 4, 10))
    start(setting, setting.old_b, dt.date(2021, 6, 5), budget=50)
    cancelled = start(setting, setting.old_c, dt.date(2021, 5, 1))
    do_cancel(cancelled, reason="居民反对", on=dt.date(2021, 7, 1))
    result = progress(2021, today=dt.date(2022, 1, 5))
    rows = {r.code: r for r in result.rows}
    jiangan, wuchang = rows[JIANGAN], rows[WUCHANG]
    assert (jiangan.selected, jiangan.planned, jiangan.started, jiangan.finished) == (2, 2, 2, 0)
    assert (jiangan.target_start, jiangan.target_finish, jiangan.started_pct, jiangan.finished_pct) == (2, 1, 100, 0)
    assert jiangan.budget == 150 and jiangan.late  # nothing finished of a target of 1, the year over
    assert (wuchang.started, wuchang.budget) == (0, 0) and wuchang.late  # the cancelled start does not count
    assert (result.total.started, result.total.target_start, result.total.target_finish) == (2, 3, 2)
    assert [p.compound_id for p in behind(result)] == [setting.old_a.pk, setting.old_b.pk]
    mid_year = progress(2021, today=dt.date(2021, 6, 30))
    assert not {r.code: r for r in mid_year.rows}[JIANGAN].late  # half the year: 0 of 1 finished is on pace
    series = monthly(2021)
    assert series["started"] == [0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2]
    assert series["finished"] == [0] * 12
    before = progress(2020, today=dt.date(2022, 1, 5)).total
    assert (before.selected, before.planned, before.started) == (0, 0, 0)  # every step is dated 2021


def test_rows_and_targets_follow_the_jurisdiction(setting, city):
    start(setting, setting.old_a, dt.date(2021, 4, 10))
    district = city.staff("d1", "district", city.divisions[JIANGAN])
    street = city.staff("s1", "street", city.divisions["420102001000"])
    mine = progress(2021, user=district, today=dt.date(2022, 1, 1))
    assert [r.code for r in mine.rows] == [JIANGAN] and mine.rows[0].target_start == 2
    assert mine.total.target_start == 2  # the sum of what the user sees, not the city's target
    streets = progress(2021, user=street, today=dt.date(2022, 1, 1))
    assert [r.code for r in streets.rows] == [JIANGAN] and streets.rows[0].target_start is None
    by_street = progress(2021, "street", user=street, today=dt.date(2022, 1, 1))
    assert [(r.code, r.started) for r in by_street.rows] == [("420102001000", 1)]


def test_elapsed_share():
    assert elapsed_share(2021, dt.date(2022, 1, 1)) == 1.0
    assert elapsed_share(2021, dt.date(2020, 12, 31)) == 0.0
    assert round(elapsed_share(2021, dt.date(2021, 7, 2)), 3) == round(183 / 365, 3)


def test_query_count_does_not_grow_with_projects(setting, city):
    start(setting, setting.old_a, dt.date(2021, 4, 10))
    with CaptureQueriesContext(connection) as few:
        progress(2021)
    start(setting, setting.old_b, dt.date(2021, 4, 10))
    start(setting, setting.old_c, dt.date(2021, 4, 10))
    with CaptureQueriesContext(connection) as more:
        progress(2021)
    assert len(more) == len(few) <= 8
