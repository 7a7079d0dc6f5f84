"""Person search (identity number, phone, name) and key-group ledgers, with their audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from core.models import ReadLog
from people.models import Resident
from people.services import LedgerFilter, ledger_queryset, search_queryset

pytestmark = pytest.mark.django_db


@pytest.fixture
def commander(city):
    return city.staff("commander", "city_command", city.divisions["420100000000"])


def test_search_reads_the_query(city, commander):
    resident = Resident.objects.order_by("id").first()
    assert search_queryset(commander, resident.id_number.lower())[0] == "id_number"
    method, qs = search_queryset(commander, resident.phone[:3] + " " + resident.phone[3:])
    assert method == "phone" and list(qs) == [resident]
    method, qs = search_queryset(commander, "居民00")
    assert method == "name" and qs.count() == 8  # 居民002 … 居民009


def test_search_page_logs_every_result(city, commander, django_assert_max_num_queries):
    client = Client()
    client.force_login(commander)
    client.get("/")
    with django_assert_max_num_queries(10):
        response = client.get("/people/search/", {"q": "居民0"})
    assert response.status_code == 200
    assert ReadLog.objects.filter(user=commander, action="search").count() == 40


def test_ledger_filters(city, commander):
    today = dt.date(2026, 6, 1)
    chronic = ledger_queryset(commander, LedgerFilter(group="chronic"), today)
    assert chronic.count() == 24
    assert ledger_queryset(commander, LedgerFilter(group="chronic", age_min=80), today).count() == 8
    assert ledger_queryset(commander, LedgerFilter(group="chronic", age_max=79), today).count() == 16
    assert ledger_queryset(commander, LedgerFilter(group="chronic", sex="M"), today).count() == 0
    grid = city.grid("420102", 2)
    assert ledger_queryset(commander, LedgerFilter(group="elderly_alone", node=("grid", grid.pk)), today).count() == 2


def test_ledger_page_budget(city, commander, django_assert_max_num_queries):
    client = Client()
    client.force_login(commander)
    client.get("/")
    with django_assert_max_num_queries(10):
        response = client.get("/people/ledgers/chronic/", {"age_min": "60"})
    assert response.status_code == 200
    assert response.content.decode().count("/people/residents/") == 8
    index = client.get("/people/ledgers/").content.decode()
    assert "24" in index


def test_profile_shows_household_and_history(city, commander):
    resident = Resident.objects.filter(tags="chronic").first()
    client = Client()
    client.force_login(commander)
    page = client.get(f"/people/residents/{resident.pk}/").content.decode()
    housemate = Resident.objects.filter(household=resident.household).exclude(pk=resident.pk).get()
    assert housemate.name in page
    assert ReadLog.objects.filter(user=commander, object_id=resident.pk, action="view").count() == 1
