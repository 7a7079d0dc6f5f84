"""Supply fixtures: the small city's reserve depots (city, 江岸 district, 江岸's community, 武昌's
community, a 江岸 hospital), two items, and staff with and without supplies.manage_supplies."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from beds.models import Facility
from supplies.choices import DepotTier, ItemCategory
from supplies.models import Depot, Item
from supplies.services import do_create_depot
from tests_support.permissions import grant

MANAGE = "supplies.manage_supplies"


@dataclass
class Reserves:
    city: Depot
    district: Depot
    community: Depot
    other_community: Depot
    hospital: Depot
    n95: Item
    suits: Item


@pytest.fixture
def reserves(city) -> Reserves:
    d = city.divisions
    facility = Facility.objects.create(
        code="H001", name="金银潭医院", kind="designated_hospital", categories="confirmed", district=d["420102000000"]
    )
    return Reserves(
        city=do_create_depot(DepotTier.CITY, "市级储备库", division=d["420100000000"]),
        district=do_create_depot(DepotTier.DISTRICT, "江岸区储备库", division=d["420102000000"]),
        community=do_create_depot(DepotTier.COMMUNITY, "江岸社区物资点", division=d["420102001001"]),
        other_community=do_create_depot(DepotTier.COMMUNITY, "武昌社区物资点", division=d["420106001001"]),
        hospital=do_create_depot(DepotTier.HOSPITAL, "金银潭物资库", facility=facility),
        n95=Item.objects.create(code="N95", name="N95口罩", unit="只", category=ItemCategory.MASK),
        suits=Item.objects.create(code="SUIT", name="防护服", unit="套", category=ItemCategory.PROTECTIVE_SUIT),
    )


def supplies_staff(city, username: str, role: str, node, manage: bool = True):
    user = city.staff(username, role, node)
    if manage:
        grant(user, MANAGE)
    return user


@pytest.fixture
def worker(city, reserves):
    """江岸's community worker, with supplies.manage_supplies."""
    return supplies_staff(city, "cw", "community_worker", city.divisions["420102001001"])


@pytest.fixture
def district_staff(city, reserves):
    return supplies_staff(city, "ds", "district", city.divisions["420102000000"])
