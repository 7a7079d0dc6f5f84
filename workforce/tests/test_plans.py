"""Rotation plans through the services, the API and the pages: a street staffed every day with
everyone inside the limit; a street that cannot be staffed (which grids and days, the least-bad plan);
accepting writes the roster, a decided plan cannot be decided again; the permission matrix."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from core.choices import StaffRole
from core.policy import do_update_policy
from tests_support.clients import staff_client, token_client
from workforce.choices import PlanStatus, RosterState
from workforce.models import GridStaffing, PlanDay, PlanEvent, RosterDay, RotationPlan
from workforce.services import PlanError, do_accept_plan, do_discard_plan, do_propose_plan, do_record_leave
from workforce.tests.conftest import G1, G2, duty_rows, import_rows, staff

STREET = "420102001000"


def post(client: Client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}, default=str), content_type="application/json")


def worked(staffing, carries: dict[str, int]) -> None:
    """Each worker worked ``carry`` days up to yesterday (after a day off), 10 hours a day."""
    rows = []
    for code, carry in carries.items():
        grid = staffing.workers[code].grid.code
        rows += duty_rows(code, grid, staffing.yesterday, 30, skip=(carry,) if carry < 30 else ())
    batch = import_rows("duty_roster", rows)
    assert not batch.rejected, batch.rejected


@pytest.fixture
def busy(city, staffing):
    worked(staffing, {"JA-01": 30, "JA-02": 1, "JA-03": 30, "JA-04": 3})
    return staffing


def test_a_street_plan_staffs_every_grid_within_the_limits(city, busy):
    today = timezone.localdate()
    plan = do_propose_plan(city.divisions[STREET], today)
    assert (plan.status, plan.days, plan.workers, plan.grids, plan.shortfall) == ("proposed", 14, 4, 2, 0)
    assert plan.street_id == city.divisions[STREET].pk and plan.community_id is None
    assert plan.max_consecutive_days == 6 and plan.extra["min_staff"] == {
        str(city.divisions[G1].pk): 1,
        str(city.divisions[G2].pk): 1,
    }
    days = PlanDay.objects.filter(plan=plan)
    assert days.count() == 4 * 14
    assert days.filter(state=RosterState.DUTY).values("run").order_by("-run").first()["run"] <= 6
    # the 30-day workers rest on the first day
    for code in ("JA-01", "JA-03"):
        first = days.get(worker__code=code, day=today)
        assert first.state == RosterState.REST
    for grid in (G1, G2):
        for offset in range(14):
            on = days.filter(grid__code=grid, day=today + dt.timedelta(days=offset), state=RosterState.DUTY)
            assert on.count() >= 1
    assert PlanEvent.objects.filter(plan=plan, action=PlanStatus.PROPOSED).count() == 1


def test_an_unstaffable_street_says_which_grids_and_days(city, busy):
    today = timezone.localdate()
    # both of G2's workers are on leave for the first three days, and G1 needs three on duty
    for code in ("JA-03", "JA-04"):
        do_record_leave(busy.workers[code], today, today + dt.timedelta(days=2), "病假")
    GridStaffing.objects.create(grid=city.divisions[G1], min_staff=3)
    plan = do_propose_plan(city.divisions[STREET], today, 7)
    short = {(s["code"], s["day"], s["short"]) for s in plan.shortfalls}
    assert {(G2, (today + dt.timedelta(days=d)).isoformat(), 1) for d in range(3)} <= short
    assert all(code in (G1, G2) for code, _day, _n in short)
    assert {n for code, _day, n in short if code == G1} <= {1, 2, 3}
    assert plan.shortfall == sum(n for _c, _d, n in short)
    # the least-bad plan still keeps everyone within the limit and off duty on leave
    duty = PlanDay.objects.filter(plan=plan, state=RosterState.DUTY)
    assert max(duty.values_list("run", flat=True)) <= 6
    assert not duty.filter(worker__code__in=("JA-03", "JA-04"), day__lte=today + dt.timedelta(days=2)).exists()
    assert PlanDay.objects.filter(plan=plan, state=RosterState.LEAVE).count() == 6


def test_policy_limits_are_used(city, busy):
    do_update_policy({"duty_max_consecutive_days": 3, "duty_max_weekly_hours": 24}, None, "test")
    plan = do_propose_plan(city.divisions[STREET], timezone.localdate(), 14)
    assert plan.max_consecutive_days == 3
    assert max(PlanDay.objects.filter(plan=plan).values_list("run", flat=True)) <= 3
    with pytest.raises(ValueError):
        do_update_policy({"duty_max_consecutive_days": 0}, None, "no rest-free weeks")


def test_bad_plan_requests_are_refused(city, busy):
    with pytest.raises(PlanError):
        do_propose_plan(city.divisions[G1], timezone.localdate())  # a grid is not a plan area
    with pytest.raises(PlanError):
        do_propose_plan(city.divisions[STREET], timezone.localdate(), 60)
    with pytest.raises(PlanError):
        do_record_leave(busy.workers["JA-01"], timezone.localdate(), timezone.localdate() - dt.timedelta(days=1))
    assert not RotationPlan.objects.exists()


def test_accepting_writes_the_roster_and_replaces_an_older_one(city, busy):
    today = timezone.localdate()
    first = do_accept_plan(do_propose_plan(city.divisions[STREET], today, 7))
    assert RosterDay.objects.filter(plan=first).count() == 4 * 7
    community_plan = do_propose_plan(city.divisions["420102001001"], today + dt.timedelta(days=3), 7)
    do_accept_plan(community_plan)
    roster = RosterDay.objects.filter(worker=busy.workers["JA-01"]).order_by("day")
    assert [r.plan_id for r in roster] == [first.pk] * 3 + [community_plan.pk] * 7
    assert RosterDay.objects.count() == 4 * 10
    with pytest.raises(ValueError):
        do_discard_plan(first)  # accepted: decided once and for all
    events = list(PlanEvent.objects.filter(plan=first).values_list("action", flat=True))
    assert events == ["proposed", "accepted"]


# --- API -------------------------------------------------------------------------------------------


def test_the_api_proposes_reads_and_accepts(city, busy, street_user):
    client = token_client(street_user)
    made = post(
        client, "/api/workforce/plans", {"area_id": city.divisions[STREET].pk, "starts_on": timezone.localdate()}
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["staffed_every_day"] and body["longest_run"] <= 6 and body["shortfall"] == 0
    assert len(body["grid_days"]) == 2 and all(min(g["on_duty"]) >= 1 for g in body["grid_days"])
    assert len(body["worker_days"]) == 4 and len(body["day_list"]) == 14
    plan_id = body["id"]
    assert client.get("/api/workforce/plans").json()["count"] == 1
    accepted = post(client, f"/api/workforce/plans/{plan_id}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert post(client, f"/api/workforce/plans/{plan_id}/discard").status_code == 409
    bad = post(
        client, "/api/workforce/plans", {"area_id": city.divisions[STREET].pk, "starts_on": "2020-05-01", "days": 0}
    )
    assert bad.status_code == 400


def test_plan_permission_matrix(city, busy, street_user):
    plan = do_propose_plan(city.divisions[STREET], timezone.localdate(), 3)
    url = f"/api/workforce/plans/{plan.pk}"
    assert Client().get(url).status_code == 401
    cadre = staff(city, "cadre1", StaffRole.CADRE, city.divisions[STREET])  # in scope, no permission
    assert token_client(cadre).get(url).status_code == 403
    assert post(token_client(cadre), f"{url}/accept").status_code == 403
    grid_worker = staff(city, "gw", StaffRole.GRID_WORKER, city.divisions[G1])  # reads, does not plan
    assert token_client(grid_worker).get("/api/workforce/plans").json()["count"] == 0  # a grid sees no street plan
    assert post(token_client(grid_worker), f"{url}/accept").status_code == 403
    assert token_client(street_user).get(url).status_code == 200
    other = staff(city, "wc", StaffRole.STREET, city.divisions["420106001000"])  # 武昌's street
    assert token_client(other).get(url).status_code == 404
    assert post(token_client(other), f"{url}/accept").status_code == 404
    outside = post(
        token_client(other), "/api/workforce/plans", {"area_id": city.divisions[STREET].pk, "starts_on": "2020-05-01"}
    )
    assert outside.status_code == 404
    assert token_client(street_user).get("/api/workforce/plans/999999").status_code == 404


# --- pages -----------------------------------------------------------------------------------------


def test_plan_pages(city, busy, street_user):
    client = staff_client(street_user)
    page = client.get("/workforce/plans/")
    assert page.status_code == 200 and "Propose a plan" in page.content.decode()
    made = client.post(
        "/workforce/plans/", {"area": city.divisions[STREET].pk, "starts_on": timezone.localdate(), "days": 14}
    )
    assert made.status_code == 302
    plan = RotationPlan.objects.get()
    detail = client.get(made["Location"])
    html = detail.content.decode()
    assert detail.status_code == 200 and "Every grid is staffed every day" in html and 'class="wf-short"' not in html
    assert client.post(made["Location"], {"action": "accept"}).status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACCEPTED
    again = client.post(made["Location"], {"action": "discard"}, follow=True)
    assert "cannot be discarded" in again.content.decode()
    refused = client.post(
        "/workforce/plans/", {"area": city.divisions["420106001000"].pk, "starts_on": "2020-05-01", "days": 3}
    )
    assert refused.status_code == 400  # 武昌's street is not among the choices


def test_an_unstaffable_plan_page_names_the_short_grids(city, busy, street_user):
    today = timezone.localdate()
    for code in ("JA-03", "JA-04"):
        do_record_leave(busy.workers[code], today, today, "")
    plan = do_propose_plan(city.divisions[STREET], today, 3)
    html = staff_client(street_user).get(f"/workforce/plans/{plan.pk}/").content.decode()
    assert "The minimum staffing cannot be met" in html and G2 in html and today.isoformat() in html


def test_plan_page_permissions(city, busy, street_user):
    plan = do_propose_plan(city.divisions[STREET], timezone.localdate(), 3)
    url = f"/workforce/plans/{plan.pk}/"
    assert Client().get(url).status_code == 302  # to the login page
    cadre = staff(city, "cadre1", StaffRole.CADRE, city.divisions[STREET])
    assert staff_client(cadre).get(url).status_code == 403
    reader = staff(city, "gw", StaffRole.GRID_WORKER, city.divisions["420102001001"])  # community reader
    assert staff_client(reader).get(url).status_code == 404  # a street plan is above a community
    assert staff_client(reader).post("/workforce/plans/", {}).status_code == 403
    other = staff(city, "wc", StaffRole.STREET, city.divisions["420106001000"])
    assert staff_client(other).get(url).status_code == 404
    assert staff_client(other).post(url, {"action": "accept"}).status_code == 404
