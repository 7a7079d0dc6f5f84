"""Sign-in throttling (issue #11, GB/T 22239-2019 §8.1.4.1 b): accounts and addresses lock after the
policy's failures, every entry point is covered, and the lock lifts by itself."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.utils import timezone

from core.login import lockout
from core.models import LoginAttempt
from core.policy import do_update_policy


@pytest.fixture
def worker(city):
    return city.staff("wang", "community_worker", city.divisions["420102001001"])


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_account_even_for_the_right_password(worker):
    client = Client()
    client.cookies["django_language"] = "en"
    for _ in range(5):
        response = _login(client, "wang", "wrong")
        assert response.status_code == 200 and b"Wrong username or password" in response.content
    response = _login(client, "wang", "pw-wang")
    assert response.status_code == 200
    assert b"Too many failed sign-ins. Try again in 15 minutes." in response.content
    assert "_auth_user_id" not in client.session
    # the lock is per account: someone else signs in from the same address
    assert LoginAttempt.objects.filter(username="wang", succeeded=False).count() == 5


def test_the_lock_lifts_after_the_policy_minutes_and_a_success_resets_the_count(worker):
    for _ in range(5):
        assert authenticate(None, username="Wang", password="wrong") is None  # usernames counted lowercased
    assert lockout("wang", None) is not None
    assert authenticate(None, username="wang", password="pw-wang") is None  # refused while locked
    LoginAttempt.objects.update(at=timezone.now() - dt.timedelta(minutes=16))
    assert lockout("wang", None) is None
    assert authenticate(None, username="wang", password="pw-wang") == worker
    for _ in range(4):
        authenticate(None, username="wang", password="wrong")
    assert lockout("wang", None) is None  # four failures after a success: not yet


def test_the_policy_sets_the_limits(worker):
    do_update_policy({"login_max_failures": 2, "login_lockout_minutes": 60}, None, "stricter")
    from core.policy import _RECENT

    _RECENT.clear()
    for _ in range(2):
        authenticate(None, username="wang", password="wrong")
    lock = lockout("wang", None)
    assert lock is not None and 59 <= lock.minutes_left <= 60


def test_an_address_spraying_many_accounts_is_locked(worker, rf):
    request = rf.post("/login/", REMOTE_ADDR="10.9.9.9")
    for i in range(30):
        authenticate(request, username=f"guess{i}", password="123456")
    lock = lockout("wang", "10.9.9.9")
    assert lock is not None and lock.by_address
    assert authenticate(request, username="wang", password="pw-wang") is None
    other = rf.post("/login/", REMOTE_ADDR="10.0.0.2")
    assert authenticate(other, username="wang", password="pw-wang") == worker


def test_the_admin_signs_in_through_the_same_throttled_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/admin/"
    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/login/")


def test_passwords_are_hashed_with_argon2_and_old_hashes_upgraded(worker, settings):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    import linli.settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS  # the fixture's signal resets the hashers
    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    worker.password = PBKDF2PasswordHasher().encode("pw-wang", PBKDF2PasswordHasher().salt())
    worker.save()
    assert authenticate(None, username="wang", password="pw-wang") == worker
    worker.refresh_from_db()
    assert worker.password.startswith("argon2$argon2id$")
    worker.set_password("another-long-password")
    assert worker.password.startswith("argon2$argon2id$") and worker.check_password("another-long-password")
