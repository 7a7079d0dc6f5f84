"""Task pages through HTTP: scoping, flow buttons, bulk actions, SLA figures, notifications, budgets."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from core.models import ReadLog
from people.models import Resident
from tasks.models import Notification, Task
from tasks.services import do_close, do_feed_back

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # assertions read English (pages are zh-hans first)
    client.force_login(user)
    return client


@pytest.fixture
def two_grids(city, open_task, grid_worker, community_worker):
    """Three tasks in grid 1 (the grid worker's), two in grid 2 of the same community (the community worker's)."""
    other = Resident.objects.filter(grid=city.grid("420102", 2)).first()
    mine = [open_task("follow_up", title=f"mine {i}") for i in range(3)]
    theirs = [open_task("follow_up", subject=other, title=f"theirs {i}") for i in range(2)]
    return mine, theirs


def test_anonymous_must_log_in(two_grids):
    mine, _ = two_grids
    for url in ("/tasks/", f"/tasks/{mine[0].pk}/", "/tasks/sla/", "/tasks/notifications/"):
        assert Client().get(url).status_code == 302, url


def test_grid_worker_sees_only_their_grid(two_grids, grid_worker):
    mine, theirs = two_grids
    client = client_for(grid_worker)
    page = client.get("/tasks/").content.decode()
    assert all(t.title in page for t in mine)
    assert not any(t.title in page for t in theirs)
    assert client.get(f"/tasks/{mine[0].pk}/").status_code == 200
    assert client.get(f"/tasks/{theirs[0].pk}/").status_code == 404, "out of scope answers like missing"
    assert client.get("/tasks/999999/").status_code == 404
    # the task about a resident is read-logged
    assert ReadLog.objects.filter(user=grid_worker, object_id=mine[0].resident_id).exists()


def test_unassigned_user_sees_nothing(two_grids):
    nobody = get_user_model().objects.create_user("nobody")
    client = client_for(nobody)
    mine, _theirs = two_grids
    assert client.get(f"/tasks/{mine[0].pk}/").status_code == 404
    assert "mine 0" not in client.get("/tasks/").content.decode()


def test_inbox_filters(two_grids, community_worker):
    _mine, theirs = two_grids
    Task.objects.filter(pk=theirs[0].pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    client = client_for(community_worker)
    # grid 2 has no grid worker: its tasks went to the community worker ("assigned to me")
    page = client.get("/tasks/", {"overdue": "1"}).content.decode()
    assert "theirs 0" in page and "theirs 1" not in page and "mine 0" not in page
    assert "overdue" in page
    page = client.get("/tasks/", {"type": "notify"}).content.decode()
    assert "mine 0" not in page
    page = client.get("/tasks/", {"status": "closed"}).content.decode()
    assert "mine 0" not in page
    page = client.get("/tasks/", {"status": "dispatched", "assignee": "none"}).content.decode()
    assert "theirs 0" not in page


def test_inbox_pages_and_budget(city, open_task, grid_worker, community_worker, django_assert_max_num_queries):
    for i in range(60):
        open_task("notify", title=f"task {i}", owner_level="community")
    client = client_for(community_worker)
    client.get("/tasks/")
    with django_assert_max_num_queries(12):
        response = client.get("/tasks/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Page 1 of 1" in page  # mine first (20), the rest of the jurisdiction excludes mine
    for i in range(60):
        open_task("follow_up", title=f"grid task {i}")
    with django_assert_max_num_queries(12):
        response = client.get("/tasks/", {"page": 2})
    assert "Page 2 of 2" in response.content.decode()


def test_detail_budget(two_grids, grid_worker, django_assert_max_num_queries):
    mine, _ = two_grids
    client = client_for(grid_worker)
    client.get("/tasks/")
    with django_assert_max_num_queries(11):
        response = client.get(f"/tasks/{mine[0].pk}/")
    page = response.content.decode()
    assert "Start handling" in page and "Verify and close" not in page  # the grid worker's moves
    assert "left" in page


def test_flow_buttons_through_the_page(two_grids, grid_worker, community_worker):
    mine, _ = two_grids
    task = mine[0]
    worker = client_for(grid_worker)
    assert worker.post(f"/tasks/{task.pk}/act/", {"to": "closed"}).status_code == 403
    worker.post(f"/tasks/{task.pk}/act/", {"to": "handling"})
    worker.post(f"/tasks/{task.pk}/act/", {"to": "fed_back", "feedback": "all well", "note": "n"})
    task.refresh_from_db()
    assert (task.status, task.feedback) == ("fed_back", "all well")
    manager = client_for(community_worker)
    page = manager.get(f"/tasks/{task.pk}/").content.decode()
    assert "Verify and close" in page and "Send back to the handler" in page
    manager.post(f"/tasks/{task.pk}/act/", {"to": "closed"})
    manager.post(f"/tasks/{task.pk}/act/", {"to": "evaluated", "evaluation": "satisfied"})
    task.refresh_from_db()
    assert (task.status, task.evaluation) == ("evaluated", "satisfied")
    manager.post(f"/tasks/{task.pk}/comment/", {"note": "thanks"})
    assert "thanks" in manager.get(f"/tasks/{task.pk}/").content.decode()


def test_refused_move_shows_a_message(two_grids, grid_worker):
    mine, _ = two_grids
    client = client_for(grid_worker)
    # feeding back is one move from handling only: not offered, so refused, on a dispatched task
    assert client.post(f"/tasks/{mine[0].pk}/act/", {"to": "fed_back", "feedback": "x"}).status_code == 403
    client.post(f"/tasks/{mine[0].pk}/act/", {"to": "handling"})
    response = client.post(f"/tasks/{mine[0].pk}/act/", {"to": "fed_back", "feedback": " "}, follow=True)
    assert "Not done" in response.content.decode()
    mine[0].refresh_from_db()
    assert mine[0].status == "handling"


def test_assign_through_the_page(city, grid, two_grids, grid_worker, community_worker):
    mine, _ = two_grids
    relief = city.staff("relief", "grid_worker", grid)
    assert client_for(grid_worker).post(f"/tasks/{mine[0].pk}/assign/", {"assignee": "relief"}).status_code == 403
    client_for(community_worker).post(f"/tasks/{mine[0].pk}/assign/", {"assignee": "relief"})
    mine[0].refresh_from_db()
    assert mine[0].assignee == relief


def test_bulk_actions_through_the_page(city, grid, two_grids, grid_worker, community_worker):
    mine, theirs = two_grids
    assert client_for(grid_worker).post("/tasks/bulk/", {"action": "close", "ids": [mine[0].pk]}).status_code == 403
    relief = city.staff("relief", "grid_worker", city.grid("420102", 2))
    manager = client_for(community_worker)
    ids = [t.pk for t in theirs] + [mine[0].pk]
    response = manager.post("/tasks/bulk/", {"action": "reassign", "ids": ids, "assignee": "relief"}, follow=True)
    # mine[0] is in grid 1, outside the relief worker's grid 2: skipped
    assert "2 tasks changed, 1 skipped." in response.content.decode()
    assert set(Task.objects.filter(assignee=relief).values_list("pk", flat=True)) == {t.pk for t in theirs}
    for t in theirs:
        do_feed_back(t, relief, "done")
    response = manager.post("/tasks/bulk/", {"action": "close", "ids": ids}, follow=True)
    assert "2 tasks changed, 1 skipped." in response.content.decode()
    assert Task.objects.filter(status="closed").count() == 2
    response = manager.post("/tasks/bulk/", {"action": "assign", "ids": ids, "assignee": "nobody-here"}, follow=True)
    assert "Say who should take the tasks." in response.content.decode()


def test_sla_figures(city, two_grids, grid_worker, community_worker, django_assert_max_num_queries):
    mine, _theirs = two_grids
    Task.objects.filter(pk=mine[0].pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    do_feed_back(mine[1], grid_worker, "done")
    do_close(mine[1], community_worker)
    Task.objects.filter(pk=mine[1].pk).update(
        opened_at=timezone.now() - dt.timedelta(hours=7), closed_at=timezone.now() - dt.timedelta(hours=1)
    )
    client = client_for(community_worker)
    client.get("/tasks/")
    with django_assert_max_num_queries(11):
        response = client.get("/tasks/sla/")
    sections = {s["level"]: s["rows"] for s in response.context["sections"]}
    assert sections["district"] == [] and sections["street"] == []  # above the community worker
    (community,) = sections["community"]
    assert (community["open"], community["overdue"], community["closed_7d"], community["avg_hours"]) == (4, 1, 1, 6.0)
    grids = {row["node"].name: (row["open"], row["overdue"], row["closed_7d"]) for row in sections["grid"]}
    assert grids == {"第1网格": (2, 1, 1), "第2网格": (2, 0, 0)}
    # the grid worker sees one row: their grid
    sections = {s["level"]: s["rows"] for s in client_for(grid_worker).get("/tasks/sla/").context["sections"]}
    assert [len(sections[lv]) for lv in ("district", "street", "community", "grid")] == [0, 0, 0, 1]


def test_notifications_page_and_mark_read(two_grids, grid_worker, django_assert_max_num_queries):
    client = client_for(grid_worker)
    client.get("/tasks/")
    with django_assert_max_num_queries(9):
        page = client.get("/tasks/notifications/").content.decode()
    assert "New task: mine 0" in page and "3 unread" in page
    first = Notification.objects.filter(user=grid_worker).order_by("id").first()
    client.post("/tasks/notifications/read/", {"ids": [first.pk]})
    assert Notification.objects.filter(user=grid_worker, read_at__isnull=True).count() == 2
    client.post("/tasks/notifications/read/", {"all": "1"})
    assert not Notification.objects.filter(user=grid_worker, read_at__isnull=True).exists()
