"""Open311 GeoReport v2: services, create, list, get, in JSON and XML; keys, scope, errors."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from assistance.models import HelpRequest
from core.models import ApiToken, ReadLog

pytestmark = pytest.mark.django_db


def xml_of(response) -> ET.Element:
    return ET.fromstring(response.content)  # noqa: S314 (the server under test wrote it)


def _issue(user) -> str:
    return ApiToken.issue(user, "civic app")[1]


@pytest.fixture
def key(grid_worker):
    return _issue(grid_worker)


def test_services_list_every_category(client):
    services = client.get("/open311/v2/services.json").json()
    assert {s["service_code"] for s in services} >= {"medicine", "groceries", "escort", "mental_health"}
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)
    root = xml_of(client.get("/open311/v2/services.xml"))
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    assert client.get("/open311/v2/services/escort.json").json() == {"service_code": "escort", "attributes": []}
    assert client.get("/open311/v2/services/pizza.json").status_code == 404
    assert client.get("/open311/v2/discovery.json").json()["endpoints"][0]["formats"]


def test_create_list_and_get(client, resident, grid_worker, key):
    response = client.post(
        "/open311/v2/requests.json",
        {"api_key": key, "service_code": "medicine", "description": "需要胰岛素", "phone": resident.phone},
    )
    assert response.status_code == 201, response.content
    created = response.json()[0]
    item = HelpRequest.objects.get()
    assert created["service_request_id"] == item.reference and item.channel == "open311"
    assert item.task.assignee == grid_worker and item.resident == resident and not item.phone_verified

    listed = client.get("/open311/v2/requests.json", {"api_key": key}).json()
    assert [r["service_request_id"] for r in listed] == [item.reference]
    row = listed[0]
    assert row["status"] == "open" and row["service_code"] == "medicine" and row["description"] == "需要胰岛素"
    assert row["expected_datetime"] and row["requested_datetime"].endswith("+08:00")
    assert ReadLog.objects.filter(user=grid_worker, object_id=resident.pk).exists()

    one = client.get(f"/open311/v2/requests/{item.reference}.json", {"api_key": key}).json()
    assert one[0]["service_request_id"] == item.reference
    xml = xml_of(client.get(f"/open311/v2/requests/{item.reference}.xml", {"api_key": key}))
    assert xml.tag == "service_requests" and xml.find("request/status").text == "open"

    assert client.get("/open311/v2/requests.json", {"api_key": key, "status": "closed"}).json() == []
    assert len(client.get("/open311/v2/requests.json", {"api_key": key, "service_code": "medicine"}).json()) == 1


def test_bad_requests_get_open311_errors_and_nothing_is_written(client, resident, grid_worker, key):
    no_key = client.post("/open311/v2/requests.json", {"service_code": "medicine", "description": "x"})
    assert no_key.status_code == 403 and no_key.json()[0]["code"] == 403
    cases = [
        {"service_code": "pizza", "description": "药", "phone": resident.phone},
        {"service_code": "medicine", "description": "", "phone": resident.phone},
        {"service_code": "medicine", "description": "药品", "phone": ""},
        {"service_code": "medicine", "description": "药品", "phone": resident.phone, "lat": "abc", "long": "1"},
        {"service_code": "medicine", "description": "药品", "phone": resident.phone, "lat": "30.6"},
    ]
    for data in cases:
        response = client.post("/open311/v2/requests.json", {"api_key": key, **data})
        assert response.status_code == 400, data
        assert response.json()[0]["description"]
    assert not HelpRequest.objects.exists()
    xml = client.post("/open311/v2/requests.xml", {"api_key": key, "service_code": "pizza", "phone": "1"})
    assert xml_of(xml).find("error/code").text == "400"
    assert client.get("/open311/v2/requests/H9999999.json", {"api_key": key}).status_code == 404
    assert client.get("/open311/v2/requests.json", {"api_key": key, "status": "maybe"}).status_code == 400


def test_a_key_sees_only_its_jurisdiction_and_what_it_filed(city, client, resident, grid_worker, key):
    from people.models import Resident

    other = Resident.objects.exclude(district_id=resident.district_id).first()
    outsider = city.staff("outsider", "grid_worker", city.grid("420106", 1))
    outsider_key = _issue(outsider)
    response = client.post(
        "/open311/v2/requests.json",
        {"api_key": outsider_key, "service_code": "groceries", "description": "买菜", "phone": resident.phone},
    )
    assert response.status_code == 201
    reference = response.json()[0]["service_request_id"]
    # the outsider filed it, so reads it; the grid worker reads it because it is in their grid
    assert [
        r["service_request_id"] for r in client.get("/open311/v2/requests.json", {"api_key": outsider_key}).json()
    ] == [reference]
    assert [r["service_request_id"] for r in client.get("/open311/v2/requests.json", {"api_key": key}).json()] == [
        reference
    ]
    mine = client.post(
        "/open311/v2/requests.json",
        {"api_key": outsider_key, "service_code": "groceries", "description": "买菜", "phone": other.phone},
    ).json()[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{mine}.json", {"api_key": key}).status_code == 404


def test_flooding_answers_429(client, resident, grid_worker, key):
    from core.policy import do_update_policy

    do_update_policy({"help_requests_per_phone_per_hour": 1}, None, "test")
    data = {"api_key": key, "service_code": "other", "description": "路灯", "phone": resident.phone}
    assert client.post("/open311/v2/requests.json", data).status_code == 201
    flooded = client.post("/open311/v2/requests.json", data)
    assert flooded.status_code == 429 and json.loads(flooded.content)[0]["code"] == 429
