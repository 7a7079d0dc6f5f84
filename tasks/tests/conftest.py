"""Fixtures of the task tests: staff along one 包保 chain of the small city, and a task factory."""

from __future__ import annotations

import pytest

from people.models import Resident
from tasks.services import do_open_task
from tests_support.permissions import grant

GRID = ("420102", 1)


def grant_manage(user) -> None:
    """The task-manager permission (core.roles would give it to community staff and above)."""
    grant(user, "tasks.manage_task")


@pytest.fixture
def grid(city):
    return city.grid(*GRID)


@pytest.fixture
def resident(grid):
    return Resident.objects.filter(grid=grid).order_by("id").first()


@pytest.fixture
def grid_worker(city, grid):
    return city.staff("grid_worker", "grid_worker", grid)


@pytest.fixture
def community_worker(city, grid):
    user = city.staff("community_worker", "community_worker", grid.community)
    grant_manage(user)
    return user


@pytest.fixture
def street_worker(city, grid):
    user = city.staff("street_worker", "street", grid.street)
    grant_manage(user)
    return user


@pytest.fixture
def open_task(resident):
    def make(task_type="follow_up", subject=None, **kwargs):
        kwargs.setdefault("title", f"{task_type} task")
        return do_open_task(task_type, subject=subject or resident, **kwargs)

    return make
