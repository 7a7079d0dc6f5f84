"""The optional authenticator-app second factor (issue #11): enrolment, the two-step sign-in, codes
that work once, guessing locked like passwords, and no way around it through the admin."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from core import two_factor
from core.models import LoginAttempt, TotpDevice


@pytest.fixture
def worker(city):
    return city.staff("li", "community_worker", city.divisions["420102001001"])


def _client() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def _code(secret: str, at: dt.datetime | None = None) -> str:
    return pyotp.TOTP(secret).at(at or timezone.now())


def _enrol(worker) -> str:
    client = _client()
    client.force_login(worker)
    assert client.post("/account/two-factor/", {"action": "start"}).status_code == 302
    page = client.get("/account/two-factor/").content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page).group(1)
    wrong = client.post("/account/two-factor/", {"action": "confirm", "code": "000000"})
    assert b"That code is not right" in wrong.content and not two_factor.is_enabled(worker)
    right = client.post("/account/two-factor/", {"action": "confirm", "code": _code(secret)})
    assert right.status_code == 302 and two_factor.is_enabled(worker)
    return secret


def test_enrolment_needs_a_first_code_from_the_app(worker):
    secret = _enrol(worker)
    device = TotpDevice.objects.get(user=worker)
    assert device.secret == secret and device.confirmed_at is not None


def test_sign_in_with_the_second_factor_takes_password_then_code(worker):
    secret = _enrol(worker)
    client = _client()
    step_one = client.post("/login/?next=/tasks/", {"username": "li", "password": "pw-li", "next": "/tasks/"})
    assert step_one.status_code == 302 and step_one["Location"] == "/login/code/"
    assert "_auth_user_id" not in client.session  # a password alone signs no one in
    assert client.get("/tasks/").status_code == 302
    next_step = timezone.now() + dt.timedelta(seconds=30)  # the enrolment used up the current step's code
    step_two = client.post("/login/code/", {"code": _code(secret, next_step)})
    assert step_two.status_code == 302 and step_two["Location"] == "/tasks/"
    assert client.session["_auth_user_id"] == str(worker.pk)


def test_a_code_works_once(worker):
    secret = _enrol(worker)  # the enrolment used the current step's code
    client = _client()
    client.post("/login/", {"username": "li", "password": "pw-li"})
    response = client.post("/login/code/", {"code": _code(secret)})
    assert response.status_code == 200 and b"already used" in response.content
    assert "_auth_user_id" not in client.session
    later = timezone.now() + dt.timedelta(seconds=30)
    assert two_factor._accepted_step(TotpDevice.objects.get(user=worker), _code(secret, later), timezone.now())
    too_far = timezone.now() + dt.timedelta(seconds=90)
    assert not two_factor._accepted_step(TotpDevice.objects.get(user=worker), _code(secret, too_far), timezone.now())


def test_guessing_codes_locks_the_account_and_the_password_does_not_reset_it(worker):
    secret = _enrol(worker)
    client = _client()
    for _ in range(3):
        client.post("/login/", {"username": "li", "password": "pw-li"})
        client.post("/login/code/", {"code": "123456"})
        client.post("/login/code/", {"code": "654321"})
    # the fifth wrong code locks the account: the sixth is not even checked
    assert LoginAttempt.objects.filter(username="li", succeeded=False).count() == 5
    assert not LoginAttempt.objects.filter(username="li", succeeded=True).exists()
    response = client.post("/login/", {"username": "li", "password": "pw-li"})
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session
    LoginAttempt.objects.update(at=timezone.now() - dt.timedelta(hours=1))
    client.post("/login/", {"username": "li", "password": "pw-li"})
    later = timezone.now() + dt.timedelta(seconds=30)
    assert client.post("/login/code/", {"code": _code(secret, later)}).status_code == 302
    assert LoginAttempt.objects.filter(username="li", succeeded=True).count() == 1


def test_the_pending_step_expires(worker):
    _enrol(worker)
    client = _client()
    client.post("/login/", {"username": "li", "password": "pw-li"})
    session = client.session
    session[two_factor.PENDING_KEY]["at"] = (timezone.now() - dt.timedelta(minutes=6)).isoformat()
    session.save()
    response = client.post("/login/code/", {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == "/login/"


def test_turning_it_off_needs_a_current_code(worker):
    secret = _enrol(worker)
    client = _client()
    client.force_login(worker)
    assert b"That code is not right" in client.post("/account/two-factor/", {"action": "off", "code": "000000"}).content
    assert two_factor.is_enabled(worker)
    later = timezone.now() + dt.timedelta(seconds=30)
    assert client.post("/account/two-factor/", {"action": "off", "code": _code(secret, later)}).status_code == 302
    assert not TotpDevice.objects.filter(user=worker).exists()
    assert _client().post("/login/", {"username": "li", "password": "pw-li"})["Location"] == "/"


def test_the_settings_page_needs_a_signed_in_user(client):
    assert client.get("/account/two-factor/")["Location"].startswith("/login/")
    assert client.get("/login/code/")["Location"] == "/login/"
