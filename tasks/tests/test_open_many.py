"""do_open_many: the set-based opener gives each task what do_open_task would have given it."""

from __future__ import annotations

from geo.models import Building
from people.models import Resident
from tasks.models import Notification, Task, TaskEvent
from tasks.services import NewTask, do_open_many, do_open_task


def _shape(task: Task) -> tuple:
    events = [
        (e.action, e.from_status, e.to_status, e.assignee_id, e.level)
        for e in TaskEvent.objects.filter(task=task).order_by("id")
    ]
    return (
        task.status,
        task.assignee_id,
        task.assigned_level,
        task.grid_id,
        task.building_id,
        task.resident_id,
        round((task.due_at - task.opened_at).total_seconds()),
        events,
    )


def test_many_tasks_match_one_by_one(city, grid, grid_worker, community_worker):
    """Routed like do_open_task: a grid worker's grid gets theirs; the other district's grid has
    nobody answerable up the chain and stays registered at the owner level."""
    people = list(Resident.objects.order_by("id_number"))
    opened = do_open_many(
        "recall", [NewTask(p.pk, f"recall {p.pk}", f"many:{p.pk}", "detail") for p in people], source="test"
    )
    assert opened == len(people)
    for person in people:
        single = do_open_task("recall", subject=person, title="one", dedupe_key=f"one:{person.pk}")
        many = Task.objects.get(dedupe_key=f"many:{person.pk}")
        assert _shape(many) == _shape(single)
        assert many.title == f"recall {person.pk}" and many.detail == "detail" and many.source == "test"
    mine = Task.objects.filter(dedupe_key__startswith="many:", assignee=grid_worker)
    assert mine.count() == Resident.objects.filter(grid=grid).count()
    assert Task.objects.filter(dedupe_key__startswith="many:", status="registered", assigned_level="grid").exists()
    assert Notification.objects.filter(user=grid_worker).exists()


def test_repeats_are_skipped_and_buildings_can_be_subjects(city, grid, grid_worker):
    building = Building.objects.filter(grid=grid).order_by("code").first()
    rows = [NewTask(building.pk, "door to door", "door:1")]
    assert do_open_many("door_to_door", rows, subject="subject_building") == 1
    assert do_open_many("door_to_door", rows, subject="subject_building") == 0
    task = Task.objects.get(dedupe_key="door:1")
    assert (task.subject_building_id, task.building_id, task.compound_id) == (
        building.pk,
        building.pk,
        building.compound_id,
    )
    assert task.assignee == grid_worker and task.status == "dispatched"


def test_complete_many_closes_assigned_tasks_and_cancels_untaken_ones(city, grid, grid_worker):
    from tasks.services import do_complete_many

    people = list(Resident.objects.order_by("id_number"))
    do_open_many("recall", [NewTask(p.pk, "recall", f"r:{p.pk}") for p in people])
    tasks = {t.pk: t for t in Task.objects.filter(dedupe_key__startswith="r:")}
    finished = do_complete_many({pk: f"sample {pk}: negative" for pk in tasks})
    assert finished == len(tasks)
    for pk, before in tasks.items():
        task = Task.objects.get(pk=pk)
        assert task.closed_at is not None
        if before.assignee_id:
            assert (task.status, task.feedback) == ("closed", f"sample {pk}: negative")
            steps = list(TaskEvent.objects.filter(task=task).order_by("id").values_list("to_status", flat=True))
            assert steps[-3:] == ["handling", "fed_back", "closed"]
        else:
            assert task.status == "cancelled"
    assert do_complete_many(dict.fromkeys(tasks, "again")) == 0  # finished tasks are left alone
