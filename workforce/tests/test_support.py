"""Confidential psychological support: routed to the least-loaded counsellor (their district first),
visible only to the requester and that counsellor — every other role, the administrator included,
gets 404 — never in the change log, the read log, the admin, a task or a notification's text; the
counsellor's workflow (accept, schedule, close) and its refused moves."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from core.choices import StaffRole
from core.models import ChangeLog, ReadLog
from core.roles import grant_role
from tasks.models import Notification, Task
from tests_support.clients import staff_client, token_client
from workforce.choices import SupportStatus, TransitionRefused
from workforce.models import SupportRequest
from workforce.services import (
    SupportError,
    do_accept_support,
    do_ask_support,
    do_close_support,
    do_schedule_support,
    route_counsellor,
)
from workforce.tests.conftest import staff

NOTE = "连续工作了四十天，晚上睡不着，想找人聊聊"


def post(client: Client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}, default=str), content_type="application/json")


@pytest.fixture
def asker(city):
    return staff(city, "asker", StaffRole.GRID_WORKER, city.divisions["420102001001001"])


def test_routing_takes_the_least_loaded_counsellor_and_the_district_first(city, asker, counsellor):
    second = get_user_model().objects.create_user("couns2")
    grant_role(second, StaffRole.COUNSELLOR)
    first = do_ask_support(asker, "talk")
    assert first.counsellor == counsellor  # equal load: the lower id
    assert route_counsellor(asker) == second  # now the other one has fewer open requests
    do_close_support(first, counsellor)
    assert route_counsellor(asker) == counsellor  # closed requests are not load
    # a counsellor posted in the requester's district is preferred, whatever the load elsewhere
    local = staff(city, "couns3", StaffRole.COUNSELLOR, city.divisions["420102000000"])
    assert route_counsellor(asker) == local
    far = staff(city, "far", StaffRole.GRID_WORKER, city.divisions["420106001001001"])
    assert route_counsellor(far) == counsellor  # no counsellor in 武昌: the least loaded anywhere
    assert route_counsellor(local) != local  # never one's own counsellor


def test_no_counsellor_means_a_clear_refusal(city, asker):
    with pytest.raises(SupportError):
        do_ask_support(asker, "urgent")
    with pytest.raises(SupportError):
        do_ask_support(asker, "gossip")
    assert not SupportRequest.objects.exists()


def test_only_the_requester_and_the_counsellor_see_it(city, asker, counsellor):
    made = do_ask_support(asker, "call_back", NOTE, "13800000009")
    api, page = f"/api/workforce/support/{made.pk}", f"/workforce/support/{made.pk}/"
    for user in (asker, counsellor):
        assert token_client(user).get(api).json()["note"] == NOTE
        assert NOTE in staff_client(user).get(page).content.decode()
    admin = get_user_model().objects.create_superuser("root", password="pw-root")
    others = [
        admin,
        staff(city, "city", StaffRole.CITY_COMMAND, city.divisions["420100000000"]),
        staff(city, "adm", StaffRole.ADMINISTRATOR, city.divisions["420100000000"]),
        staff(city, "dist", StaffRole.DISTRICT, city.divisions["420102000000"]),
        staff(city, "st", StaffRole.STREET, city.divisions["420102001000"]),
        staff(city, "cw", StaffRole.COMMUNITY_WORKER, city.divisions["420102001001"]),
        staff(city, "cdc", StaffRole.CDC_EPIDEMIOLOGIST, city.divisions["420100000000"]),
    ]
    other_counsellor = get_user_model().objects.create_user("couns2")
    grant_role(other_counsellor, StaffRole.COUNSELLOR)
    others.append(other_counsellor)
    for user in others:
        assert token_client(user).get(api).status_code == 404, user
        assert staff_client(user).get(page).status_code == 404, user
        assert staff_client(user).post(page, {"action": "close"}).status_code == 404, user
        assert post(token_client(user), f"{api}/close").status_code == 404, user
        assert token_client(user).get("/api/workforce/support").json() == []
        assert NOTE not in staff_client(user).get("/workforce/support/").content.decode()
    assert Client().get(api).status_code == 401
    assert Client().get(page).status_code == 302
    # no admin page, no change log, no read log, no task; the counsellor is told without the content
    assert staff_client(admin).get("/admin/workforce/supportrequest/").status_code == 404
    assert not ChangeLog.objects.filter(model__startswith="workforce.support").exists()
    assert not ReadLog.objects.filter(model__startswith="workforce.support").exists()
    assert not Task.objects.exists()
    told = Notification.objects.get(user=counsellor)
    assert f"#{made.pk}" in told.message and NOTE not in told.message and "13800000009" not in told.message
    assert not ChangeLog.objects.filter(after__icontains="睡不着").exists()


def test_the_counsellors_workflow(city, asker, counsellor):
    made = do_ask_support(asker, "talk", NOTE)
    with pytest.raises(SupportError):
        do_accept_support(made, asker)  # the requester cannot accept for the counsellor
    accepted = do_accept_support(made, counsellor)
    assert accepted.status == SupportStatus.ACCEPTED and accepted.accepted_at is not None
    with pytest.raises(TransitionRefused):
        do_accept_support(accepted, counsellor)
    with pytest.raises(SupportError):
        do_schedule_support(accepted, counsellor, timezone.now() - dt.timedelta(days=1))
    at = timezone.now() + dt.timedelta(days=1)
    scheduled = do_schedule_support(accepted, counsellor, at)
    assert scheduled.status == SupportStatus.SCHEDULED and scheduled.scheduled_for == at
    assert Notification.objects.filter(user=asker).count() == 1  # the requester is told the time
    closed = do_close_support(scheduled, counsellor)
    assert closed.status == SupportStatus.CLOSED and closed.closed_at is not None
    with pytest.raises(TransitionRefused):
        do_schedule_support(closed, counsellor, at)


def test_support_through_the_api_and_the_pages(city, asker, counsellor):
    made = post(token_client(asker), "/api/workforce/support", {"want": "urgent", "note": NOTE})
    assert made.status_code == 201 and made.json()["mine"] is True
    rid = made.json()["id"]
    assert post(token_client(asker), "/api/workforce/support", {"want": "nonsense"}).status_code == 400
    c = token_client(counsellor)
    assert c.get("/api/workforce/support").json()[0]["mine"] is False
    assert post(token_client(asker), f"/api/workforce/support/{rid}/accept").status_code == 403
    assert post(c, f"/api/workforce/support/{rid}/accept").json()["status"] == "accepted"
    assert post(c, f"/api/workforce/support/{rid}/accept").status_code == 409
    later = (timezone.now() + dt.timedelta(hours=3)).isoformat()
    assert post(c, f"/api/workforce/support/{rid}/schedule", {"at": later}).json()["status"] == "scheduled"
    assert post(c, f"/api/workforce/support/{rid}/schedule", {"at": "2020-01-01T08:00:00+08:00"}).status_code == 400
    assert post(token_client(asker), f"/api/workforce/support/{rid}/close").json()["status"] == "closed"  # withdrawn

    page = staff_client(asker)
    filed = page.post("/workforce/support/", {"want": "talk", "note": "想聊聊"})
    assert filed.status_code == 302
    second = SupportRequest.objects.exclude(pk=rid).get()
    assert staff_client(counsellor).post(f"/workforce/support/{second.pk}/", {"action": "accept"}).status_code == 302
    second.refresh_from_db()
    assert second.status == SupportStatus.ACCEPTED
    listing = staff_client(counsellor).get("/workforce/support/").content.decode()
    assert f"#{second.pk}" in listing and "Requests assigned to me" in listing
    assert page.post("/workforce/support/", {"want": ""}).status_code == 400
