"""Helpers of the beds tests: facilities in the small city, staff with the bed permissions, an API
client, a person put in a category the way the register does it."""

from __future__ import annotations

import json

from django.contrib.auth.models import Permission
from django.test import Client

from beds.choices import DEFAULT_CATEGORIES, FacilityKind
from beds.models import Facility
from cases.services import do_identify, do_transition
from geo.models import Division
from tests_support.clients import staff_client, token_client

JIANGAN, WUCHANG = "420102000000", "420106000000"


def district(code: str) -> Division:
    return Division.objects.get(code=code)


def facility(
    code: str,
    kind: str = FacilityKind.SHELTER_HOSPITAL,
    *,
    district_code: str | None = JIANGAN,
    approved: int = 10,
    open_: int = 10,
    occupied: int = 0,
    reserved: int = 0,
    categories: tuple[str, ...] | None = None,
    active: bool = True,
) -> Facility:
    return Facility.objects.create(
        code=code,
        name=f"{code}医院",
        kind=kind,
        categories=";".join(categories if categories is not None else DEFAULT_CATEGORIES[kind]),
        district=district(district_code) if district_code else None,
        beds_approved=approved,
        beds_open=open_,
        beds_occupied=occupied,
        beds_reserved=reserved,
        active=active,
    )


def staff(city, username: str, district_code: str = JIANGAN, role: str = "street", *perms: str):
    """A member of staff assigned to a district, with the named beds permissions only (the street
    role carries none of them; core.roles gives them to district and city staff)."""
    user = city.staff(username, role, district(district_code))
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="beds", codename=codename))
    return user


def login(user) -> Client:
    return staff_client(user)


def api(user) -> Client:
    return token_client(user, "beds tests")


def post_json(client: Client, url: str, data: dict):
    return client.post(url, json.dumps(data, default=str), content_type="application/json")


def categorised(person, category: str, state: str = "notified"):
    """Put ``person`` in ``category`` and move them to ``state`` (cases/tests do the same)."""
    do_identify(person, category, None)
    if state != "identified":
        do_transition(person, state, None)
    return person
