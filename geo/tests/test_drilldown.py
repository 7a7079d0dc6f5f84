"""Drill-down pages and the 包保 chain, with query-count budgets so N+1 regressions fail."""

from __future__ import annotations

import pytest
from django.test import Client

from geo.models import Building, Division
from geo.services import answerable_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def commander(city):
    return city.staff("commander", "city_command", city.divisions["420100000000"])


def test_answerable_chain_from_building_to_city(city):
    building = Building.objects.order_by("code").first()
    city.staff("cadre_b", "cadre", building)
    city.staff("grid_g", "grid_worker", building.grid)
    city.staff("comm_c", "community_worker", building.community)
    city.staff("city_x", "city_command", city.divisions["420100000000"])
    chain = answerable_chain(building)
    assert [link.level for link in chain] == ["building", "compound", "grid", "community", "street", "district", "city"]
    names = {link.level: [a.user.username for a in link.assignments] for link in chain}
    assert names["building"] == ["cadre_b"] and names["grid"] == ["grid_g"] and names["community"] == ["comm_c"]
    assert names["street"] == [] and names["city"] == ["city_x"]


def test_whole_city_users_land_on_the_city_s_command_centre(city, commander):
    """issue #10: the home of whole-city staff is the city's dashboard, which leads to the
    city's drill-down lists."""
    client = Client()
    client.force_login(commander)
    response = client.get("/")
    assert response.status_code == 200 and b"dash-map" in response.content
    assert f'href="/geo/divisions/{city.divisions["420100000000"].pk}/"'.encode() in response.content


def test_home_lists_a_grid_workers_grid(city):
    worker = city.staff("g1", "grid_worker", city.grid("420106", 2))
    client = Client()
    client.force_login(worker)
    page = client.get("/").content.decode()
    assert "第2网格" in page and city.grid("420106", 2).code in page


@pytest.mark.parametrize("level", ["city", "district", "street", "community", "grid"])
def test_division_pages_show_counts_within_budget(city, commander, level, django_assert_max_num_queries):
    node = Division.objects.filter(level=level).order_by("code").first()
    client = Client()
    client.force_login(commander)
    client.get("/")  # warm the session
    with django_assert_max_num_queries(13):  # one more: the risk-level panel
        response = client.get(f"/geo/divisions/{node.pk}/")
    assert response.status_code == 200
    expected = {"city": "40", "district": "20", "street": "20", "community": "20", "grid": "10"}[level]
    assert f'<div class="n">{expected}</div>' in response.content.decode()


def test_building_page_budget_and_chain(city, commander, django_assert_max_num_queries):
    building = Building.objects.order_by("code").first()
    client = Client()
    client.force_login(commander)
    client.get("/")
    with django_assert_max_num_queries(15):  # one more: the risk-level panel
        response = client.get(f"/geo/buildings/{building.pk}/")
    page = response.content.decode()
    assert response.status_code == 200 and "101" in page and "201" in page
    assert page.count("/people/residents/") == 5
    from core.models import ReadLog

    assert ReadLog.objects.filter(user=commander, action="list", model="people.resident").count() == 5


def test_divisions_api_budget(city, commander, django_assert_max_num_queries):
    client = Client()
    client.force_login(commander)
    client.get("/api/me")
    with django_assert_max_num_queries(10):
        rows = client.get("/api/geo/divisions").json()
    assert len(rows) == 1 + 2 * 3 + 4
    assert next(r for r in rows if r["level"] == "city")["counts"]["residents"] == 40
