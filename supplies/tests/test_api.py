"""The supplies API: depots with stock and shortfalls, movements, transfers, the ledger as JSON;
permission (403), jurisdiction (404) and negative stock (400, nothing written)."""

from __future__ import annotations

import json

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from supplies.choices import MovementKind
from supplies.models import Movement, Stock
from supplies.services import do_record_movement, do_set_level
from supplies.tests.conftest import supplies_staff
from tests_support.clients import token_client


def api(user) -> Client:
    return token_client(user, "supplies")


def post(client: Client, url: str, data: dict):
    return client.post(url, json.dumps(data, default=str), content_type="application/json")


def test_depot_list_is_scoped_with_shortfalls_first(reserves, district_staff):
    do_set_level(reserves.district, reserves.n95, 0)
    do_set_level(reserves.community, reserves.n95, 10)
    do_set_level(reserves.community, reserves.suits, 0)
    client = api(district_staff)
    body = client.get("/api/supplies/depots").json()
    assert body["count"] == 3
    first = body["results"][0]
    assert first["id"] == reserves.community.pk and first["shortfalls"] == 1
    assert {s["item_code"]: s["shortfall"] for s in first["stock"]} == {"N95": 10, "SUIT": 0}
    assert first["stock"][0]["restock_task_id"] is not None
    assert [d["id"] for d in client.get("/api/supplies/depots", {"shortfall": "true"}).json()["results"]] == [
        reserves.community.pk
    ]
    assert client.get(f"/api/supplies/depots/{reserves.other_community.pk}").status_code == 404
    assert client.get(f"/api/supplies/depots/{reserves.district.pk}").json()["name"] == "江岸区储备库"


def test_depot_list_query_budget(reserves, district_staff):
    for depot in (reserves.district, reserves.community, reserves.hospital):
        do_set_level(depot, reserves.n95, 0)
        do_set_level(depot, reserves.suits, 0)
    client = api(district_staff)
    client.get("/api/supplies/depots")  # warm caches
    with CaptureQueriesContext(connection) as few:
        client.get("/api/supplies/depots")
    do_set_level(reserves.other_community, reserves.n95, 0)
    with CaptureQueriesContext(connection) as same:
        api_city = client.get("/api/supplies/depots")
    assert api_city.status_code == 200
    assert len(same) == len(few) <= 12


def test_movements_and_the_ledger(reserves, worker):
    do_set_level(reserves.community, reserves.n95, 0)
    client = api(worker)
    made = post(
        client,
        "/api/supplies/movements",
        {"depot_id": reserves.community.pk, "item_code": "N95", "kind": "receipt", "quantity": 60, "reference": "R1"},
    )
    assert made.status_code == 201, made.content
    assert made.json()["balance"] == 60
    refused = post(
        client,
        "/api/supplies/movements",
        {"depot_id": reserves.community.pk, "item_code": "N95", "kind": "issue", "quantity": 61},
    )
    assert refused.status_code == 400 and "negative" in refused.json()["detail"]
    assert Movement.objects.count() == 1
    bad_kind = {"depot_id": reserves.community.pk, "item_code": "N95", "kind": "transfer_in", "quantity": 1}
    assert post(client, "/api/supplies/movements", bad_kind).status_code == 400
    unknown = {"depot_id": reserves.community.pk, "item_code": "NOPE", "kind": "receipt", "quantity": 1}
    assert post(client, "/api/supplies/movements", unknown).status_code == 404
    elsewhere = {"depot_id": reserves.other_community.pk, "item_code": "N95", "kind": "receipt", "quantity": 1}
    assert post(client, "/api/supplies/movements", elsewhere).status_code == 404

    ledger = client.get(f"/api/supplies/depots/{reserves.community.pk}/ledger").json()
    assert ledger["depot"]["stock"][0]["quantity"] == 60
    assert ledger["count"] == 1 and ledger["movements"][0]["reference"] == "R1"
    assert ledger["movements"][0]["user"] == "cw"
    assert client.get(f"/api/supplies/depots/{reserves.other_community.pk}/ledger").status_code == 404


def test_transfers_through_the_api(reserves, district_staff):
    stock = do_set_level(reserves.district, reserves.n95, 0)
    do_record_movement(stock, MovementKind.RECEIPT, 100)
    client = api(district_staff)
    payload = {"from_depot_id": reserves.district.pk, "to_depot_id": reserves.hospital.pk, "item_code": "N95"}
    made = post(client, "/api/supplies/transfers", payload | {"quantity": 70})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["out"]["balance"] == 30 and body["into"]["balance"] == 70
    assert body["out"]["counterpart_depot_id"] == reserves.hospital.pk
    refused = post(client, "/api/supplies/transfers", payload | {"quantity": 31})
    assert refused.status_code == 400
    assert Stock.objects.get(depot=reserves.hospital, item=reserves.n95).quantity == 70
    out_of_scope = payload | {"to_depot_id": reserves.other_community.pk, "quantity": 1}
    assert post(client, "/api/supplies/transfers", out_of_scope).status_code == 404


def test_recording_needs_the_permission(city, reserves):
    reader = supplies_staff(city, "ro", "grid_worker", city.divisions["420102001001"], manage=False)
    do_set_level(reserves.community, reserves.n95, 0)
    client = api(reader)
    assert client.get("/api/supplies/depots").status_code == 200
    payload = {"depot_id": reserves.community.pk, "item_code": "N95", "kind": "receipt", "quantity": 1}
    assert post(client, "/api/supplies/movements", payload).status_code == 403
