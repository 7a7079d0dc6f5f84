"""The care API: visits due and recording a visit; group orders from opening to done; permission
(403), jurisdiction (404) and bad input (400)."""

from __future__ import annotations

import datetime as dt
import json

from django.test import Client
from django.utils import timezone

from care.models import CareVisit, GroupOrder
from care.tests.support import care_staff, members_since
from care.visits import do_open_overdue_visits
from core.models import ApiToken, ReadLog
from geo.models import Household
from people.models import Resident
from tasks.choices import TaskStatus, TaskType
from tasks.models import Task


def api(user) -> Client:
    _, key = ApiToken.issue(user, "care app")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client: Client, url: str, data: dict):
    return client.post(url, json.dumps(data, default=str), content_type="application/json")


def test_visits_due_and_recording_one(city):
    members_since(30)
    grid = city.grid("420102", 1)
    worker = care_staff(city, "gw", "grid_worker", grid)
    do_open_overdue_visits()
    client = api(worker)
    page = client.get("/api/care/visits/due", {"overdue": "true", "limit": 2}).json()
    assert page["count"] == 6 and len(page["results"]) == 2
    first = page["results"][0]
    assert first["days_overdue"] >= 16 and "*" in first["id_number"] and "*" in first["phone"]
    assert ReadLog.objects.filter(user=worker, action="api_view", object_id=first["resident_id"]).exists()
    assert client.get("/api/care/visits/due", {"group": "child"}).status_code == 400

    response = post(
        client,
        "/api/care/visits",
        {"resident_id": first["resident_id"], "kind": "phone", "wellbeing": "needs_help", "needs": ["medicine"]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    task = Task.objects.get(resident_id=first["resident_id"], task_type=TaskType.CARE_VISIT)
    assert body["task_id"] == task.pk and body["needs"] == ["medicine"]
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED
    assert client.get("/api/care/visits/due", {"overdue": "true"}).json()["count"] == 5
    bad = post(client, "/api/care/visits", {"resident_id": first["resident_id"], "wellbeing": "fine"})
    assert bad.status_code == 400

    elsewhere = Resident.objects.exclude(grid=grid).first()
    assert post(client, "/api/care/visits", {"resident_id": elsewhere.pk, "wellbeing": "well"}).status_code == 404
    plain = care_staff(city, "plain", "cadre", grid, manage=False)
    visit = {"resident_id": first["resident_id"], "wellbeing": "well"}
    assert post(api(plain), "/api/care/visits", visit).status_code == 403
    assert CareVisit.objects.count() == 1


def test_a_group_order_through_the_api(city, building, worker, volunteer, outsider):
    client = api(worker)
    closes = timezone.now() + dt.timedelta(hours=2)
    created = post(
        client,
        "/api/care/orders",
        {
            "building_id": building.pk,
            "title": "药品团购",
            "kind": "medicine",
            "closes_at": closes.isoformat(),
            "items": [{"name": "降压药", "unit": "盒", "unit_price": "21.5"}],
        },
    )
    assert created.status_code == 201, created.content
    order = created.json()
    (item,) = order["items"]
    assert order["status"] == "open" and order["community_id"] == building.community_id
    h1, h2 = Household.objects.filter(building=building).order_by("room")[:2]
    url = f"/api/care/orders/{order['id']}"
    assert post(client, f"{url}/lines", {"household_id": h1.pk, "quantities": {str(item["id"]): 2}}).status_code == 200
    assert (
        post(client, f"{url}/lines", {"household_id": h2.pk, "quantities": {item["id"]: 1}}).json()["items"][0][
            "quantity"
        ]
        == 3
    )
    assert post(client, f"{url}/lines", {"household_id": h2.pk, "quantities": {item["id"]: -1}}).status_code == 400
    other_house = Household.objects.exclude(building__community=building.community).first()
    elsewhere = {"household_id": other_house.pk, "quantities": {item["id"]: 1}}
    assert post(client, f"{url}/lines", elsewhere).status_code == 404
    assert post(client, f"{url}/transition", {"to": "delivering"}).status_code == 409
    assert post(client, f"{url}/transition", {"to": "ordered"}).json()["status"] == "ordered"
    started = post(client, f"{url}/transition", {"to": "delivering"}).json()
    assert started["status"] == "delivering" and started["task_id"]
    helper = api(volunteer)
    assert post(helper, f"{url}/transition", {"to": "cancelled"}).status_code == 403
    done = post(helper, f"{url}/deliveries", {"household_ids": [h1.pk, h2.pk]}).json()
    assert done == {"recorded": 2, "status": "done"}
    assert post(helper, f"{url}/deliveries", {"household_ids": [h1.pk]}).status_code == 409  # done
    assert Task.objects.get(pk=started["task_id"]).status == TaskStatus.CLOSED
    listed = client.get("/api/care/orders", {"status": "done"}).json()
    assert [o["id"] for o in listed] == [order["id"]] and listed[0]["households"] == 2
    assert api(outsider).get(url).status_code == 404
    assert api(outsider).get("/api/care/orders").json() == []
    out_of_scope = post(
        api(outsider),
        "/api/care/orders",
        {
            "building_id": building.pk,
            "title": "x",
            "closes_at": closes.isoformat(),
            "items": [{"name": "米", "unit_price": 1}],
        },
    )
    assert out_of_scope.status_code == 404
    assert GroupOrder.objects.count() == 1
