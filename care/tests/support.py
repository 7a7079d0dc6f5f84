"""Helpers shared by the care tests: staff with the care permission, backdated ledger memberships."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from people.models import KeyGroupMembership
from tests_support.permissions import grant


def grant_care(user) -> None:
    """The care permission alone (core.roles gives it to grid workers and above)."""
    grant(user, "care.manage_care")


def care_staff(city, username: str, role: str, node, *, manage: bool = True):
    user = city.staff(username, role, node)
    if manage:
        grant_care(user)
    return user


def browser(user) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def members_since(days_ago: int) -> dt.date:
    """Every key-group membership starts ``days_ago`` days ago (the import leaves ``since`` empty)."""
    since = timezone.localdate() - dt.timedelta(days=days_ago)
    KeyGroupMembership.objects.update(since=since)
    return since


def resident_browser(person) -> Client:
    """A resident signed in through the pages (phone, SMS code)."""
    from residents.tests.support import sign_in

    client = Client()
    client.cookies["django_language"] = "en"
    response = sign_in(client, phone=person.phone)
    assert response.status_code == 302, response
    return client


def open_order(building, user, *, hours: float = 2, kind: str = "food", items=None):
    from decimal import Decimal

    from care.services import ItemSpec, do_open_order

    return do_open_order(
        building,
        title="团购",
        kind=kind,
        supplier="中百仓储",
        closes_at=timezone.now() + dt.timedelta(hours=hours),
        items=items or [ItemSpec("大米", "10 kg", Decimal("55")), ItemSpec("鸡蛋", "30", Decimal("25.50"))],
        user=user,
    )
