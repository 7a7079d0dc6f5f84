"""Workforce fixtures on the small city: workers posted to 江岸's two grids (420102001001001/002) and
武昌's first grid, imported through the real ``workers`` kind; duty days written through
``duty_roster``; staff with and without the workforce permissions."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import pytest
from django.utils import timezone

from core.choices import StaffRole
from core.imports.runner import run_import
from core.roles import grant_role
from workforce.models import Worker

G1, G2 = "420102001001001", "420102001001002"  # 江岸's grids
W1 = "420106001001001"  # 武昌's first grid


def worker_rows() -> list[dict]:
    return [
        {"worker_code": "JA-01", "name": "王伟", "kind": "网格员", "grid_code": G1, "phone": "13800000001"},
        {"worker_code": "JA-02", "name": "李娜", "kind": "下沉干部", "grid_code": G1, "phone": "13800000002",
         "organisation": "武汉市财政局"},
        {"worker_code": "JA-03", "name": "张强", "kind": "community_worker", "grid_code": G2, "phone": "13800000003"},
        {"worker_code": "JA-04", "name": "刘洋", "kind": "volunteer", "grid_code": G2, "phone": ""},
        {"worker_code": "WC-01", "name": "陈静", "kind": "grid_worker", "grid_code": W1, "phone": "13900000001"},
    ]  # fmt: skip


def to_csv(rows: list[dict]) -> bytes:
    """Rows as CSV with every column any row names (a missing cell is empty)."""
    headers = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=headers, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def import_rows(kind: str, rows: list[dict]):
    return run_import(kind, to_csv(rows), filename=f"{kind}.csv", source="import")


def duty_rows(code: str, grid: str, last: dt.date, days: int, hours: float = 10, skip: tuple[int, ...] = ()) -> list:
    """``days`` duty rows ending on ``last``; ``skip`` are offsets back from ``last`` not worked."""
    return [
        {"worker_code": code, "date": (last - dt.timedelta(days=k)).isoformat(), "grid_code": grid, "hours": hours}
        for k in range(days)
        if k not in skip
    ]


@dataclass
class Staffing:
    workers: dict[str, Worker]
    yesterday: dt.date


@pytest.fixture
def staffing(city) -> Staffing:
    batch = import_rows("workers", worker_rows())
    assert not batch.rejected, batch.rejected
    return Staffing({w.code: w for w in Worker.objects.all()}, timezone.localdate() - dt.timedelta(days=1))


def staff(city, username: str, role: str, node):
    return city.staff(username, role, node)


@pytest.fixture
def street_user(city, staffing):
    """江岸's street staff: view_roster and plan_rotation through the street role."""
    return staff(city, "st", StaffRole.STREET, city.divisions["420102001000"])


@pytest.fixture
def counsellor(city):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("couns", password="pw-couns")
    grant_role(user, StaffRole.COUNSELLOR)
    return user
