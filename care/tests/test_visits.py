"""Key-group visits: the derived schedule (policy interval, the shortest across groups), overdue
visits opening one task each (never twice), a recorded visit closing the task."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from care.choices import Need, VisitKind, Wellbeing
from care.models import CareVisit
from care.tests.support import care_staff, members_since
from care.visits import (
    VisitError,
    as_due,
    day_number,
    do_open_overdue_visits,
    do_record_visit,
    due_rows,
    from_day_number,
    schedule,
)
from core.policy import do_update_policy
from people.models import KeyGroupMembership, Resident
from tasks.choices import TaskStatus, TaskType
from tasks.models import Task


def elderly(city) -> list[Resident]:
    ids = KeyGroupMembership.objects.filter(group="elderly_alone").values("resident_id")
    return list(Resident.objects.filter(pk__in=ids).order_by("id"))


def chronic_only(city) -> list[Resident]:
    ids = KeyGroupMembership.objects.filter(group="chronic").values("resident_id")
    others = KeyGroupMembership.objects.filter(group="elderly_alone").values("resident_id")
    return list(Resident.objects.filter(pk__in=ids).exclude(pk__in=others).order_by("id"))


def due_of(resident_id: int) -> dt.date:
    return from_day_number(schedule().get(resident_id=resident_id)["due_day"])


def test_schedule_takes_the_policy_interval_and_the_shortest_across_groups(city):
    since = members_since(10)
    rows = {row["resident_id"]: row for row in schedule()}
    assert len(rows) == 24  # 8 elderly living alone (also chronic), 16 more with a chronic illness
    old, ill = elderly(city)[0], chronic_only(city)[0]
    assert rows[old.pk]["interval"] == 7 and due_of(old.pk) == since + dt.timedelta(days=7)
    assert rows[ill.pk]["interval"] == 14 and due_of(ill.pk) == since + dt.timedelta(days=14)
    assert as_due(rows[old.pk]).days_overdue == 3 and as_due(rows[ill.pk]).days_overdue == 0

    do_update_policy({"care_visit_days": {"elderly_alone": 7, "chronic": 5, "pregnant": 14, "disabled": 14}}, None, "")
    assert due_of(ill.pk) == since + dt.timedelta(days=5)
    assert due_of(old.pk) == since + dt.timedelta(days=5)  # chronic too: the shorter interval applies


def test_the_next_visit_is_due_an_interval_after_the_last(city):
    members_since(40)
    old = elderly(city)[0]
    visited = timezone.now() - dt.timedelta(days=2)
    do_record_visit(old, by=None, kind=VisitKind.PHONE, wellbeing=Wellbeing.WELL, visited_at=visited)
    assert due_of(old.pk) == timezone.localtime(visited).date() + dt.timedelta(days=7)


def test_due_rows_list_the_overdue_first_and_narrow_by_group_and_node(city):
    members_since(12)  # elderly overdue by 5 days, the chronic-only due in 2 days
    commander = care_staff(city, "cmd", "city_command", city.divisions["420100000000"])
    rows = list(due_rows(commander))
    assert len(rows) == 24 and as_due(rows[0]).days_overdue == 5 and as_due(rows[-1]).days_overdue == 0
    assert len(list(due_rows(commander, overdue_only=True))) == 8
    assert len(list(due_rows(commander, group="elderly_alone"))) == 8
    grid = city.grid("420102", 1)
    assert len(list(due_rows(commander, node=("grid", grid.pk)))) == 6
    worker = care_staff(city, "gw", "grid_worker", grid)
    assert {r["resident_id"] for r in due_rows(worker)} == set(
        Resident.objects.filter(grid=grid, key_groups__group="chronic").values_list("pk", flat=True)
    )


def test_overdue_visits_open_one_task_each_and_never_twice(city):
    members_since(30)
    grid = city.grid("420102", 1)
    worker = care_staff(city, "gw", "grid_worker", grid)
    assert do_open_overdue_visits() == 24
    assert do_open_overdue_visits() == 0  # re-run: nothing twice
    tasks = Task.objects.filter(task_type=TaskType.CARE_VISIT)
    assert tasks.count() == 24
    mine = tasks.filter(grid=grid)
    assert mine.count() == 6 and set(mine.values_list("assignee_id", flat=True)) == {worker.pk}
    assert set(mine.values_list("status", flat=True)) == {TaskStatus.DISPATCHED}
    old = elderly(city)[0]
    task = tasks.get(resident=old)
    assert task.dedupe_key == f"care_visit:{old.pk}:{due_of(old.pk).isoformat()}"
    assert "居*" in task.title  # masked name


def test_a_visit_closes_the_task_and_the_next_lapse_opens_a_new_one(city):
    members_since(30)
    grid = city.grid("420102", 1)
    worker = care_staff(city, "gw", "grid_worker", grid)
    do_open_overdue_visits()
    old = Resident.objects.filter(grid=grid, key_groups__group="elderly_alone").first()
    task = Task.objects.get(task_type=TaskType.CARE_VISIT, resident=old)
    visit = do_record_visit(
        old,
        by=worker,
        kind=VisitKind.HOME,
        wellbeing=Wellbeing.NEEDS_HELP,
        needs=[Need.GROCERIES, Need.MEDICINE],
        note="药快吃完了",
    )
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED and "Needs help" in task.feedback
    assert visit.task_id == task.pk and visit.needs == "medicine;groceries"
    assert (visit.grid_id, visit.building_id) == (old.grid_id, old.building_id)
    assert do_open_overdue_visits() == 0  # visited today: due in a week
    later = timezone.localdate() + dt.timedelta(days=8)
    assert do_open_overdue_visits(today=later) == 1
    assert Task.objects.filter(resident=old, task_type=TaskType.CARE_VISIT).count() == 2


def test_an_open_task_is_not_doubled_when_the_due_date_moves(city):
    members_since(30)
    do_open_overdue_visits()
    do_update_policy({"care_visit_days": {"elderly_alone": 3, "chronic": 10, "pregnant": 14, "disabled": 14}}, None, "")
    assert do_open_overdue_visits() == 0


def test_visits_refused_as_given(city):
    person = elderly(city)[0]
    with pytest.raises(VisitError):
        do_record_visit(
            person, by=None, kind="home", wellbeing="well", visited_at=timezone.now() + dt.timedelta(hours=1)
        )
    with pytest.raises(VisitError):
        do_record_visit(person, by=None, kind="home", wellbeing="fine")
    with pytest.raises(VisitError):
        do_record_visit(person, by=None, kind="home", wellbeing="well", needs=["money"])
    assert not CareVisit.objects.exists()


def test_day_numbers_round_trip():
    day = dt.date(2020, 1, 23)
    assert from_day_number(day_number(day)) == day
