"""Resident sign-in by phone and one-time code: the flow, the code rules, throttles, sessions."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import Client
from django.utils import timezone

from people.models import Resident
from residents import services
from residents.models import OneTimeCode
from residents.services import SignInError, request_code, verify_code
from residents.sms import ConsoleSender, MemorySender, SmsError
from residents.tests.support import PHONE, sent_code, sign_in

PORTAL_PAGES = ["/me/", "/me/declare/health/", "/me/declare/trip/", "/me/appeal/"]


class FailingSender:
    def send(self, phone: str, message: str) -> None:
        raise RuntimeError("gateway down")


def test_full_sign_in_flow(client_en, person, outbox):
    response = client_en.get("/me/")
    assert response.status_code == 302 and response.url == "/me/login/?next=%2Fme%2F"
    assert client_en.get(response.url).status_code == 200

    before = client_en.session.session_key
    response = client_en.post("/me/login/", {"phone": "+86 139-0000-0001", "next": "/me/appeal/"})
    assert response.status_code == 302 and response.url == "/me/login/code/"
    assert len(outbox) == 1 and outbox[0].phone == PHONE
    code = sent_code(PHONE)
    assert "5 minutes" in outbox[0].message

    page = client_en.get("/me/login/code/")
    assert "139****0001" in page.content.decode()
    response = client_en.post("/me/login/code/", {"code": code})
    assert response.status_code == 302 and response.url == "/me/appeal/"
    assert client_en.session["resident_id"] == person.pk
    assert client_en.session.session_key != before  # the key is cycled on sign-in

    page = client_en.get("/me/").content.decode()
    assert person.masked_name in page and person.name not in page
    assert person.masked_id_number in page and person.id_number not in page

    stored = OneTimeCode.objects.get()
    assert code not in stored.code_hash and stored.used_at is not None and stored.attempts == 1


def test_code_works_once(person):
    request_code(PHONE)
    code = sent_code(PHONE)
    verify_code(PHONE, code)
    with pytest.raises(SignInError, match="expired or was never sent"):
        verify_code(PHONE, code)


def test_wrong_codes_lock_the_code_out(person):
    request_code(PHONE)
    code = sent_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(SignInError, match=f"{left} tr"):
            verify_code(PHONE, wrong)
    with pytest.raises(SignInError, match="too many wrong codes"):
        verify_code(PHONE, wrong)
    with pytest.raises(SignInError, match="Too many wrong codes"):
        verify_code(PHONE, code)  # even the right one
    assert OneTimeCode.objects.get().attempts == services.MAX_ATTEMPTS


def test_wrong_code_page_says_how_many_tries_are_left(client_en, person):
    client_en.post("/me/login/", {"phone": PHONE})
    code = sent_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    page = client_en.post("/me/login/code/", {"code": wrong}).content.decode()
    assert "Wrong code. 4 tries left." in page
    assert "The code is 6 digits." in client_en.post("/me/login/code/", {"code": "12ab"}).content.decode()
    for _attempt in range(4):
        client_en.post("/me/login/code/", {"code": wrong})
    page = client_en.post("/me/login/code/", {"code": code}).content.decode()
    assert "Too many wrong codes" in page
    assert "resident_id" not in client_en.session


def test_expired_code_is_refused(person):
    now = timezone.now()
    request_code(PHONE, now=now - dt.timedelta(minutes=6))
    with pytest.raises(SignInError, match="expired"):
        verify_code(PHONE, sent_code(PHONE), now=now)
    # just inside the five minutes it works
    request_code(PHONE, now=now)
    verify_code(PHONE, sent_code(PHONE), now=now + dt.timedelta(minutes=4, seconds=59))


def test_only_the_newest_code_counts(person):
    now = timezone.now()
    request_code(PHONE, now=now - dt.timedelta(minutes=2))
    first = sent_code(PHONE)
    request_code(PHONE, now=now)
    second = sent_code(PHONE)
    if first != second:
        with pytest.raises(SignInError):
            verify_code(PHONE, first, now=now)
    verify_code(PHONE, second, now=now)


def test_throttle_per_phone(person):
    now = timezone.now()
    request_code(PHONE, now=now)
    with pytest.raises(SignInError, match="Wait 60 seconds"):
        request_code(PHONE, now=now)
    with pytest.raises(SignInError, match="Wait 1 second"):
        request_code(PHONE, now=now + dt.timedelta(seconds=59, microseconds=500_000))
    for minutes in (2, 4, 6, 8):
        request_code(PHONE, now=now + dt.timedelta(minutes=minutes))
    with pytest.raises(SignInError, match="Too many codes were asked for this number"):
        request_code(PHONE, now=now + dt.timedelta(minutes=10))
    request_code(PHONE, now=now + dt.timedelta(minutes=61))  # the hour has moved on


def test_throttle_per_network_address(person):
    now = timezone.now()
    for n in range(services.IP_MAX):
        request_code(f"137{n:08d}", ip="10.1.2.3", now=now)
    with pytest.raises(SignInError, match="from this network"):
        request_code("13600000000", ip="10.1.2.3", now=now)
    request_code("13600000000", ip="10.9.9.9", now=now)


def test_throttle_is_shown_on_the_form(client_en, person):
    client_en.post("/me/login/", {"phone": PHONE})
    page = client_en.post("/me/login/", {"phone": PHONE}).content.decode()
    assert "A code was sent a moment ago" in page


def test_unregistered_number_looks_the_same_but_gets_no_sms(client_en, person, outbox):
    response = client_en.post("/me/login/", {"phone": "13700000009"})
    assert response.status_code == 302 and response.url == "/me/login/code/"
    assert outbox == []
    assert OneTimeCode.objects.filter(phone="13700000009").count() == 1  # counted for the throttles


def test_malformed_number_is_refused(client_en, person, outbox):
    page = client_en.post("/me/login/", {"phone": "12345"}).content.decode()
    assert "11-digit mainland mobile number" in page
    assert outbox == [] and not OneTimeCode.objects.exists()


def test_sender_failure_is_reported_and_not_counted(client_en, person, settings):
    settings.LINLI_SMS_SENDER = "residents.tests.test_signin.FailingSender"
    page = client_en.post("/me/login/", {"phone": PHONE}).content.decode()
    assert "could not be sent" in page
    assert not OneTimeCode.objects.exists()


def test_console_sender_logs_the_message(caplog):
    with caplog.at_level(logging.WARNING, logger="linli.sms"):
        ConsoleSender().send(PHONE, "code 123456")
    assert "123456" in caplog.text


def test_send_sms_wraps_failures(settings):
    from residents.sms import send_sms

    settings.LINLI_SMS_SENDER = "residents.tests.test_signin.FailingSender"
    with pytest.raises(SmsError):
        send_sms(PHONE, "x")


def test_portal_pages_send_signed_out_visitors_to_sign_in(client_en, db):
    for url in PORTAL_PAGES:
        response = client_en.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/me/login/?next="), url


def test_next_must_stay_in_the_portal(client_en, person):
    response = sign_in(client_en, next_url="https://evil.example/me/")
    assert response.url == "/me/"


def test_shared_family_phone_gives_a_chooser(city, client_en, outbox):
    first, second, *_rest = sorted(city.residents.values(), key=lambda r: r.pk)
    outsider = _rest[0]
    Resident.objects.filter(pk__in=[first.pk, second.pk]).update(phone="13912345678")

    response = sign_in(client_en, phone="13912345678")
    assert response.status_code == 302 and response.url == "/me/choose/"
    assert client_en.get("/me/").url.startswith("/me/choose/")  # nobody chosen yet
    page = client_en.get("/me/choose/").content.decode()
    assert first.masked_name in page and second.masked_name in page
    assert first.name not in page and first.id_number not in page

    response = client_en.post("/me/choose/", {"resident": outsider.pk})  # not on this phone
    assert response.status_code == 200 and "resident_id" not in client_en.session

    response = client_en.post("/me/choose/", {"resident": second.pk})
    assert response.status_code == 302 and response.url == "/me/"
    page = client_en.get("/me/").content.decode()
    assert second.masked_id_number in page and "Switch person" in page

    client_en.post("/me/choose/", {"resident": first.pk})
    assert first.masked_id_number in client_en.get("/me/").content.decode()


def test_number_given_to_someone_else_ends_the_session(signed_in, person):
    assert signed_in.get("/me/").status_code == 200
    Resident.objects.filter(pk=person.pk).update(phone="13100000000")
    response = signed_in.get("/me/")
    assert response.status_code == 302 and response.url.startswith("/me/login/")


def test_session_expires_after_a_week(signed_in):
    session = signed_in.session
    session["resident_signed_in_at"] -= 8 * 24 * 3600
    session.save()
    assert signed_in.get("/me/").status_code == 302


def test_sign_out(signed_in):
    page = signed_in.get("/me/logout/")
    assert page.status_code == 200 and "Sign out" in page.content.decode()
    assert signed_in.session["resident_id"]
    response = signed_in.post("/me/logout/")
    assert response.status_code == 302 and response.url == "/me/login/"
    assert "resident_id" not in signed_in.session
    assert signed_in.get("/me/").status_code == 302


def test_resident_and_staff_sign_in_do_not_mix(client_en, person):
    staff = get_user_model().objects.create_user("clerk", password="pw-clerk")
    client_en.force_login(staff)
    sign_in(client_en)
    assert client_en.session["_auth_user_id"] == str(staff.pk)
    client_en.post("/me/logout/")
    assert client_en.session["_auth_user_id"] == str(staff.pk)  # staff still signed in
    assert client_en.get("/me/").status_code == 302

    OneTimeCode.objects.update(created_at=F("created_at") - dt.timedelta(minutes=2))  # past the resend wait
    resident_only = Client()
    sign_in(resident_only)
    assert "_auth_user_id" not in resident_only.session
    assert resident_only.get("/people/search/").status_code == 302  # residents are not staff


def test_memory_sender_keeps_messages():
    MemorySender().send(PHONE, "hello")
    assert MemorySender.last_to(PHONE).message == "hello"
    assert MemorySender.last_to("13000000000") is None
