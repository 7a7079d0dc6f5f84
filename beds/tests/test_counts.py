"""A facility's own count reports: accepted with history, refused whole with the reason (the
issue's bad input: more occupied than approved), by service, page and API; permissions and
jurisdiction."""

from __future__ import annotations

import re

import pytest

from beds.models import BedReport, Facility
from beds.services import BedError, do_report_counts
from beds.tests.support import WUCHANG, api, facility, login, post_json, staff

pytestmark = pytest.mark.django_db


def test_a_report_moves_the_counts_and_keeps_history(city):
    f = facility("H1", approved=100, open_=80, occupied=10, reserved=3)
    report = do_report_counts(f, approved=120, open_=100, occupied=60, note="morning")
    f.refresh_from_db()
    assert (f.beds_approved, f.beds_open, f.beds_occupied, f.beds_reserved) == (120, 100, 60, 3)
    assert f.counts_at == report.at
    assert (report.source, report.beds_reserved, report.note) == ("facility", 3, "morning")
    assert f.beds_free == 37


@pytest.mark.parametrize(
    ("approved", "open_", "occupied", "words"),
    [
        (100, 80, -1, "cannot be negative"),
        (100, 120, 50, "More beds open (120) than approved (100)"),
        (100, 80, 90, "More beds occupied (90) than open (80)"),
        (100, 100, 130, "More beds occupied (130) than approved (100)"),  # the bad input
    ],
)
def test_a_report_that_does_not_add_up_is_refused_whole(city, approved, open_, occupied, words):
    f = facility("H1", approved=50, open_=40, occupied=5)
    with pytest.raises(BedError, match=re.escape(words)):
        do_report_counts(f, approved=approved, open_=open_, occupied=occupied)
    f.refresh_from_db()
    assert (f.beds_approved, f.beds_open, f.beds_occupied, f.counts_at) == (50, 40, 5, None)
    assert not BedReport.objects.exists()


def test_the_facility_page_reports_and_refuses(city):
    f = facility("H1", approved=50, open_=40, occupied=5)
    user = staff(city, "liaison", "420102000000", "hospital_liaison", "report_beds")
    client = login(user)
    page = client.get("/beds/facilities/H1/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"H1" in page.content
    bad = client.post(
        "/beds/facilities/H1/",
        {"beds_approved": 50, "beds_open": 40, "beds_occupied": 60},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 200
    assert "More beds occupied (60) than approved (50)." in bad.content.decode()
    assert not BedReport.objects.exists()
    good = client.post("/beds/facilities/H1/", {"beds_approved": 60, "beds_open": 50, "beds_occupied": 45})
    assert good.status_code == 302
    f.refresh_from_db()
    assert (f.beds_approved, f.beds_open, f.beds_occupied) == (60, 50, 45)
    report = BedReport.objects.get()
    assert (report.source, report.user) == ("facility", user)
    history = client.get("/beds/facilities/H1/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reported by the facility" in history


def test_reporting_needs_the_permission(city):
    facility("H1")
    client = login(staff(city, "viewer"))
    assert client.get("/beds/facilities/H1/").status_code == 200
    assert (
        client.post("/beds/facilities/H1/", {"beds_approved": 1, "beds_open": 1, "beds_occupied": 0}).status_code == 403
    )
    assert (
        post_json(
            api(staff(city, "viewer2")),
            "/api/beds/facilities/H1/counts",
            {"beds_approved": 1, "beds_open": 1, "beds_occupied": 0},
        ).status_code
        == 403
    )


def test_the_api_reports_and_refuses_with_the_reason(city):
    facility("H1", approved=50, open_=40)
    client = api(staff(city, "liaison", "420102000000", "hospital_liaison", "report_beds"))
    bad = post_json(
        client, "/api/beds/facilities/H1/counts", {"beds_approved": 50, "beds_open": 50, "beds_occupied": 51}
    )
    assert bad.status_code == 400
    assert "occupied (51)" in bad.json()["detail"]
    ok = post_json(
        client,
        "/api/beds/facilities/H1/counts",
        {"beds_approved": 50, "beds_open": 50, "beds_occupied": 45, "as_of": "2020-02-10T08:00:00+08:00"},
    )
    assert ok.status_code == 201, ok.content
    body = ok.json()
    assert (body["beds_occupied"], body["beds_free"], body["fill_percent"], body["nearly_full"]) == (45, 5, 90, True)
    assert body["stale"] is True  # counted in 2020
    assert BedReport.objects.get().source == "api"
    history = client.get("/api/beds/facilities/H1/history").json()
    assert [h["beds_occupied"] for h in history] == [45]


def test_facility_list_filters(city):
    facility("DH1", "designated_hospital")
    facility("QH1", "quarantine_hotel")
    facility("QH2", "quarantine_hotel", district_code=WUCHANG)
    client = api(staff(city, "cityboss", "420102000000", "city_command"))
    codes = lambda **q: [f["code"] for f in client.get("/api/beds/facilities", q).json()]  # noqa: E731
    assert codes() == ["DH1", "QH1", "QH2"]
    assert codes(kind="quarantine_hotel") == ["QH1", "QH2"]
    assert codes(category="close_contact") == ["QH1", "QH2"]
    assert codes(category="confirmed") == ["DH1"]
    assert codes(district=WUCHANG) == ["QH2"]
    assert client.get("/api/beds/facilities", {"kind": "spa"}).status_code == 400
    one = client.get("/api/beds/facilities/DH1").json()
    assert one["categories"] == ["confirmed", "asymptomatic"] and one["district_code"] == "420102000000"


def test_other_districts_facilities_answer_404(city):
    facility("H2", district_code=WUCHANG)
    facility("H1")
    user = staff(city, "jiangan", "420102000000", "district", "report_beds")
    assert login(user).get("/beds/facilities/H2/").status_code == 404
    assert login(user).get("/beds/facilities/NOPE/").status_code == 404
    client = api(user)
    assert client.get("/api/beds/facilities/H2").status_code == 404
    assert (
        post_json(
            client, "/api/beds/facilities/H2/counts", {"beds_approved": 1, "beds_open": 1, "beds_occupied": 0}
        ).status_code
        == 404
    )
    assert [f["code"] for f in client.get("/api/beds/facilities").json()] == ["H1"]
    assert Facility.objects.get(code="H2").beds_approved == 10
