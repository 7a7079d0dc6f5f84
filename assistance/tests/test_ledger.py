"""The key-group ledgers show open help requests and when medicine last reached each person."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format

from assistance.services import Ask, do_ask, do_resolve
from people.models import KeyGroupMembership

pytestmark = pytest.mark.django_db


def test_chronic_ledger_tracks_medicine_to_delivery(city, grid, community_worker, grid_worker):
    member = KeyGroupMembership.objects.filter(group="chronic", grid=grid).select_related("resident").first().resident
    delivered = do_ask(Ask(category="medicine", text="二甲双胍", phone=member.phone, resident=member))
    do_ask(Ask(category="groceries", text="米面", phone=member.phone, resident=member))
    do_resolve(delivered, grid_worker, "药已送到")
    browser = Client()
    browser.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    browser.login(username="community_worker", password="pw-community_worker")
    page = browser.get("/people/ledgers/chronic/").content.decode()
    assert "Open help requests" in page and "Medicine last delivered" in page
    row = next(line for line in page.split("<tr>") if f"/people/residents/{member.pk}/" in line)
    with translation.override("en"):
        shown = date_format(timezone.localdate())
    assert f"<td>1</td><td>{shown}</td>" in row
