"""Opening tasks: deadline, owner resolution up the 包保 chain, dedupe, the flow through the table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.models import ChangeLog
from geo.models import Building, Compound, Household, Venue
from tasks.flow import TRANSITIONS, TransitionError, path
from tasks.models import Notification, Task, TaskEvent
from tasks.services import (
    do_assign,
    do_cancel,
    do_close,
    do_comment,
    do_evaluate,
    do_feed_back,
    do_open_task,
    do_send_back,
    do_start,
    do_transition,
)

pytestmark = pytest.mark.django_db


def statuses(task):
    return [(e.from_status, e.to_status, e.action) for e in task.events.order_by("id")]


def test_open_task_goes_to_the_grid_worker(open_task, grid_worker, resident):
    before = timezone.now()
    task = open_task("follow_up")
    assert task.assignee == grid_worker and task.assigned_level == "grid"
    assert task.status == "dispatched"
    assert statuses(task) == [
        ("", "reported", "transition"),
        ("reported", "registered", "transition"),
        ("registered", "dispatched", "assign"),
    ]
    # deadline from the policy table (follow_up: 12 h)
    assert dt.timedelta(hours=12) <= task.due_at - before <= dt.timedelta(hours=12, seconds=5)
    # scope columns copied from the subject
    assert (task.grid_id, task.community_id, task.building_id) == (
        resident.grid_id,
        resident.community_id,
        resident.building_id,
    )
    assert Notification.objects.filter(user=grid_worker, task=task, kind="assigned").count() == 1
    assert ChangeLog.objects.filter(model="tasks.task", object_id=task.pk, action="create").exists()


def test_investigation_goes_to_the_community(open_task, grid_worker, community_worker):
    task = open_task("investigate")
    assert (task.assignee, task.assigned_level) == (community_worker, "community")


def test_owner_level_override(open_task, grid_worker, community_worker):
    assert open_task("investigate", owner_level="grid").assignee == grid_worker


def test_no_grid_worker_falls_back_up_the_chain(open_task, street_worker):
    task = open_task("notify")
    assert (task.assignee, task.assigned_level, task.status) == (street_worker, "street", "dispatched")


def test_nobody_answerable_stays_registered(open_task):
    task = open_task("notify")
    assert task.assignee is None and task.status == "registered" and task.assigned_level == "grid"
    assert statuses(task)[-1] == ("reported", "registered", "transition")
    assert not Notification.objects.exists()


def test_ended_or_not_answerable_assignments_are_skipped(city, grid, open_task, community_worker):
    from geo.services import do_assign as geo_assign

    gone = city.staff("gone", "grid_worker", grid)
    gone.assignments.update(ends_on=timezone.localdate() - dt.timedelta(days=1))
    helper = city.staff("helper", "cadre", city.divisions["420102001000"])
    geo_assign(helper, grid, "cadre", answerable=False)
    assert open_task("notify").assignee == community_worker


def test_earliest_answerable_assignment_wins(city, grid, open_task):
    first = city.staff("first", "grid_worker", grid)
    city.staff("second", "grid_worker", grid)
    assert open_task("notify").assignee == first


@pytest.mark.parametrize("kind", ["household", "building", "compound", "venue"])
def test_other_subjects(city, grid, grid_worker, kind):
    building = Building.objects.filter(grid=grid).order_by("code").first()
    subject = {
        "household": Household.objects.filter(building=building).first(),
        "building": building,
        "compound": Compound.objects.filter(grid=grid).first(),
        "venue": Venue.objects.create(
            code="V1",
            name="菜场",
            kind="market",
            grid=grid,
            community=grid.community,
            street=grid.street,
            district=grid.district,
        ),
    }[kind]
    task = do_open_task("disinfect", subject=subject, title="disinfect")
    assert task.subject == subject and task.subject_kind == kind
    assert task.grid_id == grid.pk and task.assignee == grid_worker


def test_building_owner_level(city, grid, resident, open_task, grid_worker):
    cadre = city.staff("building_cadre", "cadre", resident.building)
    task = open_task("help", owner_level="building")
    assert (task.assignee, task.assigned_level) == (cadre, "building")


def test_dedupe_key_returns_the_existing_task(open_task, grid_worker):
    first = open_task("notify", dedupe_key="case_report:1:notify")
    again = open_task("notify", dedupe_key="case_report:1:notify")
    assert again.pk == first.pk
    assert Task.objects.count() == 1
    assert open_task("notify").pk != first.pk  # an empty key never dedupes
    assert open_task("notify").pk != first.pk


def test_explicit_due_at(open_task):
    due = timezone.now() + dt.timedelta(hours=1)
    assert open_task("notify", due_at=due).due_at == due


def test_unknown_type_and_subject_refused(resident):
    with pytest.raises(ValueError):
        do_open_task("nonsense", subject=resident, title="x")
    with pytest.raises(TypeError):
        do_open_task("notify", subject=object(), title="x")


# --- the transitions table -----------------------------------------------------------------------

ALL = list(TRANSITIONS)


@pytest.mark.parametrize("source", ALL)
def test_every_transition_allowed_or_refused(open_task, grid_worker, source):
    """For each status, every target: allowed ones move and write an event, the rest raise and change nothing."""
    task = open_task("notify")
    for target in ALL:
        # put the task in ``source`` directly (the starting point, not the flow under test)
        Task.objects.filter(pk=task.pk).update(status=source, feedback="done", evaluation="satisfied", closed_at=None)
        task.refresh_from_db()
        events = TaskEvent.objects.filter(task=task).count()
        if target in TRANSITIONS[source]:
            do_transition(task, target, grid_worker, "why")
            task.refresh_from_db()
            assert task.status == target, (source, target)
            last = task.events.order_by("id").last()
            assert (last.from_status, last.to_status, last.note, last.user) == (source, target, "why", grid_worker)
            assert (task.closed_at is not None) == (target in ("closed", "evaluated"))
        else:
            with pytest.raises(TransitionError):
                do_transition(task, target, grid_worker)
            task.refresh_from_db()
            assert task.status == source, (source, target)
            assert TaskEvent.objects.filter(task=task).count() == events


def test_path_follows_the_table():
    assert path("reported", "dispatched") == ["registered", "dispatched"]
    assert path("dispatched", "fed_back") == ["handling", "fed_back"]
    assert path("dispatched", "fed_back", frozenset({"handling"})) == ["handling", "fed_back"]
    with pytest.raises(TransitionError):
        path("evaluated", "reported")


def test_the_whole_flow(open_task, grid_worker, community_worker):
    task = open_task("follow_up", opened_by=community_worker)
    do_start(task, grid_worker)
    with pytest.raises(TransitionError):
        do_feed_back(task, grid_worker, "   ")
    do_feed_back(task, grid_worker, "temperature 36.6, fine")
    assert task.status == "fed_back" and task.feedback == "temperature 36.6, fine"
    assert Notification.objects.filter(user=community_worker, kind="fed_back").count() == 1
    do_send_back(task, community_worker, "ask again tomorrow")
    assert task.status == "handling"
    assert Notification.objects.filter(user=grid_worker, kind="sent_back").count() == 1
    do_feed_back(task, grid_worker, "asked again, fine")
    do_close(task, community_worker, "verified by phone")
    assert task.status == "closed" and task.closed_at is not None
    with pytest.raises(TransitionError):
        do_evaluate(task, community_worker, "meh")
    do_evaluate(task, community_worker, "satisfied")
    assert task.status == "evaluated" and task.evaluation == "satisfied"
    do_comment(task, community_worker, "well done")
    actions = [e.action for e in task.events.order_by("id")]
    assert actions[-1] == "comment" and len(actions) == 3 + 1 + 1 + 1 + 1 + 1 + 1 + 1


def test_feed_back_from_dispatched_passes_through_handling(open_task, grid_worker):
    task = open_task("notify")
    do_feed_back(task, grid_worker, "called")
    assert statuses(task)[-2:] == [("dispatched", "handling", "transition"), ("handling", "fed_back", "transition")]


def test_dispatch_needs_an_assignee(open_task):
    task = open_task("notify")
    assert task.status == "registered"
    with pytest.raises(TransitionError):
        do_transition(task, "dispatched", None)


def test_cancel(open_task, grid_worker):
    task = open_task("notify")
    do_cancel(task, grid_worker, "duplicate")
    assert task.status == "cancelled"
    with pytest.raises(TransitionError):
        do_cancel(task, grid_worker)


def test_assign_by_hand(city, open_task, grid):
    task = open_task("notify")
    assert task.status == "registered"
    community_worker = city.staff("community_worker", "community_worker", grid.community)
    worker = city.staff("late_grid_worker", "grid_worker", grid)
    do_assign(task, worker, community_worker, "new worker")
    assert (task.status, task.assignee, task.assigned_level) == ("dispatched", worker, "grid")
    assert Notification.objects.filter(user=worker, kind="assigned").count() == 1
    do_assign(task, community_worker, community_worker)
    assert (task.assignee, task.assigned_level) == (community_worker, "community")
    assert Notification.objects.filter(user=worker, kind="taken_over").count() == 1
    assert statuses(task)[-1] == ("dispatched", "dispatched", "assign")


def test_assign_outside_the_assignees_jurisdiction_refused(city, open_task, community_worker):
    task = open_task("notify")
    assert task.assignee == community_worker
    stranger = city.staff("stranger", "grid_worker", city.grid("420106", 1))
    with pytest.raises(TransitionError):
        do_assign(task, stranger, community_worker)


def test_finished_tasks_cannot_be_assigned(open_task, grid_worker, community_worker):
    task = open_task("notify")
    do_cancel(task, community_worker)
    with pytest.raises(TransitionError):
        do_assign(task, community_worker, community_worker)
