"""Issue #3, done when: a synthetic day of hospital and CDC feeds imported into a generated city puts
people into the four categories with their history, gives each the right tasks for the answerable
grid worker, escalates an overdue task to the community level, and queues ambiguous persons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from cases.models import CategoryConflict, CategoryEvent, PersonStatus
from core.imports.runner import run_import
from feeds.models import ClinicVisit
from geo.models import Assignment
from synth.city import generate_city
from synth.demo import FEED_ORDER, IMPORT_ORDER, staff_every_node
from synth.feeds import feed_day, write_feeds
from synth.writer import write_city
from tasks.escalation import sweep_overdue
from tasks.models import Task

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def day(tmp_path: Path):
    city = generate_city(6000, 11)
    paths = write_city(city, tmp_path)
    for kind in IMPORT_ORDER:
        run_import(kind, paths[kind].read_bytes(), filename=f"{kind}.csv")
    staff_every_node()
    feeds = write_feeds(feed_day(city, seed=11), tmp_path)
    summaries = {kind: run_import(kind, feeds[kind].read_bytes(), filename=f"{kind}.csv") for kind in FEED_ORDER}
    return summaries


def test_a_day_of_feeds(day):
    assert all(batch.status == "done" for batch in day.values())
    categories = set(PersonStatus.objects.values_list("category", flat=True))
    assert {"confirmed", "fever", "suspected"} <= categories
    # the hard case: confirmed by a hospital, excluded by the CDC the same evening → a conflict to review
    assert CategoryConflict.objects.filter(status="open").exists()
    # every status has its dated history
    for status in PersonStatus.objects.all():
        assert CategoryEvent.objects.filter(person=status.person, outcome="applied").exists()
    # the duplicate visit from two systems leaves one fever episode, the second report noted
    assert ClinicVisit.objects.count() == day["clinic_visits"].inserted
    # tasks for the answerable grid worker of each registered person
    registered_tasks = Task.objects.filter(resident__registered=True, task_type="notify")
    assert registered_tasks.exists()
    for task in registered_tasks.select_related("assignee"):
        grid_worker = Assignment.objects.get(division_id=task.resident.grid_id).user
        assert task.assignee == grid_worker and task.assigned_level == "grid"
    # an overdue task escalates to the community
    task = registered_tasks.first()
    later = task.due_at + dt.timedelta(hours=1)
    sweep_overdue(now=later)
    task.refresh_from_db()
    community_worker = Assignment.objects.get(division_id=task.resident.community_id).user
    assert task.assignee == community_worker and task.escalation_level == 1
    # outsiders are kept, visible city-wide, outside every jurisdiction
    assert PersonStatus.objects.filter(grid__isnull=True, person__registered=False).exists()
    assert get_user_model().objects.filter(username__startswith="grid-").exists()
