"""Reopening fixtures: the small city with school venues, four units imported through ``units``
(a school and a factory in 江岸, a school and a shop in 武昌), staff at every level, a unit contact,
and evidence files."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from core.imports.runner import run_import
from reopening.models import Unit
from reopening.services import do_add_contact
from tests_support.city import to_csv

VENUES = [
    {
        "venue_code": "V420102000001",
        "name": "江岸第一小学",
        "kind": "school",
        "lat": "30.6",
        "lon": "114.3",
        "grid_code": "420102001001001",
    },
    {
        "venue_code": "V420102000002",
        "name": "江岸菜场",
        "kind": "market",
        "lat": "30.6",
        "lon": "114.3",
        "grid_code": "420102001001002",
    },
    {
        "venue_code": "V420106000001",
        "name": "武昌实验中学",
        "kind": "school",
        "lat": "30.5",
        "lon": "114.3",
        "grid_code": "420106001001001",
    },
]
UNITS = [
    {
        "code": "S420102000001",
        "name": "江岸第一小学",
        "kind": "school",
        "sector": "primary",
        "compound_code": "",
        "venue_code": "V420102000001",
        "staff": "60",
        "pupils": "900",
        "registered_on": "2020-01-01",
    },
    {
        "code": "E42010200100101",
        "name": "江岸机械厂",
        "kind": "enterprise",
        "sector": "manufacturing",
        "compound_code": "420102001001002-01",
        "venue_code": "",
        "staff": "100",
        "pupils": "",
        "registered_on": "2020-01-01",
    },
    {
        "code": "S420106000001",
        "name": "武昌实验中学",
        "kind": "学校",
        "sector": "高中",
        "compound_code": "",
        "venue_code": "V420106000001",
        "staff": "120",
        "pupils": "1500",
        "registered_on": "2020-01-01",
    },
    {
        "code": "E42010600100101",
        "name": "武昌超市",
        "kind": "企业",
        "sector": "retail",
        "compound_code": "420106001001002-01",
        "venue_code": "",
        "staff": "20",
        "pupils": "",
        "registered_on": "2020-01-01",
    },
]


@dataclass
class Place:
    school: Unit
    factory: Unit
    other_school: Unit
    other_shop: Unit
    contact: object
    street: object
    district: object
    community: object
    grid: object
    other_street: object
    nobody: object


@pytest.fixture
def place(city) -> Place:
    for kind, rows in (("venues", VENUES), ("units", UNITS)):
        batch = run_import(kind, to_csv(rows), filename=f"{kind}.csv")
        assert not batch.rejected, batch.rejected
    d = city.divisions
    units = {u.code: u for u in Unit.objects.all()}
    contact = get_user_model().objects.create_user("contact", password="pw-contact")
    do_add_contact(units["S420102000001"], contact)
    return Place(
        school=units["S420102000001"],
        factory=units["E42010200100101"],
        other_school=units["S420106000001"],
        other_shop=units["E42010600100101"],
        contact=contact,
        street=city.staff("street", "street", d["420102001000"]),
        district=city.staff("district", "district", d["420102000000"]),
        community=city.staff("cw", "community_worker", d["420102001001"]),
        grid=city.staff("gw", "grid_worker", d["420102001001001"]),
        other_street=city.staff("street2", "street", d["420106001000"]),
        nobody=get_user_model().objects.create_user("nobody", password="pw-nobody"),
    )


def png_bytes(colour=(200, 220, 240)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG carrying EXIF (as a phone's camera writes it): the server must drop it."""
    from PIL import Image

    image = Image.new("RGB", (40, 30), (10, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def fill_evidence(application, by) -> None:
    """Evidence for every item of a draft (distinct files, so none is a repeat of another)."""
    from reopening.services import do_add_evidence

    for i, entry in enumerate(application.entries.order_by("position")):
        do_add_evidence(application, entry.item, png_bytes((i * 20 % 255, 100, 150)), f"{entry.item}.png", by)


def record(rows: list[tuple[str, str, str]]) -> None:
    """Record status changes (unit code, ISO time, status) through the ``unit_status`` import."""
    data = [{"unit_code": c, "at": at, "status": s, "reason": "区复工复学名单"} for c, at, s in rows]
    batch = run_import("unit_status", to_csv(data), filename="status.csv")
    assert not batch.rejected, batch.rejected
