"""Fixtures of the early-warning tests: a quick scan, and the district's CDC epidemiologist."""

from __future__ import annotations

import pytest

from core.choices import StaffRole
from core.policy import do_update_policy
from geo.models import Division


@pytest.fixture
def quick_scan(db):
    do_update_policy({"ewarn_scan": {"replications": 99}}, None, "tests")


@pytest.fixture
def epidemiologist(city):
    user = city.staff("cdc_jiangan", StaffRole.CDC_EPIDEMIOLOGIST, Division.objects.get(code="420102000000"))
    return user
