"""Fixtures of the help-request tests: staff along one 包保 chain of the small city (a cadre for one
building, grid, community and street workers), a registered resident, photos."""

from __future__ import annotations

import io

import pytest

from people.models import Resident
from tests_support.permissions import grant

GRID = ("420102", 1)


@pytest.fixture
def grid(city):
    return city.grid(*GRID)


@pytest.fixture
def resident(grid):
    return Resident.objects.filter(grid=grid).order_by("id").first()


@pytest.fixture
def cadre(city, resident):
    return city.staff("cadre", "cadre", resident.building)


@pytest.fixture
def grid_worker(city, grid):
    user = city.staff("grid_worker", "grid_worker", grid)
    grant(user, "assistance.take_help_request")
    return user


@pytest.fixture
def community_worker(city, grid):
    user = city.staff("community_worker", "community_worker", grid.community)
    grant(user, "tasks.manage_task")
    grant(user, "assistance.take_help_request")
    return user


@pytest.fixture
def street_worker(city, grid):
    user = city.staff("street_worker", "street", grid.street)
    grant(user, "tasks.manage_task")
    return user


def image_bytes(fmt: str = "JPEG", size=(64, 48), exif_gps: bool = False) -> bytes:
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    kwargs = {}
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (30.0, 35.0, 0.0)}  # GPS IFD
        kwargs["exif"] = exif
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()
