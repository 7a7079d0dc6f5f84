"""Care fixtures: SMS into memory for resident sign-ins, a building with its staff."""

from __future__ import annotations

import pytest

from care.tests.support import care_staff
from residents.tests.conftest import outbox  # noqa: F401 (autouse: SMS into memory)

BUILDING = "420102001001001-01-01"


@pytest.fixture
def building(city):
    return city.buildings[BUILDING]


@pytest.fixture
def worker(city):
    """A community worker of 江岸's community, with care.manage_care."""
    return care_staff(city, "cw", "community_worker", city.divisions["420102001001"])


@pytest.fixture
def volunteer(city, building):
    """The building's cadre (answerable for deliver tasks), without care.manage_care."""
    return care_staff(city, "cadre", "cadre", building, manage=False)


@pytest.fixture
def outsider(city):
    """A community worker of 武昌, with the permission but not the jurisdiction."""
    return care_staff(city, "other", "community_worker", city.divisions["420106001001"])
