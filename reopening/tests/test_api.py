"""The API: the permission matrix per endpoint (anonymous 401, no permission 403, in scope 200, out
of scope 404), an application from draft to opening, refusals as 400 with codes and items."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from reopening.choices import UnitStatus
from reopening.models import UnitReview
from reopening.services import do_start_application, do_submit
from reopening.tests.conftest import PDF, fill_evidence, png_bytes, record
from tests_support.clients import token_client

API = "/api/reopening"


def submitted(place):
    application = do_start_application(place.school, place.contact, planned_on=timezone.localdate())
    fill_evidence(application, place.contact)
    return do_submit(application, place.contact)


def test_anonymous_calls_answer_401(place):
    for method, url in (
        ("get", f"{API}/units"),
        ("get", f"{API}/units/{place.school.pk}"),
        ("post", f"{API}/units/{place.school.pk}/applications"),
        ("get", f"{API}/resumption"),
        ("get", f"{API}/reviews"),
    ):
        assert getattr(Client(), method)(url, content_type="application/json").status_code == 401, url


def test_units_list_and_detail_are_scoped(place, django_assert_max_num_queries):
    listed = token_client(place.district).get(f"{API}/units", {"status": "closed"}).json()
    assert listed["count"] == 2 and {u["code"] for u in listed["results"]} == {place.school.code, place.factory.code}
    assert token_client(place.contact).get(f"{API}/units").json()["count"] == 1
    assert token_client(place.nobody).get(f"{API}/units").json()["count"] == 0
    client = token_client(place.district)
    client.get(f"{API}/units")
    with django_assert_max_num_queries(12):  # a budget: no query per unit
        client.get(f"{API}/units")
    paged = token_client(place.district).get(f"{API}/units", {"limit": -5, "offset": -9}).json()
    assert len(paged["results"]) == 1  # clamped, not an error
    record([(place.factory.code, "2020-03-20T08:00:00+08:00", "open")])
    detail = token_client(place.street).get(f"{API}/units/{place.factory.pk}")
    assert detail.status_code == 200 and detail.json()["history"][0]["to_status"] == "open"
    assert token_client(place.other_street).get(f"{API}/units/{place.factory.pk}").status_code == 404
    assert token_client(place.street).get(f"{API}/units/999999").status_code == 404


def test_an_application_through_the_api(place):
    contact = token_client(place.contact)
    start = f"{API}/units/{place.school.pk}/applications"
    assert token_client(place.grid).post(start, {}, content_type="application/json").status_code == 403
    assert token_client(place.other_street).post(start, {}, content_type="application/json").status_code == 404
    planned = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    made = contact.post(start, {"planned_on": planned, "note": "一校一策"}, content_type="application/json")
    assert made.status_code == 201
    body = made.json()
    assert [e["item"] for e in body["entries"]] == ["supplies", "screening", "procedures", "disinfection"]
    app = f"{API}/applications/{body['id']}"
    again = contact.post(start, {}, content_type="application/json")
    assert again.status_code == 400 and again.json()["code"] == "application_in_progress"

    photo = contact.post(f"{app}/evidence/supplies", {"file": _file("a.png", png_bytes())})
    assert photo.status_code == 201 and photo.json()["content_type"] == "image/png"
    bad = contact.post(f"{app}/evidence/screening", {"file": _file("a.txt", b"hello")})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_file_type"
    refused = contact.post(f"{app}/submit")
    assert refused.status_code == 400
    assert refused.json()["code"] == "missing_evidence"
    assert refused.json()["items"] == ["screening", "procedures", "disinfection"]
    for item in ("screening", "procedures", "disinfection"):
        assert (
            contact.post(f"{app}/evidence/{item}", {"file": _file(f"{item}.pdf", PDF + item.encode())}).status_code
            == 201
        )
    assert contact.post(f"{app}/submit").json()["status"] == "submitted"

    inspector = token_client(place.street)
    verdict = f"{app}/verdicts"
    assert (
        contact.post(verdict, {"item": "supplies", "verdict": "approved"}, content_type="application/json").status_code
        == 403
    )
    assert (
        token_client(place.other_street)
        .post(verdict, {"item": "supplies", "verdict": "approved"}, content_type="application/json")
        .status_code
        == 404
    )
    early = inspector.post(f"{app}/decision", {"approve": True}, content_type="application/json")
    assert early.status_code == 400 and early.json()["code"] == "items_not_approved"
    for item in contact.get(app).json()["checklist"]:
        answer = inspector.post(verdict, {"item": item, "verdict": "approved"}, content_type="application/json")
        assert answer.status_code == 200
    decided = inspector.post(f"{app}/decision", {"approve": True, "reason": "合格"}, content_type="application/json")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    place.school.refresh_from_db()
    assert place.school.status == UnitStatus.OPEN


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_staff_reports_and_rates_through_the_api(place):
    url = f"{API}/units/{place.factory.pk}/staff"
    today = timezone.localdate().isoformat()
    assert (
        token_client(place.grid).post(url, {"day": today, "staff_back": 1}, content_type="application/json").status_code
        == 404
    )
    community = token_client(place.community)
    over = community.post(url, {"day": today, "staff_back": 1000}, content_type="application/json")
    assert over.status_code == 400 and over.json()["code"] == "staff_back_over_staff"
    huge = community.post(url, {"day": today, "staff_back": 2**40}, content_type="application/json")
    assert huge.status_code == 400
    assert community.post(url, {"day": today, "staff_back": 30}, content_type="application/json").status_code == 200
    record([(place.factory.code, "2020-03-20T08:00:00+08:00", "open")])
    rates = token_client(place.district).get(f"{API}/resumption", {"level": "district"}).json()
    assert rates == [
        {
            "key": str(place.factory.district_id),
            "label": "江岸区",
            "units": 2,
            "open": 1,
            "staff": 160,
            "staff_back": 30,
            "open_share": 0.5,
            "staff_share": 30 / 160,
        }
    ]
    series = token_client(place.district).get(
        f"{API}/resumption/series", {"level": "sector", "first": "2020-03-19", "last": "2020-03-21"}
    )
    assert series.status_code == 200
    manufacturing = next(g for g in series.json()["groups"] if g["key"] == "manufacturing")
    assert manufacturing["open"] == [0, 1, 1]
    backwards = token_client(place.district).get(
        f"{API}/resumption/series", {"first": "2020-03-21", "last": "2020-03-01"}
    )
    assert backwards.status_code == 400
    assert token_client(place.district).get(f"{API}/resumption", {"level": "planet"}).status_code == 422


def test_reviews_through_the_api(place):
    review = UnitReview.objects.create(unit=place.factory, cases=2)
    assert [r["id"] for r in token_client(place.street).get(f"{API}/reviews", {"pending": True}).json()] == [review.pk]
    assert token_client(place.other_street).get(f"{API}/reviews").json() == []
    url = f"{API}/reviews/{review.pk}/decision"
    body = {"suspend": False, "reason": "已消杀"}
    assert token_client(place.community).post(url, body, content_type="application/json").status_code == 403
    assert token_client(place.other_street).post(url, body, content_type="application/json").status_code == 404
    empty = token_client(place.street).post(url, {"suspend": False, "reason": ""}, content_type="application/json")
    assert empty.status_code == 400 and empty.json()["code"] == "reason_required"
    assert token_client(place.street).post(url, body, content_type="application/json").json()["decision"] == "kept_open"
