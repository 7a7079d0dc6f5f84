"""Bulk actions: set-based, through the transitions table, with events, change log and notifications."""

from __future__ import annotations

import pytest

from core.models import ChangeLog
from tasks.models import Notification, Task, TaskEvent
from tasks.services import do_bulk_assign, do_bulk_close, do_bulk_reassign, do_feed_back

pytestmark = pytest.mark.django_db


def test_bulk_assign_unassigned(city, grid, open_task):
    tasks = [open_task("notify", title=f"t{i}") for i in range(4)]
    assert {t.status for t in tasks} == {"registered"}
    Task.objects.filter(pk=tasks[0].pk).update(status="reported")  # e.g. a resident's report
    manager = city.staff("manager", "community_worker", grid.community)
    worker = city.staff("worker", "grid_worker", grid)
    result = do_bulk_assign([t.pk for t in tasks], worker, manager, "spread the load")
    assert result.as_dict() == {"done": 4, "skipped": 0}
    assert set(Task.objects.values_list("status", "assignee_id", "assigned_level")) == {
        ("dispatched", worker.pk, "grid")
    }
    reported = [(e.from_status, e.to_status, e.action) for e in tasks[0].events.order_by("id")][-2:]
    assert reported == [("reported", "registered", "transition"), ("registered", "dispatched", "assign")]
    assert TaskEvent.objects.filter(action="assign", user=manager, note="spread the load").count() == 4
    assert Notification.objects.filter(user=worker, kind="assigned").count() == 4
    assert ChangeLog.objects.filter(model="tasks.task", action="update", user=manager).count() == 5


def test_bulk_assign_skips_assigned_and_out_of_scope(city, grid, open_task, grid_worker, community_worker):
    mine = open_task("notify")
    assert mine.assignee == grid_worker
    other_grid = city.grid("420102", 2)
    from people.models import Resident

    elsewhere = open_task("notify", subject=Resident.objects.filter(grid=other_grid).first())
    Task.objects.filter(pk=elsewhere.pk).update(assignee=None, status="registered")
    # the grid worker of grid 1 cannot take a task of grid 2
    result = do_bulk_assign(Task.objects.all(), grid_worker, community_worker)
    assert result.as_dict() == {"done": 0, "skipped": 2}


def test_bulk_assign_respects_the_actors_scope(city, open_task, grid_worker):
    task = open_task("notify")
    outsider = city.staff("outsider", "community_worker", city.divisions["420106001001"])
    Task.objects.filter(pk=task.pk).update(assignee=None, status="registered")
    assert do_bulk_assign([task.pk], grid_worker, outsider).as_dict() == {"done": 0, "skipped": 0}
    assert do_bulk_assign([], grid_worker, outsider).as_dict() == {"done": 0, "skipped": 0}


def test_bulk_reassign(city, grid, open_task, grid_worker, community_worker):
    tasks = [open_task("notify", title=f"t{i}") for i in range(3)]
    Task.objects.filter(pk=tasks[1].pk).update(status="handling")
    Task.objects.filter(pk=tasks[2].pk).update(status="fed_back", feedback="x")
    relief = city.staff("relief", "grid_worker", grid)
    result = do_bulk_reassign(Task.objects.all(), relief, community_worker, "grid worker ill")
    assert result.as_dict() == {"done": 2, "skipped": 1}
    assert dict(Task.objects.values_list("pk", "status")) == {
        tasks[0].pk: "dispatched",
        tasks[1].pk: "dispatched",
        tasks[2].pk: "fed_back",
    }
    assert Task.objects.filter(assignee=relief).count() == 2
    assert Notification.objects.filter(user=relief, kind="assigned").count() == 2
    assert Notification.objects.filter(user=grid_worker, kind="taken_over").count() == 2
    # again: already theirs, nothing to do
    assert do_bulk_reassign(Task.objects.all(), relief, community_worker).done == 0


def test_bulk_close_only_fed_back(open_task, grid_worker, community_worker):
    tasks = [open_task("notify", title=f"t{i}") for i in range(3)]
    do_feed_back(tasks[0], grid_worker, "done")
    do_feed_back(tasks[1], grid_worker, "done too")
    result = do_bulk_close(Task.objects.all(), community_worker, "checked")
    assert result.as_dict() == {"done": 2, "skipped": 1}
    closed = Task.objects.filter(status="closed")
    assert closed.count() == 2 and all(t.closed_at for t in closed)
    assert TaskEvent.objects.filter(to_status="closed", from_status="fed_back", note="checked").count() == 2
    log = ChangeLog.objects.filter(model="tasks.task", object_id=tasks[0].pk).latest("id")
    assert log.before["status"] == "fed_back" and log.after["status"] == "closed" and log.after["closed_at"]
