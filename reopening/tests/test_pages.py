"""The pages: the permission matrix of every page (anonymous → login, no permission → 403, in scope
→ 200, out of scope → 404), contacts seeing only their own units, and the application and
inspection through HTTP."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from reopening.choices import ApplicationStatus, UnitStatus
from reopening.models import ReopeningApplication, UnitReview
from reopening.services import do_record_verdict, do_start_application, do_submit
from reopening.tests.conftest import PDF, fill_evidence, png_bytes, record
from tests_support.clients import staff_client


def submitted(place) -> ReopeningApplication:
    application = do_start_application(place.school, place.contact, planned_on=timezone.localdate())
    fill_evidence(application, place.contact)
    return do_submit(application, place.contact)


def test_anonymous_users_are_sent_to_log_in(place):
    application = submitted(place)
    for url in (
        "/reopening/",
        f"/reopening/units/{place.school.pk}/",
        f"/reopening/applications/{application.pk}/",
        f"/reopening/applications/{application.pk}/inspect/",
        "/reopening/rates/",
        "/reopening/reviews/",
    ):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_lists_follow_jurisdiction_and_contacts_see_only_their_units(place):
    def codes(user):
        return sorted(u.code for u in staff_client(user).get("/reopening/").context["page"])

    assert codes(place.district) == sorted([place.school.code, place.factory.code])
    assert codes(place.grid) == [place.school.code]  # the school's grid only
    assert codes(place.contact) == [place.school.code]  # no assignment: their own unit
    assert codes(place.nobody) == []
    filtered = staff_client(place.district).get("/reopening/", {"kind": "enterprise"})
    assert [u.code for u in filtered.context["page"]] == [place.factory.code]
    client = staff_client(place.contact)
    assert client.get(f"/reopening/units/{place.school.pk}/").status_code == 200
    assert client.get(f"/reopening/units/{place.factory.pk}/").status_code == 404
    assert staff_client(place.street).get(f"/reopening/units/{place.other_school.pk}/").status_code == 404


def test_applying_needs_the_permission_and_scope(place):
    url = f"/reopening/units/{place.school.pk}/apply/"
    assert staff_client(place.grid).post(url).status_code == 403  # in scope, no permission
    assert staff_client(place.other_street).post(url).status_code == 404  # out of scope
    response = staff_client(place.contact).post(url)
    application = ReopeningApplication.objects.get(unit=place.school)
    assert response.status_code == 302 and response["Location"] == f"/reopening/applications/{application.pk}/"
    report = {"day": "2020-03-01", "staff_back": 3}
    school, factory = f"/reopening/units/{place.school.pk}/staff/", f"/reopening/units/{place.factory.pk}/staff/"
    assert staff_client(place.grid).post(school, report).status_code == 403
    assert staff_client(place.community).post(factory, report).status_code == 302
    assert staff_client(place.contact).post(factory, report).status_code == 404
    assert staff_client(place.contact).post(school, report).status_code == 302


def test_the_application_page_uploads_evidence_and_refuses_missing_items(place):
    application = do_start_application(place.school, place.contact)
    client = staff_client(place.contact)
    url = f"/reopening/applications/{application.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and "Prevention supplies in stock" in page.content.decode()
    upload = SimpleUploadedFile("防疫物资.png", png_bytes(), content_type="image/png")
    assert client.post(url, {"action": "evidence", "item": "supplies", "file": upload}).status_code == 302
    bad = SimpleUploadedFile("virus.exe", b"MZ\x90\x00", content_type="image/png")
    refused = client.post(url, {"action": "evidence", "item": "screening", "file": bad})
    assert refused.status_code == 400 and "Send a JPEG or PNG photo or a PDF document." in refused.content.decode()
    day = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert client.post(url, {"action": "plan", "planned_on": day, "note": "错峰返校"}).status_code == 302
    missing = client.post(url, {"action": "submit"})
    html = missing.content.decode()
    assert missing.status_code == 400 and "Evidence is missing for" in html
    assert "Health screening of staff and pupils" in html and "Disinfection of premises" in html
    for item in ("screening", "procedures", "disinfection"):
        pdf = SimpleUploadedFile(f"{item}.pdf", PDF + item.encode(), content_type="application/pdf")
        client.post(url, {"action": "evidence", "item": item, "file": pdf})
    assert client.post(url, {"action": "submit"}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    # the inspector reads the files; others out of scope do not
    evidence = application.entries.get(item="supplies").evidence.get()
    shown = staff_client(place.street).get(f"/reopening/evidence/{evidence.pk}/")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert shown["X-Content-Type-Options"] == "nosniff"
    pdf = application.entries.get(item="procedures").evidence.get()
    assert (
        staff_client(place.street).get(f"/reopening/evidence/{pdf.pk}/")["Content-Disposition"].startswith("attachment")
    )
    assert staff_client(place.other_street).get(f"/reopening/evidence/{evidence.pk}/").status_code == 404
    # a draft's forms are gone once submitted
    assert client.post(url, {"action": "plan", "planned_on": day}).status_code == 400


def test_inspection_page_matrix_and_decision(place):
    application = submitted(place)
    url = f"/reopening/applications/{application.pk}/inspect/"
    assert staff_client(place.contact).get(url).status_code == 403  # sees it, may not inspect
    assert staff_client(place.grid).get(url).status_code == 403
    assert staff_client(place.other_street).get(url).status_code == 404
    client = staff_client(place.street)
    assert client.get(url).status_code == 200
    refused = client.post(url, {"action": "verdict", "item": "supplies", "verdict": "rejected", "reason": ""})
    assert refused.status_code == 400 and "Say why the item is rejected." in refused.content.decode()
    early = client.post(url, {"action": "decide", "decision": "approve", "reason": ""})
    assert early.status_code == 400 and "Not every required item is approved" in early.content.decode()
    for item in application.checklist:
        assert client.post(url, {"action": "verdict", "item": item, "verdict": "approved"}).status_code == 302
    assert client.post(url, {"action": "decide", "decision": "approve", "reason": "现场核查合格"}).status_code == 302
    place.school.refresh_from_db()
    assert place.school.status == UnitStatus.OPEN


def test_rejection_on_the_page_needs_reasons(place):
    application = submitted(place)
    do_record_verdict(application, "supplies", "rejected", "口罩储备不足", place.district)
    url = f"/reopening/applications/{application.pk}/inspect/"
    client = staff_client(place.district)
    assert client.post(url, {"action": "decide", "decision": "reject", "reason": ""}).status_code == 400
    assert client.post(url, {"action": "decide", "decision": "reject", "reason": "物资不足"}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED


def test_withdraw_on_the_page(place):
    application = submitted(place)
    url = f"/reopening/applications/{application.pk}/withdraw/"
    assert staff_client(place.street).post(url).status_code == 403
    assert staff_client(place.contact).post(url, {"reason": "推迟"}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN


def test_rates_page_shows_the_districts(place):
    record([(place.factory.code, "2020-03-20T08:00:00+08:00", "open")])
    page = staff_client(place.district).get("/reopening/rates/", {"day": "2020-03-21"})
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [(r.label, r.units, r.open) for r in rows] == [("江岸区", 2, 1)]
    assert page.context["chart"]["days"][-1] == "2020-03-21" and "reopening-chart" in page.content.decode()
    by_sector = staff_client(place.district).get("/reopening/rates/", {"level": "sector", "day": "2020-03-21"})
    assert {r.key for r in by_sector.context["rows"]} == {"manufacturing", "primary"}


def test_contacts_and_reviews_pages(place):
    from django.contrib.auth import get_user_model

    url = f"/reopening/units/{place.factory.pk}/contacts/"
    newcomer = get_user_model().objects.create_user("factory-contact")
    assert staff_client(place.community).post(url, {"username": "factory-contact"}).status_code == 403
    assert staff_client(place.street).post(url, {"username": "factory-contact"}).status_code == 302
    assert newcomer.has_perm("reopening.apply_reopening")
    assert [u.code for u in staff_client(newcomer).get("/reopening/").context["page"]] == [place.factory.code]

    review = UnitReview.objects.create(unit=place.factory, cases=1)
    decide = f"/reopening/reviews/{review.pk}/decide/"
    assert staff_client(place.street).get("/reopening/reviews/").context["pending"].get() == review
    assert staff_client(place.community).post(decide, {"decision": "keep_open", "reason": "x"}).status_code == 403
    assert staff_client(place.other_street).post(decide, {"decision": "keep_open", "reason": "x"}).status_code == 404
    assert staff_client(place.street).post(decide, {"decision": "keep_open", "reason": "已消杀"}).status_code == 302
    review.refresh_from_db()
    assert review.decision == "kept_open"
