"""The resident pages: my code (QR that verifies, reasons), declarations, appeal, languages."""

from __future__ import annotations

import datetime as dt
import re

import segno
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from healthcode.choices import Colour, Rule
from healthcode.models import Appeal, HealthDeclaration, TravelRiskArea, TripDeclaration
from healthcode.services import code_for, reason_label, verify
from residents.tests.support import sign_in
from residents.views import QR_SCALE, _refresh_seconds


def _token(page: str) -> str:
    return re.search(r'data-token="([^"]+)"', page).group(1)


def test_my_code_shows_a_qr_whose_token_verifies(signed_in, person):
    page = signed_in.get("/me/").content.decode()
    token = _token(page)
    assert verify(token).verdict == "valid"
    assert verify(token).colour == "green"
    expected = segno.make(token, error="m").svg_inline(
        scale=QR_SCALE, border=4, light="#fff", svgclass="qr", omitsize=True
    )
    assert expected in page  # the SVG encodes exactly this token
    assert person.id_number not in token and person.phone not in token
    assert "Green" in page
    refresh = int(re.search(r'http-equiv="refresh" content="(\d+)"', page).group(1))
    assert 5 <= refresh <= 300


def test_every_visit_mints_a_fresh_token(signed_in):
    assert _token(signed_in.get("/me/").content.decode()) != _token(signed_in.get("/me/").content.decode())
    assert signed_in.get("/me/")["Cache-Control"].startswith("max-age=0")


def test_refresh_comes_before_expiry():
    assert _refresh_seconds(1800) == 300
    assert _refresh_seconds(120) == 96
    assert _refresh_seconds(60) == 48
    assert _refresh_seconds(3) == 5


def test_fever_declaration_turns_the_code_yellow(signed_in, person):
    page = signed_in.get("/me/declare/health/").content.decode()
    assert "Loss of taste or smell" in page and "Shortness of breath" in page
    response = signed_in.post(
        "/me/declare/health/",
        {"temperature": "38.2", "symptoms": ["fever", "cough"], "conditions": "", "contact_with_case": ""},
    )
    assert response.status_code == 302 and response.url == "/me/"
    declaration = HealthDeclaration.objects.get(person=person)
    assert str(declaration.temperature) == "38.2" and declaration.symptoms == ["fever", "cough"]
    assert declaration.channel == "resident"

    code = code_for(person)
    assert code.colour == Colour.YELLOW
    page = signed_in.get("/me/").content.decode()
    assert "Yellow" in page
    assert 'data-rule="declared_symptoms"' in page
    assert "Fever or symptoms in the health declaration" in page
    assert "declared 38.2 °C" in page
    assert "Your health declaration was received." in page
    assert verify(_token(page)).colour == "yellow"


def test_health_declaration_validates(signed_in, person):
    page = signed_in.post("/me/declare/health/", {"temperature": "52", "symptoms": ["plague"]}).content.decode()
    assert "less than or equal to 43.0" in page
    assert "Select a valid choice" in page
    assert not HealthDeclaration.objects.exists()


def test_trip_from_a_high_risk_area_turns_the_code_red(signed_in, person):
    TravelRiskArea.objects.create(
        area_code="4201", name="X", level="high", valid_from=timezone.now() - dt.timedelta(days=3)
    )
    arrived = timezone.localtime() - dt.timedelta(hours=2)
    response = signed_in.post(
        "/me/declare/trip/",
        {
            "arrived_at": arrived.strftime("%Y-%m-%dT%H:%M"),
            "origin_area_code": "420111",
            "origin_area_name": "洪山区",
            "mode": "train",
        },
    )
    assert response.status_code == 302
    trip = TripDeclaration.objects.get(person=person)
    assert trip.origin_area_code == "420111" and trip.mode == "train"
    assert code_for(person).colour == Colour.RED
    page = signed_in.get("/me/").content.decode()
    assert "Red" in page and "Recent arrival from a high-risk area" in page and "from X" in page
    assert "洪山区" in signed_in.get("/me/declare/trip/").content.decode()  # my recent trips


def test_trip_errors_from_the_service_show_on_the_form(signed_in):
    future = timezone.localtime() + dt.timedelta(days=2)
    page = signed_in.post(
        "/me/declare/trip/", {"arrived_at": future.strftime("%Y-%m-%dT%H:%M"), "origin_area_code": "420111"}
    ).content.decode()
    assert "The arrival time is in the future." in page
    page = signed_in.post(
        "/me/declare/trip/", {"arrived_at": "2024-01-01T08:00", "origin_area_code": "42A1"}
    ).content.decode()
    assert "The area code must be 2 to 12 digits" in page
    assert not TripDeclaration.objects.exists()


def test_appeal_creates_an_appeal_with_a_review_task(signed_in, person):
    page = signed_in.get("/me/appeal/").content.decode()
    assert "Send appeal" in page
    assert "This field is required." in signed_in.post("/me/appeal/", {"statement": "   "}).content.decode()
    response = signed_in.post("/me/appeal/", {"statement": "The thermometer was broken."})
    assert response.status_code == 302 and response.url == "/me/appeal/"
    appeal = Appeal.objects.get(person=person)
    assert appeal.task is not None and appeal.task.task_type == "review"
    assert appeal.statement == "The thermometer was broken."

    page = signed_in.get("/me/appeal/").content.decode()
    assert "The thermometer was broken." in page and "Open" in page
    assert "Send appeal" not in page  # one open appeal at a time
    page = signed_in.post("/me/appeal/", {"statement": "Again"}).content.decode()
    assert "An appeal is already open" in page
    assert Appeal.objects.filter(person=person).count() == 1


def test_decided_appeal_shows_the_decision(signed_in, person):
    from django.contrib.auth import get_user_model

    from healthcode.services import do_decide_appeal

    signed_in.post(
        "/me/declare/health/", {"temperature": "38.5", "symptoms": [], "conditions": "", "contact_with_case": ""}
    )
    signed_in.post("/me/appeal/", {"statement": "Wrong reading."})
    appeal = Appeal.objects.get(person=person)
    do_decide_appeal(
        appeal, get_user_model().objects.get(username="cw"), withdraw=[Rule.DECLARED_SYMPTOMS], note="Re-measured 36.5"
    )
    page = signed_in.get("/me/appeal/").content.decode()
    assert "Corrected" in page and "Re-measured 36.5" in page
    assert "Reasons withdrawn:" in page and "Fever or symptoms in the health declaration" in page
    assert "Green" in signed_in.get("/me/").content.decode()


def test_pages_are_chinese_by_default(person):
    browser = Client()  # no language cookie: zh-hans, whatever the test process activated
    sign_in(browser)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    browser.post("/me/declare/health/", {"temperature": "38.2"})
    page = browser.get("/me/").content.decode()
    assert '<html lang="zh-hans">' in page
    with translation.override("zh-hans"):
        language = translation.gettext("Language")
        labels = [str(Colour.YELLOW.label), reason_label(Rule.DECLARED_SYMPTOMS), translation.gettext("My code")]
    assert language == "语言" and language in page and "Language" not in page
    for label in labels:  # whatever the catalogue says for them today
        assert label in page
    login_page = Client().get("/me/login/").content.decode()
    assert '<html lang="zh-hans">' in login_page and "语言" in login_page


def test_pages_are_english_when_chosen(signed_in):
    for url in ("/me/", "/me/declare/health/", "/me/declare/trip/", "/me/appeal/", "/me/logout/"):
        page = signed_in.get(url).content.decode()
        assert '<html lang="en">' in page and "Language" in page, url
    assert "Temperature (°C)" in signed_in.get("/me/declare/health/").content.decode()
