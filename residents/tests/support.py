"""Helpers for resident-portal tests: read the code from the in-memory SMS, sign in through the pages."""

from __future__ import annotations

import re

from django.test import Client

from residents.sms import MemorySender

PHONE = "13900000001"


def sent_code(phone: str) -> str:
    message = MemorySender.last_to(phone)
    assert message is not None, f"no SMS to {phone}"
    return re.search(r"\b(\d{6})\b", message.message).group(1)


def sign_in(browser: Client, phone: str = PHONE, next_url: str = "") -> object:
    """The whole flow through the pages: phone, SMS, code. Returns the code page's response."""
    data = {"phone": phone}
    if next_url:
        data["next"] = next_url
    response = browser.post("/me/login/", data)
    assert response.status_code == 302 and response.url == "/me/login/code/", response.content[:2000]
    return browser.post("/me/login/code/", {"code": sent_code(phone)})
