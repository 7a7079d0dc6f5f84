"""From counts to an alert a person checks: the daily run finds a rise, opens one alert with a
24-hour verification task for the district's CDC epidemiologist, later alarms of the same episode
join it, and the epidemiologist verifies (optionally opening an investigation) or dismisses it
with a reason. Scoping and permissions hold on the pages and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.choices import StaffRole
from ewarn.choices import AlertStatus
from ewarn.models import Alert, DetectionRun
from ewarn.services import DecisionError, do_dismiss, do_run_day, do_verify
from ewarn.tests.support import DAY, sales_history
from geo.models import Division
from tasks.choices import TaskStatus, TaskType
from tasks.models import Task
from tests_support.clients import staff_client, token_client

pytestmark = pytest.mark.django_db


def test_a_rise_opens_one_alert_with_a_task_for_the_district_epidemiologist(city, epidemiologist, quick_scan):
    sales_history({DAY: 120, DAY + dt.timedelta(days=1): 140})
    run = do_run_day(DAY)
    assert isinstance(run, DetectionRun) and run.series > 0
    alerts = Alert.objects.filter(signal="antipyretic", kind="temporal")
    assert [a.area.code for a in alerts] == ["420102000000"]  # the district, with its street noted below it
    alert = alerts.get()
    assert alert.observed > alert.expected and alert.detectors
    assert alert.evidence["areas_below"] == [Division.objects.get(code="420102001000").pk]
    assert len(alert.evidence["observed"]) == 60
    task = alert.task
    assert (task.task_type, task.assignee, task.status) == (TaskType.VERIFY_SIGNAL, epidemiologist, "dispatched")
    assert abs((task.due_at - task.opened_at) - dt.timedelta(hours=24)) < dt.timedelta(seconds=1)
    # the next day's alarm belongs to the same episode: no second alert, no second task
    do_run_day(DAY + dt.timedelta(days=1))
    alert.refresh_from_db()
    assert Alert.objects.filter(signal="antipyretic", kind="temporal", area__code="420102000000").count() == 1
    assert alert.last_day == DAY + dt.timedelta(days=1)
    assert Task.objects.filter(task_type=TaskType.VERIFY_SIGNAL, district__code="420102000000").count() == 1


def test_no_alert_without_a_rise(city, epidemiologist, quick_scan):
    sales_history()
    do_run_day(DAY)
    assert not Alert.objects.filter(kind="temporal").exists()


def test_verify_opens_an_investigation_and_closes_the_task(city, epidemiologist, quick_scan):
    sales_history({DAY: 120})
    do_run_day(DAY)
    alert = Alert.objects.get(kind="temporal")
    do_verify(alert, epidemiologist, "Two kindergartens with fever cases", investigate=True)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.VERIFIED and alert.decided_by == epidemiologist
    assert alert.task.status == TaskStatus.CLOSED
    assert alert.investigation.task_type == TaskType.INVESTIGATE
    assert alert.investigation.assignee == epidemiologist
    with pytest.raises(DecisionError):
        do_dismiss(alert, epidemiologist, "expected")


def test_dismiss_needs_a_reason(city, epidemiologist, quick_scan):
    sales_history({DAY: 120})
    do_run_day(DAY)
    alert = Alert.objects.get(kind="temporal")
    with pytest.raises(DecisionError):
        do_dismiss(alert, epidemiologist, "")
    with pytest.raises(DecisionError):
        do_dismiss(alert, epidemiologist, "other", "  ")
    do_dismiss(alert, epidemiologist, "expected", "pharmacy promotion")
    alert.refresh_from_db()
    assert (alert.status, alert.dismiss_reason, alert.task.status) == ("dismissed", "expected", TaskStatus.CLOSED)


def test_without_a_district_epidemiologist_the_city_s_gets_the_task(city, quick_scan):
    city_cdc = city.staff("cdc_city", StaffRole.CDC_EPIDEMIOLOGIST, Division.objects.get(level="city"))
    sales_history({DAY: 120})
    do_run_day(DAY)
    assert Alert.objects.get(kind="temporal").task.assignee == city_cdc


def test_pages_and_api_are_scoped_and_decisions_need_the_permission(city, epidemiologist, quick_scan):
    sales_history({DAY: 120})
    do_run_day(DAY)
    alert = Alert.objects.get(kind="temporal")
    # the other district's staff (a CDC epidemiologist sees the whole city by role)
    other = city.staff("wuchang", StaffRole.DISTRICT, Division.objects.get(code="420106000000"))
    street = city.staff("street", StaffRole.STREET, Division.objects.get(code="420102001000"))

    mine = staff_client(epidemiologist)
    page = mine.get(f"/ewarn/alerts/{alert.pk}/")
    assert page.status_code == 200 and b"ewarn-chart-data" in page.content and b"Verify" in page.content
    assert b"Antipyretics sold" in mine.get("/ewarn/").content
    assert staff_client(other).get(f"/ewarn/alerts/{alert.pk}/").status_code == 404
    # a street sees nothing of a district-level alert, and may not decide
    assert staff_client(street).get(f"/ewarn/alerts/{alert.pk}/").status_code == 404
    assert staff_client(street).post(f"/ewarn/alerts/{alert.pk}/dismiss/", {"reason": "expected"}).status_code == 404

    api = token_client(epidemiologist)
    listed = api.get("/api/ewarn/alerts?status=open").json()
    assert [a["id"] for a in listed] == [alert.pk]
    detail = api.get(f"/api/ewarn/alerts/{alert.pk}").json()
    assert len(detail["chart"]["observed"]) == 60
    assert token_client(other).get(f"/api/ewarn/alerts/{alert.pk}").status_code == 404
    refused = api.post(f"/api/ewarn/alerts/{alert.pk}/dismiss", {"reason": "other"}, content_type="application/json")
    assert refused.status_code == 409
    done = api.post(f"/api/ewarn/alerts/{alert.pk}/verify", {"note": "real"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "verified"
    series = api.get("/api/ewarn/series?signal=antipyretic&area=420102000000&days=30&until=2026-11-20").json()
    assert len(series["counts"]) == 30 and series["counts"][-1] > 100


def test_the_page_decisions(city, epidemiologist, quick_scan):
    sales_history({DAY: 120})
    do_run_day(DAY)
    alert = Alert.objects.get(kind="temporal")
    client = staff_client(epidemiologist)
    response = client.post(f"/ewarn/alerts/{alert.pk}/dismiss/", {"reason": "other", "note": ""}, follow=True)
    assert b"Say why" in response.content
    client.post(f"/ewarn/alerts/{alert.pk}/verify/", {"note": "seen", "investigate": "on"})
    alert.refresh_from_db()
    assert alert.status == "verified" and alert.investigation_id
    assert timezone.now() - alert.decided_at < dt.timedelta(minutes=1)
