"""Through the pages: a resident asks (with a photo), the handler closes it, the resident rates; staff
lists, verifies, takes a call; the counts agree with what happened."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from assistance.models import HelpRequest
from assistance.tests.conftest import image_bytes
from core.models import ReadLog
from residents.sms import MemorySender
from residents.tests.support import sign_in

pytestmark = pytest.mark.django_db


def english(client: Client) -> Client:
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def resident_browser(settings, resident):
    settings.LINLI_SMS_SENDER = "residents.sms.MemorySender"
    MemorySender.clear()
    browser = english(Client())
    response = sign_in(browser, phone=resident.phone)
    assert response.status_code == 302
    return browser


def staff_browser(user) -> Client:
    browser = english(Client())
    assert browser.login(username=user.username, password=f"pw-{user.username}")
    return browser


def test_resident_asks_handler_closes_resident_rates(resident_browser, resident, grid_worker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    page = resident_browser.get("/me/help/new/")
    assert page.status_code == 200 and "Escort to hospital" in page.content.decode()
    photo = SimpleUploadedFile("box.png", image_bytes("PNG"), content_type="image/png")
    response = resident_browser.post("/me/help/new/", {"category": "medicine", "text": "硝苯地平一盒", "photo": photo})
    item = HelpRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/me/help/{item.pk}/"
    detail = resident_browser.get(response.url).content.decode()
    assert "Assigned to the person answerable for your building" in detail and item.reference in detail
    assert resident_browser.get(f"/help/{item.pk}/photo/")["Content-Type"] == "image/png"

    worker = staff_browser(grid_worker)
    inbox = worker.get("/tasks/").content.decode()
    assert "硝苯地平一盒" in inbox
    assert worker.post(f"/help/{item.pk}/start/").status_code == 302
    assert worker.post(f"/help/{item.pk}/resolve/", {"feedback": "已送到"}).status_code == 302
    item.refresh_from_db()
    assert item.task.status == "closed"

    detail = resident_browser.get(f"/me/help/{item.pk}/").content.decode()
    assert "Rate the help you got" in detail and "已送到" in detail
    resident_browser.post(f"/me/help/{item.pk}/rate/", {"stars": "4", "comment": "谢谢"})
    item.refresh_from_db()
    assert item.rating == 4 and item.task.status == "evaluated"
    assert "Done and rated" in resident_browser.get("/me/help/").content.decode()


def test_refusals_show_on_the_form_and_nothing_is_written(resident_browser, grid_worker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    empty = resident_browser.post("/me/help/new/", {"category": "medicine", "text": ""}).content.decode()
    assert "Say in a few words what you need." in empty
    gif = SimpleUploadedFile("a.gif", b"GIF89a" + b"\0" * 20, content_type="image/gif")
    bad = resident_browser.post("/me/help/new/", {"category": "medicine", "text": "药", "photo": gif}).content.decode()
    assert "JPEG, PNG or WebP" in bad
    assert not HelpRequest.objects.exists()


def test_another_residents_request_is_not_found(resident_browser, city, resident, grid_worker):
    from assistance.services import Ask, do_ask
    from people.models import Resident

    other = Resident.objects.exclude(pk=resident.pk).exclude(phone=resident.phone).first()
    item = do_ask(Ask(category="other", text="别人的请求", phone=other.phone, resident=other))
    assert resident_browser.get(f"/me/help/{item.pk}/").status_code == 404
    assert resident_browser.post(f"/me/help/{item.pk}/withdraw/").status_code == 404


def test_household_page_lists_members_and_contacts(resident_browser, resident, grid_worker):
    page = resident_browser.get("/me/help/household/").content.decode()
    assert resident.masked_name in page and "grid_worker" in page


def test_staff_list_detail_are_scoped_and_read_logged(city, resident, grid_worker):
    from assistance.services import Ask, do_ask

    item = do_ask(Ask(category="groceries", text="米面油", phone=resident.phone, resident=resident))
    worker = staff_browser(grid_worker)
    listed = worker.get("/help/").content.decode()
    assert item.reference in listed and resident.name not in listed
    assert ReadLog.objects.filter(user=grid_worker, object_id=resident.pk, action="list").exists()
    assert worker.get(f"/help/{item.pk}/").status_code == 200
    assert ReadLog.objects.filter(user=grid_worker, object_id=resident.pk, action="view").exists()
    outsider = city.staff("outsider", "grid_worker", city.grid("420106", 1))
    other = staff_browser(outsider)
    assert item.reference not in other.get("/help/").content.decode()
    assert other.get(f"/help/{item.pk}/").status_code == 404
    assert other.get(f"/help/{item.pk}/photo/").status_code == 404


def test_take_a_call_from_an_unknown_phone_then_verify(resident, community_worker, grid_worker):
    worker = staff_browser(community_worker)
    response = worker.post(
        "/help/new/",
        {"phone": "137 0000 0005", "category": "elderly_care", "text": "独居老人需要上门", "address": ""},
    )
    assert response.status_code == 302
    item = HelpRequest.objects.get()
    assert item.stage == "unplaced" and item.channel == "staff" and item.taken_by == community_worker
    from geo.models import Compound

    worker.post(f"/help/{item.pk}/place/", {"compound_code": Compound.objects.get(pk=resident.compound_id).code})
    item.refresh_from_db()
    assert item.stage == "verifying"
    worker.post(f"/help/{item.pk}/verify/", {"resident": resident.pk})
    item.refresh_from_db()
    assert item.stage == "routed" and item.task.assignee == grid_worker


def test_counts_page_and_api_agree(resident, grid_worker, community_worker):
    from assistance.services import Ask, do_ask, do_rate, do_resolve

    done = do_ask(Ask(category="medicine", text="药品", phone=resident.phone, resident=resident))
    do_ask(Ask(category="escort", text="送医", phone=resident.phone, resident=resident))
    do_resolve(done, grid_worker, "已送")
    do_rate(done, resident, 5)
    worker = staff_browser(community_worker)
    node = f"community:{resident.community_id}"
    page = worker.get("/help/counts/", {"node": node}).content.decode()
    assert 'data-figure="asked_total">2<' in page and 'data-figure="medicine">1<' in page
    figures = worker.get("/api/help/counts", {"node": node}).json()
    assert figures["asked_total"] == 2 and figures["closed_total"] == 1
    assert figures["deliveries"]["medicine"] == 1 and figures["escorts"] == 0
    assert figures["rated"] == 1 and figures["rating_mean"] == 5.0 and figures["open_now"] == 1
    assert [c["node_id"] for c in figures["children"]] == [resident.grid_id]
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    later = worker.get("/api/help/counts", {"node": node, "start": tomorrow, "end": tomorrow}).json()
    assert later["asked_total"] == 0 and later["open_now"] == 1  # "now" figures do not depend on the period
    assert worker.get("/api/help/counts", {"node": "community:999999"}).status_code == 404
