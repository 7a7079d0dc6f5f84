"""Jurisdiction: every level sees exactly its part of the city, in pages, API, search and exports.

The matrix below is the generic permission check of style.md: anonymous, no assignment,
in scope, out of scope — for every page and endpoint that shows personal data.
"""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import ApiToken, ReadLog
from core.scoping import jurisdiction_of, restrict
from geo.models import Building, Compound, Division
from people.models import Resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def grid_worker(city):
    return city.staff("gridworker", "grid_worker", city.grid("420102", 1))


def urls_for(resident: Resident) -> dict[str, str]:
    return {
        "grid page": f"/geo/divisions/{resident.grid_id}/",
        "compound page": f"/geo/compounds/{resident.compound_id}/",
        "building page": f"/geo/buildings/{resident.building_id}/",
        "profile": f"/people/residents/{resident.pk}/",
        "api resident": f"/api/people/residents/{resident.pk}",
        "api building": f"/api/geo/buildings/{resident.building_id}",
        "api grid": f"/api/geo/divisions/{resident.grid_id}",
    }


def test_restrict_by_level(city):
    district = city.divisions["420102000000"]
    checks = {
        ("district_staff", "district", district): 20,
        ("street_staff", "street", city.divisions["420102001000"]): 20,
        ("community_staff", "community_worker", city.divisions["420106001001"]): 20,
        ("grid_staff", "grid_worker", city.grid("420106", 2)): 10,
        ("compound_cadre", "cadre", Compound.objects.order_by("code").first()): 10,
        ("building_cadre", "cadre", Building.objects.order_by("code").first()): 5,
        ("commander", "city_command", city.divisions["420100000000"]): 40,
    }
    for (username, role, node), expected in checks.items():
        user = city.staff(username, role, node)
        assert restrict(user, Resident.objects.all()).count() == expected, username
    assert jurisdiction_of(city.staff("district_cadre", "cadre", district)).everything is False


@pytest.mark.parametrize("page", list(urls_for(Resident(pk=1, grid_id=1, compound_id=1, building_id=1))))
def test_permission_matrix(city, grid_worker, page):
    inside = Resident.objects.filter(grid=city.grid("420102", 1)).first()
    outside = Resident.objects.filter(grid=city.grid("420106", 1)).first()
    anonymous = Client()
    response = anonymous.get(urls_for(inside)[page])
    assert response.status_code in {302, 401}, "anonymous must log in"

    unassigned = Client()
    from django.contrib.auth import get_user_model

    unassigned.force_login(get_user_model().objects.create_user("unassigned"))
    assert unassigned.get(urls_for(inside)[page]).status_code == 404

    worker = Client()
    worker.force_login(grid_worker)
    assert worker.get(urls_for(inside)[page]).status_code == 200
    assert worker.get(urls_for(outside)[page]).status_code == 404, "out of scope answers like missing"


def test_grid_worker_search_and_ledger_stay_in_the_grid(city, grid_worker):
    client = Client()
    client.force_login(grid_worker)
    own_grid = city.grid("420102", 1)
    outsider = Resident.objects.exclude(grid=own_grid).first()
    response = client.get("/people/search/", {"q": outsider.id_number})
    assert outsider.name not in response.content.decode()
    response = client.get("/api/people/residents", {"q": "居民"})
    grids = {row["grid_id"] for row in response.json()["results"]}
    assert grids == {own_grid.pk}
    response = client.get("/api/people/ledgers/chronic")
    assert response.json()["count"] == 6
    assert {row["grid_id"] for row in response.json()["results"]} == {own_grid.pk}


def test_identity_numbers_are_masked_and_reveal_is_logged(city, grid_worker):
    resident = Resident.objects.filter(grid=city.grid("420102", 1)).first()
    client = Client()
    client.force_login(grid_worker)
    page = client.get(f"/people/residents/{resident.pk}/").content.decode()
    assert resident.id_number not in page and resident.masked_id_number in page
    assert resident.phone not in page
    api = client.get(f"/api/people/residents/{resident.pk}").json()
    assert api["id_number"] == resident.masked_id_number and api["phone"] == resident.masked_phone
    revealed = client.post(f"/people/residents/{resident.pk}/reveal/").content.decode()
    assert resident.id_number in revealed
    actions = list(ReadLog.objects.filter(object_id=resident.pk, user=grid_worker).values_list("action", flat=True))
    assert set(actions) >= {"view", "api_view", "full_identity"}


def test_cadre_cannot_reveal(city):
    cadre = city.staff("cadre1", "cadre", Building.objects.order_by("code").first())
    resident = Resident.objects.filter(building=Building.objects.order_by("code").first()).first()
    client = Client()
    client.force_login(cadre)
    assert client.post(f"/people/residents/{resident.pk}/reveal/").status_code == 403
    assert client.get(f"/api/people/residents/{resident.pk}?full=true").status_code == 403


def test_exports_are_scoped_and_read_logged(city, grid_worker):
    client = Client()
    client.force_login(grid_worker)
    response = client.get("/people/ledgers/chronic/", {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 6
    assert all("*" in row[1] for row in rows[1:])
    assert ReadLog.objects.filter(user=grid_worker, action="export").count() == 6


def test_token_auth_applies_the_same_scope(city, grid_worker):
    _, key = ApiToken.issue(grid_worker, "test")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    inside = Resident.objects.filter(grid=city.grid("420102", 1)).first()
    outside = Resident.objects.filter(grid=city.grid("420106", 1)).first()
    assert client.get(f"/api/people/residents/{inside.pk}").status_code == 200
    assert client.get(f"/api/people/residents/{outside.pk}").status_code == 404
    assert Client(HTTP_AUTHORIZATION="Bearer wrong").get("/api/me").status_code == 401
    assert ReadLog.objects.filter(user=grid_worker, object_id=inside.pk, action="api_view").exists()


def test_divisions_listing_is_scoped(city, grid_worker):
    client = Client()
    client.force_login(grid_worker)
    codes = {row["code"] for row in client.get("/api/geo/divisions").json()}
    assert codes == {city.grid("420102", 1).code}
    assert Division.objects.count() > 1
