"""The overdue sweep: late tasks go up the 包保 chain, once per step, with events and notifications."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from core.jobs import _JOBS, PERIODIC, enqueue
from core.models import ChangeLog, Job
from core.policy import do_update_policy
from tasks.escalation import sweep_overdue
from tasks.models import Notification, Task, TaskEvent

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


def late(task, hours=1):
    """Time travel: the moment ``hours`` after the task's deadline."""
    return task.due_at + hours * HOUR


def test_overdue_task_goes_to_the_community(open_task, grid_worker, community_worker):
    task = open_task("follow_up")
    assert task.assignee == grid_worker
    assert sweep_overdue(task.due_at - HOUR)["escalated"] == 0  # not late yet
    result = sweep_overdue(late(task))
    assert result["escalated"] == 1 and result["by_level"] == {"community": 1}
    task.refresh_from_db()
    assert (task.assignee, task.assigned_level, task.escalation_level) == (community_worker, "community", 1)
    assert task.escalated_at == late(task) and task.status == "dispatched"
    event = task.events.order_by("id").last()
    assert (event.action, event.from_status, event.to_status, event.assignee, event.level, event.user) == (
        "escalate",
        "dispatched",
        "dispatched",
        community_worker,
        "community",
        None,
    )
    note = Notification.objects.get(user=community_worker, kind="escalated")
    assert note.task == task and task.title in note.message
    # the change log: one summary row per sweep, pointing at the events
    log = ChangeLog.objects.filter(model="tasks.task", action="update").latest("id")
    assert log.object_id is None and log.after["escalated"] == 1 and log.after["by_level"] == {"community": 1}
    assert not ChangeLog.objects.filter(model="tasks.task", object_id=task.pk, action="update").exists()


def test_no_double_escalation_within_the_step(open_task, grid_worker, community_worker, street_worker):
    task = open_task("follow_up")
    first = late(task)
    assert sweep_overdue(first)["escalated"] == 1
    # the policy's step (4 h by default): nothing moves before it has passed
    assert sweep_overdue(first + dt.timedelta(minutes=5))["escalated"] == 0
    assert sweep_overdue(first + 3 * HOUR)["escalated"] == 0
    assert sweep_overdue(first + 4 * HOUR)["by_level"] == {"street": 1}
    task.refresh_from_db()
    assert (task.assignee, task.escalation_level) == (street_worker, 2)
    assert TaskEvent.objects.filter(task=task, action="escalate").count() == 2


def test_step_comes_from_the_policy(open_task, grid_worker, community_worker, street_worker):
    do_update_policy({"escalation_step_hours": 1}, None, "faster", effective_from=timezone.now() - HOUR)
    task = open_task("follow_up")
    sweep_overdue(late(task))
    assert sweep_overdue(late(task, 2))["escalated"] == 1


def test_empty_levels_are_skipped(city, open_task, grid_worker):
    commander = city.staff("commander", "city_command", city.divisions["420100000000"])
    task = open_task("notify")
    assert sweep_overdue(late(task))["by_level"] == {"city": 1}
    task.refresh_from_db()
    assert (task.assignee, task.assigned_level) == (commander, "city")
    # the top of the chain: nothing further
    assert sweep_overdue(late(task, 100))["escalated"] == 0


def test_nobody_above_is_counted_and_left(open_task, grid_worker):
    task = open_task("notify")
    result = sweep_overdue(late(task))
    assert (result["late"], result["escalated"], result["unassignable"]) == (1, 0, 1)
    task.refresh_from_db()
    assert task.assignee == grid_worker and task.escalation_level == 0


def test_unassigned_registered_task_is_dispatched_when_someone_above_appears(city, grid, open_task):
    task = open_task("notify")
    assert task.status == "registered"
    worker = city.staff("community_worker", "community_worker", grid.community)
    sweep_overdue(late(task))
    task.refresh_from_db()
    assert (task.status, task.assignee, task.assigned_level) == ("dispatched", worker, "community")


def test_handling_restarts_and_finished_tasks_stay(open_task, grid_worker, community_worker):
    handling, fed_back, closed, cancelled = (open_task("notify", title=str(i)) for i in range(4))
    Task.objects.filter(pk=handling.pk).update(status="handling")
    Task.objects.filter(pk=fed_back.pk).update(status="fed_back", feedback="x")
    Task.objects.filter(pk=closed.pk).update(status="closed")
    Task.objects.filter(pk=cancelled.pk).update(status="cancelled")
    assert sweep_overdue(late(handling, 10))["escalated"] == 1
    assert dict(Task.objects.values_list("pk", "status")) == {
        handling.pk: "dispatched",
        fed_back.pk: "fed_back",
        closed.pk: "closed",
        cancelled.pk: "cancelled",
    }


def test_many_tasks_many_levels(city, grid, open_task, grid_worker, community_worker, street_worker):
    other_grid = city.grid("420102", 2)
    from people.models import Resident

    elsewhere = Resident.objects.filter(grid=other_grid).first()
    tasks = [open_task("notify", title=f"t{i}") for i in range(5)]
    # no grid worker in the other grid: those tasks start at the community
    tasks += [open_task("notify", subject=elsewhere, title=f"e{i}") for i in range(3)]
    assert {t.assigned_level for t in tasks} == {"grid", "community"}
    result = sweep_overdue(late(tasks[-1], 1))
    assert result["by_level"] == {"community": 5, "street": 3}
    assert Notification.objects.filter(kind="escalated", user=community_worker).count() == 5
    assert Notification.objects.filter(kind="escalated", user=street_worker).count() == 3


def test_digests_go_to_the_other_senders(
    open_task, grid_worker, community_worker, caplog, django_capture_on_commit_callbacks
):
    for i in range(3):
        open_task("notify", title=f"t{i}")
    with caplog.at_level(logging.INFO, logger="linli.notify"), django_capture_on_commit_callbacks(execute=True):
        sweep_overdue(timezone.now() + 10 * HOUR)
    lines = [r.getMessage() for r in caplog.records if r.name == "linli.notify"]
    assert lines == ["to community_worker [escalated] task -: 3 overdue tasks escalated to you"]


def test_senders_can_be_configured(open_task, grid_worker, community_worker, settings):
    settings.LINLI_NOTIFY_SENDERS = ["tasks.notify.ConsoleSender"]
    task = open_task("notify")
    sweep_overdue(late(task))
    assert not Notification.objects.exists()


def test_the_job_is_registered_and_runs(open_task, grid_worker, community_worker):
    assert "tasks.sweep_overdue" in _JOBS and (5, "tasks.sweep_overdue") in PERIODIC
    task = open_task("notify")
    record = enqueue("tasks.sweep_overdue", now=late(task).isoformat())
    assert record.status == "done", record.error
    assert record.result["escalated"] == 1
    task.refresh_from_db()
    assert task.assignee == community_worker
    assert Job.objects.filter(name="tasks.sweep_overdue", status="done").count() == 1


def test_many_tasks_at_once_make_one_digest(open_task, grid_worker, community_worker, monkeypatch):
    from tasks import notify

    monkeypatch.setattr(notify, "EACH_UP_TO", 2)
    tasks = [open_task("notify", title=f"t{i}") for i in range(3)]
    sweep_overdue(late(tasks[-1]))
    (digest,) = Notification.objects.filter(user=community_worker, kind="escalated")
    assert digest.task is None and digest.message == "3 overdue tasks escalated to you"
    assert TaskEvent.objects.filter(action="escalate").count() == 3
