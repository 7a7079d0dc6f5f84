"""Routing correctness: a synthetic day of requests from every resident of the small city, with staff
on some buildings, grids and communities only; each request must land with the answerable person of
the nearest staffed level at or above the resident's building, worked out here independently."""

from __future__ import annotations

import random

import pytest

from assistance.choices import HelpCategory
from assistance.services import Ask, do_ask
from geo.models import Building, Division
from people.models import Resident

pytestmark = pytest.mark.django_db


def test_every_request_of_a_day_lands_with_the_answerable_person(city):
    rng = random.Random(2020)
    buildings = list(Building.objects.order_by("id"))
    grids = list(Division.objects.filter(level="grid").order_by("id"))
    communities = list(Division.objects.filter(level="community").order_by("id"))
    staffed: dict[tuple[str, int], object] = {}
    for n, building in enumerate(buildings[::3]):
        staffed[("building", building.pk)] = city.staff(f"cadre{n}", "cadre", building)
    for n, grid in enumerate(grids[::2]):
        staffed[("grid", grid.pk)] = city.staff(f"grid{n}", "grid_worker", grid)
    for n, community in enumerate(communities[:1]):
        staffed[("community", community.pk)] = city.staff(f"community{n}", "community_worker", community)
    street = Division.objects.filter(level="street").order_by("id").last()  # its community has nobody
    staffed[("street", street.pk)] = city.staff("street0", "street", street)

    def expected(resident: Resident):
        for level, node in (
            ("building", resident.building_id),
            ("grid", resident.grid_id),
            ("community", resident.community_id),
            ("street", resident.street_id),
            ("district", resident.district_id),
        ):
            if (level, node) in staffed:
                return staffed[(level, node)], level
        return None, "building"

    residents = list(Resident.objects.order_by("id"))
    categories = list(HelpCategory.values)
    made = []
    for n in range(120):
        resident = rng.choice(residents)
        made.append(
            (
                resident,
                do_ask(
                    Ask(category=rng.choice(categories), text=f"第{n}个请求", phone=f"139{n:08d}", resident=resident)
                ),
            )
        )
    wrong = []
    for resident, item in made:
        user, level = expected(resident)
        task = item.task
        if task.assignee != user or (user is not None and task.assigned_level != level):
            wrong.append((item.reference, task.assignee, task.assigned_level, user, level))
        if user is None:
            assert task.status == "registered"  # nobody up the chain: waits, never dropped
    assert wrong == []
    assert {level for _, level in map(expected, [r for r, _ in made])} >= {"building", "grid", "street"}
