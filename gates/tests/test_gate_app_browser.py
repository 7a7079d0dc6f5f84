"""The gate app in a real browser (Chromium): a fever check opens its task; a check recorded while
the network is down waits in the phone's queue and reaches the server once, when it is back."""

from __future__ import annotations

import time

import pytest

from gates.models import GateCheck
from gates.services import ensure_gate
from tasks.models import Task
from tests_support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def record_by_id_number(page, id_number: str, temperature: str) -> None:
    page.click("#gate-type")
    page.fill("#gate-id-number", id_number)
    page.click("#gate-id-form button[type=submit]")
    page.check("#gate-form input[name=identity_checked]")
    page.fill("#gate-form input[name=temperature]", temperature)
    page.check("#gate-form input[name=mask]")
    page.click("#gate-form button[type=submit]")
    page.wait_for_selector("#gate-outcome:not([hidden])")


def test_fever_and_an_outage_in_a_real_browser(city, live_server, chromium, screenshots):
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
    page.screenshot(path=str(screenshots / "gate-fever.png"), full_page=True)
    wait_for(lambda: GateCheck.objects.filter(person=first, fever=True).exists())
    wait_for(lambda: Task.objects.filter(task_type="refer", resident=first).exists())

    page.click("#gate-outcome [data-action=next]")
    context.set_offline(True)
    record_by_id_number(page, second.id_number, "36.5")
    page.wait_for_selector("#gate-queue[data-state=waiting]")
    page.screenshot(path=str(screenshots / "gate-offline-queue.png"), full_page=True)
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


def qr_video(token: str, path) -> None:
    """A one-frame Y4M video of the token's QR code: Chromium's fake camera plays it in a loop."""
    import numpy as np
    import segno

    matrix = np.array(list(segno.make(token, error="m").matrix), dtype=np.uint8)
    modules = np.pad(matrix, 4)  # the quiet zone
    scale = 420 // modules.shape[0]
    image = np.kron(1 - modules, np.ones((scale, scale), dtype=np.uint8)) * 255
    width, height = 640, 480
    frame = np.full((height, width), 255, dtype=np.uint8)
    top, left = (height - image.shape[0]) // 2, (width - image.shape[1]) // 2
    frame[top : top + image.shape[0], left : left + image.shape[1]] = image
    chroma = np.full((height // 2) * (width // 2), 128, dtype=np.uint8).tobytes()
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            video.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)


def test_the_camera_reads_a_health_code(city, live_server, tmp_path, playwright_chromium):
    """The phone camera (Chromium's fake device playing a QR code) scans a red code: the app shows
    it red from its own offline check and from the server, and refuses."""
    from cases.services import do_identify
    from healthcode.services import code_for, mint

    playwright, chromium_path = playwright_chromium
    compound = next(iter(city.compounds.values()))
    gate = ensure_gate(compound, code="G-CAMERA", name="西门")
    person = next(r for r in city.residents.values() if r.compound_id == compound.pk)
    do_identify(person, "confirmed", None)
    qr_video(mint(code_for(person))[0], tmp_path / "qr.y4m")
    city.staff("camera-volunteer", "grid_worker", person.grid)

    browser = playwright.chromium.launch(
        executable_path=chromium_path,
        headless=True,
        args=[
            "--no-sandbox",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={tmp_path / 'qr.y4m'}",
        ],
    )
    try:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        context.grant_permissions(["camera"], origin=live_server.url)
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "camera-volunteer")
        page.fill("input[name=password]", "pw-camera-volunteer")
        page.click("form [type=submit]")
        page.goto(f"{live_server.url}/gate/{gate.code}/")
        page.wait_for_selector("#gate-online[data-state=online]")
        page.click("#gate-scan")
        page.wait_for_selector("#gate-check:not([hidden])", timeout=30_000)
        page.wait_for_selector("#gate-colour[data-colour=red]")
        page.check("#gate-form input[name=identity_checked]")
        page.fill("#gate-form input[name=temperature]", "36.5")
        page.check("#gate-form input[name=mask]")
        page.click("#gate-form button[type=submit]")
        page.wait_for_selector("#gate-outcome:not([hidden])")
        wait_for(lambda: GateCheck.objects.filter(person=person, method="code").exists())
        wait_for(lambda: GateCheck.objects.get(person=person).refusal == "red_code")
    finally:
        browser.close()
