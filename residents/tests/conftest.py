"""Resident-portal fixtures: an in-memory SMS outbox, a resident with a phone, a signed-in client."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from residents.sms import MemorySender
from residents.tests.support import PHONE, sign_in
from tests_support.city import build_one_person


@pytest.fixture(autouse=True)
def outbox(settings):
    """Every test sends SMS into memory; the list is emptied before and after."""
    settings.LINLI_SMS_SENDER = "residents.sms.MemorySender"
    MemorySender.clear()
    yield MemorySender.outbox
    MemorySender.clear()


@pytest.fixture
def person(db):
    """One resident (张三) with a mobile number, in a one-building chain with its staff."""
    resident = build_one_person()
    resident.phone = PHONE
    resident.save()
    return resident


@pytest.fixture
def client_en() -> Client:
    """A browser that chose English (the site default is Chinese)."""
    browser = Client()
    browser.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return browser


@pytest.fixture
def signed_in(client_en, person) -> Client:
    response = sign_in(client_en)
    assert response.status_code == 302 and response.url == "/me/"
    return client_en
