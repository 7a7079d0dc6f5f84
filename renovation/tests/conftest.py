"""Renovation fixtures: the small city with three old compounds (two in 江岸, one in 武昌) and one
built in 2001 (too new), a 2020–2022 programme with targets, and staff of each kind."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from geo.models import Compound
from renovation.models import Programme
from renovation.services import do_create_programme, do_set_target

JIANGAN, WUCHANG = "420102000000", "420106000000"
OLD_A, OLD_B = "420102001001001-01", "420102001001002-01"  # 江岸, built 1995 and 1988
OLD_C, NEW = "420106001001001-01", "420106001001002-01"  # 武昌, built 1999; 2001 (too new)
DAY = dt.date(2021, 3, 1)


@dataclass
class Setting:
    programme: Programme
    old_a: Compound
    old_b: Compound
    old_c: Compound
    new: Compound


@pytest.fixture
def setting(city, settings, tmp_path) -> Setting:
    settings.MEDIA_ROOT = tmp_path / "media"
    Compound.objects.filter(code=OLD_A).update(built_year=1995)
    Compound.objects.filter(code=OLD_B).update(built_year=1988)
    Compound.objects.filter(code=OLD_C).update(built_year=1999)
    programme = do_create_programme("WH-2020", "武汉市老旧小区改造", 2020, 2022)
    d = city.divisions
    do_set_target(programme, 2021, d[JIANGAN], to_start=2, to_finish=1, budget=800)
    do_set_target(programme, 2021, d[WUCHANG], to_start=1, to_finish=1, budget=300)
    do_set_target(programme, 2021, None, to_start=3, to_finish=2, budget=1100)
    compounds = {c.code: c for c in Compound.objects.all()}
    return Setting(programme, compounds[OLD_A], compounds[OLD_B], compounds[OLD_C], compounds[NEW])


@pytest.fixture
def district_user(city, setting):
    """江岸's district staff: view and manage, in 江岸 only."""
    return city.staff("ds", "district", city.divisions[JIANGAN])


@pytest.fixture
def other_district_user(city, setting):
    return city.staff("ws", "district", city.divisions[WUCHANG])


@pytest.fixture
def community_user(city, setting):
    """江岸's community worker: views, cannot manage."""
    return city.staff("cw", "community_worker", city.divisions["420102001001"])


@pytest.fixture
def cadre(city, setting):
    """A cadre in 江岸: no renovation permission at all."""
    return city.staff("cadre", "cadre", city.divisions["420102001001"])


@pytest.fixture
def city_user(city, setting):
    return city.staff("cc", "city_command", city.divisions["420100000000"])
