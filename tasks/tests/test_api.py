"""The task API: scoped list and detail, transitions, assignment, bulk actions, notifications."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from core.models import ApiToken
from people.models import Resident
from tasks.models import Notification, Task

pytestmark = pytest.mark.django_db


def api(user) -> Client:
    _, key = ApiToken.issue(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


@pytest.fixture
def tasks(city, open_task, grid_worker, community_worker):
    other = Resident.objects.filter(grid=city.grid("420102", 2)).first()
    return [open_task("follow_up", title=f"mine {i}") for i in range(3)], [
        open_task("follow_up", subject=other, title="theirs")
    ]


def test_list_is_scoped_and_filtered(tasks, grid_worker, community_worker, django_assert_max_num_queries):
    client = api(grid_worker)
    client.get("/api/me")
    with django_assert_max_num_queries(9):
        body = client.get("/api/tasks").json()
    assert body["count"] == 3 and {r["title"] for r in body["results"]} == {"mine 0", "mine 1", "mine 2"}
    row = body["results"][0]
    assert row["subject_kind"] == "resident" and "*" in row["subject"] and row["assignee"] == "grid_worker"
    assert api(community_worker).get("/api/tasks").json()["count"] == 4
    # grid 2 has no grid worker: its task went to the community worker
    assert api(community_worker).get("/api/tasks", {"assignee": "me"}).json()["count"] == 1
    assert client.get("/api/tasks", {"status": "closed"}).json()["count"] == 0
    assert client.get("/api/tasks", {"overdue": "true"}).json()["count"] == 0
    assert Client().get("/api/tasks").status_code == 401


def test_detail_and_out_of_scope(tasks, grid_worker):
    mine, theirs = tasks
    client = api(grid_worker)
    body = client.get(f"/api/tasks/{mine[0].pk}").json()
    assert body["moves"] == ["handling"]  # cancelling is a manager's move
    assert [e["to_status"] for e in body["events"]] == ["reported", "registered", "dispatched"]
    assert client.get(f"/api/tasks/{theirs[0].pk}").status_code == 404


def test_transitions(tasks, grid_worker, community_worker):
    mine, _ = tasks
    worker = api(grid_worker)
    assert post(worker, f"/api/tasks/{mine[0].pk}/transition", {"to": "closed"}).status_code == 403
    assert post(worker, f"/api/tasks/{mine[0].pk}/transition", {"to": "nonsense"}).status_code == 400
    assert post(worker, f"/api/tasks/{mine[0].pk}/transition", {"to": "fed_back"}).status_code == 403
    assert post(worker, f"/api/tasks/{mine[0].pk}/transition", {"to": "handling"}).json()["status"] == "handling"
    assert post(worker, f"/api/tasks/{mine[0].pk}/transition", {"to": "fed_back"}).status_code == 409
    body = post(worker, f"/api/tasks/{mine[0].pk}/transition", {"to": "fed_back", "feedback": "ok"}).json()
    assert body["status"] == "fed_back" and body["feedback"] == "ok"
    manager = api(community_worker)
    body = post(manager, f"/api/tasks/{mine[0].pk}/transition", {"to": "closed", "note": "checked"}).json()
    assert body["status"] == "closed" and body["events"][-1]["note"] == "checked"


def test_assign_and_bulk(city, grid, tasks, grid_worker, community_worker):
    mine, theirs = tasks
    relief = city.staff("relief", "grid_worker", grid)
    assert post(api(grid_worker), f"/api/tasks/{mine[0].pk}/assign", {"assignee": "relief"}).status_code == 403
    manager = api(community_worker)
    assert post(manager, f"/api/tasks/{mine[0].pk}/assign", {"assignee": "ghost"}).status_code == 400
    body = post(manager, f"/api/tasks/{mine[0].pk}/assign", {"assignee": str(relief.pk)}).json()
    assert body["assignee_id"] == relief.pk and body["events"][-1]["action"] == "assign"
    ids = [t.pk for t in mine + theirs]
    result = post(manager, "/api/tasks/bulk", {"action": "reassign", "ids": ids, "assignee": "relief"}).json()
    assert result == {"done": 2, "skipped": 2}  # one already relief's, one in the other grid
    assert post(api(grid_worker), "/api/tasks/bulk", {"action": "close", "ids": ids}).status_code == 403
    assert post(manager, "/api/tasks/bulk", {"action": "close", "ids": ids}).json() == {"done": 0, "skipped": 4}
    assert Task.objects.filter(assignee=relief).count() == 3


def test_notifications(tasks, grid_worker):
    client = api(grid_worker)
    rows = client.get("/api/tasks/notifications", {"unread": "true"}).json()
    assert len(rows) == 3 and rows[0]["kind"] == "assigned"
    assert post(client, "/api/tasks/notifications/read", {"ids": [rows[0]["id"]]}).json() == {"read": 1}
    assert post(client, "/api/tasks/notifications/read", {"all": True}).json() == {"read": 2}
    assert not Notification.objects.filter(user=grid_worker, read_at__isnull=True).exists()
