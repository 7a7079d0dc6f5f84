"""The gate app in a real browser (Chromium): a fever check opens its task; a check recorded while
the network is down waits in the phone's queue and reaches the server once, when it is back."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from gates.models import GateCheck
from gates.services import ensure_gate
from tasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def wait_for(condition, seconds: float = 15.0) -> None:
    """Poll the database while the live server writes to it (SQLite's shared in-memory test
    database answers 'table is locked' while the server thread holds a write)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except OperationalError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def record_by_id_number(page, id_number: str, temperature: str) -> None:
    page.click("#gate-type")
    page.fill("#gate-id-number", id_number)
    page.click("#gate-id-form button[type=submit]")
    page.check("#gate-form input[name=identity_checked]")
    page.fill("#gate-form input[name=temperature]", temperature)
    page.check("#gate-form input[name=mask]")
    page.click("#gate-form button[type=submit]")
    page.wait_for_selector("#gate-outcome:not([hidden])")


def test_fever_and_an_outage_in_a_real_browser(city, live_server, chromium):
    compound = next(iter(city.compounds.values()))
    gate = ensure_gate(compound, code="G-BROWSER", name="东门")
    first, second = [r for r in city.residents.values() if r.compound_id == compound.pk][:2]
    city.staff("volunteer", "grid_worker", first.grid)

    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "volunteer")
    page.fill("input[name=password]", "pw-volunteer")
    page.click("form [type=submit]")
    page.goto(f"{live_server.url}/gate/{gate.code}/")
    page.wait_for_selector("#gate-online[data-state=online]")

    record_by_id_number(page, first.id_number, "37.6")
    page.wait_for_selector("#gate-fever:not([hidden])")
    wait_for(lambda: GateCheck.objects.filter(person=first, fever=True).exists())
    wait_for(lambda: Task.objects.filter(task_type="refer", resident=first).exists())

    page.click("#gate-outcome [data-action=next]")
    context.set_offline(True)
    record_by_id_number(page, second.id_number, "36.5")
    page.wait_for_selector("#gate-queue[data-state=waiting]")
    time.sleep(1)
    wait_for(lambda: not GateCheck.objects.filter(person=second).exists())  # still only on the phone
    context.set_offline(False)
    page.click("#gate-sync")
    page.wait_for_selector("#gate-queue[data-state=done]", timeout=20_000)
    wait_for(lambda: GateCheck.objects.filter(person=second).exists())
    page.reload()
    page.wait_for_selector("#gate-online[data-state=online]")
    page.click("#gate-sync")
    time.sleep(1)
    wait_for(lambda: GateCheck.objects.filter(person=second).count() == 1)
    wait_for(lambda: GateCheck.objects.get(person=second).offline is True)
    context.close()
