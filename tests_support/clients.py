"""Test clients that read English (the site is Chinese first): a signed-in member of staff, and an
API client with a bearer token."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from core.models import ApiToken


def staff_client(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def token_client(user, name: str = "tests") -> Client:
    _, key = ApiToken.issue(user, name)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
