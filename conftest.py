"""Test-wide fixtures: a small city built through the real import path, and staff at every level."""

from __future__ import annotations

import pytest

from tests_support.city import build_small_city


@pytest.fixture
def city(db):
    """Two districts, streets, communities, grids, compounds, buildings and residents, imported."""
    return build_small_city()
