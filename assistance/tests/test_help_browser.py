"""A help request in a real browser (Chromium): a resident on a phone signs in with an SMS code,
asks for medicine with a photo and follows it; the grid worker at a 1366×768 desk takes it and
closes it; the resident rates it. Screenshots of each page are saved in the test's folder."""

from __future__ import annotations

import pytest

from assistance.models import HelpRequest
from assistance.tests.conftest import image_bytes
from residents.sms import MemorySender
from residents.tests.support import sent_code
from tests_support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_resident_asks_and_the_grid_worker_delivers(
    city, resident, grid_worker, live_server, chromium, tmp_path, settings, screenshots
):
    settings.LINLI_SMS_SENDER = "residents.sms.MemorySender"
    settings.MEDIA_ROOT = tmp_path / "media"
    MemorySender.clear()
    photo = tmp_path / "box.jpg"
    photo.write_bytes(image_bytes("JPEG", (320, 240)))

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    me = phone.new_page()
    me.goto(f"{live_server.url}/me/login/?next=/me/help/new/")
    me.fill("input[name=phone]", resident.phone)
    me.click("form [type=submit]")
    me.wait_for_url("**/me/login/code/")
    me.fill("input[name=code]", sent_code(resident.phone))
    me.click("form [type=submit]")
    me.wait_for_url("**/me/help/new/")
    me.check("input[name=category][value=medicine]")
    me.fill("textarea[name=text]", "降压药两盒，硝苯地平")
    me.set_input_files("input[name=photo]", str(photo))
    me.screenshot(path=str(screenshots / "resident-ask.png"), full_page=True)
    me.click("form.stack button[type=submit]")
    me.wait_for_selector("[data-progress=assigned]")
    me.screenshot(path=str(screenshots / "resident-request.png"), full_page=True)
    item = HelpRequest.objects.get()
    assert item.task.assignee_id == grid_worker.pk and item.photo_type == "image/jpeg"

    desk = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    staff = desk.new_page()
    staff.goto(f"{live_server.url}/login/")
    staff.fill("input[name=username]", "grid_worker")
    staff.fill("input[name=password]", "pw-grid_worker")
    staff.click("form [type=submit]")
    staff.goto(f"{live_server.url}/help/")
    staff.screenshot(path=str(screenshots / "staff-help-list.png"), full_page=True)
    staff.click(f"text={item.reference}")
    staff.click("form[action$='/start/'] button")
    staff.fill("textarea[name=feedback]", "已送到家门口")
    staff.click("form[action$='/resolve/'] button")
    staff.wait_for_selector("[data-progress=done]")
    staff.screenshot(path=str(screenshots / "staff-help-detail.png"), full_page=True)

    me.goto(f"{live_server.url}/me/help/{item.pk}/")
    me.check("input[name=stars][value='5']")
    me.click("form[action$='/rate/'] button")
    me.wait_for_selector("[data-progress=rated]")
    me.screenshot(path=str(screenshots / "resident-rated.png"), full_page=True)
    wait_for(lambda: HelpRequest.objects.filter(pk=item.pk, rating=5).exists())
    assert all((screenshots / name).stat().st_size > 5000 for name in ("resident-ask.png", "staff-help-detail.png"))
    phone.close()
    desk.close()
