"""Asking, routing up the 包保 chain, deadlines by category, paging, strangers, refusals, rating."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assistance.choices import HelpChannel, HelpStage
from assistance.models import HelpRequest
from assistance.services import (
    Ask,
    HelpRequestError,
    do_ask,
    do_handle,
    do_place,
    do_rate,
    do_reject,
    do_resolve,
    do_verify,
    do_withdraw,
    progress,
)
from assistance.tests.conftest import image_bytes
from core.policy import do_update_policy
from geo.models import Compound
from tasks.escalation import sweep_overdue
from tasks.models import Notification

pytestmark = pytest.mark.django_db


def ask(resident, category="medicine", text="降压药两盒", **kwargs):
    kwargs.setdefault("phone", resident.phone)
    kwargs.setdefault("resident", resident)
    kwargs.setdefault("phone_verified", True)
    return do_ask(Ask(category=category, text=text, **kwargs))


def test_a_request_goes_to_the_cadre_of_the_residents_building(resident, cadre, grid_worker):
    item = ask(resident)
    assert item.stage == HelpStage.ROUTED and item.reference.startswith("H")
    task = item.task
    assert task.task_type == "help" and task.resident == resident
    assert task.assignee == cadre and task.assigned_level == "building"
    assert task.status == "dispatched"
    assert Notification.objects.filter(user=cadre, task=task, kind="assigned").exists()
    assert (item.district_id, item.grid_id, item.building_id) == (
        resident.district_id,
        resident.grid_id,
        resident.building_id,
    )


def test_without_a_cadre_the_grid_worker_gets_it(resident, grid_worker):
    task = ask(resident).task
    assert task.assignee == grid_worker and task.assigned_level == "grid"


def test_deadline_is_the_categorys_from_policy(resident, grid_worker):
    before = timezone.now()
    escort = ask(resident, category="escort", text="去医院透析").task
    assert dt.timedelta(hours=2) <= escort.due_at - before <= dt.timedelta(hours=2, minutes=1)
    do_update_policy({"help_deadline_hours": {"medicine": 6}}, None, "test")
    medicine = ask(resident).task
    assert dt.timedelta(hours=6) <= medicine.due_at - before <= dt.timedelta(hours=6, minutes=1)


def test_an_escort_pages_the_level_above_at_once(resident, cadre, grid_worker):
    item = ask(resident, category="escort", text="需要送医院")
    assert item.task.assignee == cadre
    page = Notification.objects.get(user=grid_worker, kind="paged")
    assert page.task == item.task
    assert item.task.events.filter(action="comment", note__contains="grid_worker").exists()
    assert not Notification.objects.filter(kind="paged").exclude(user=grid_worker).exists()


def test_groceries_page_nobody(resident, cadre, grid_worker):
    ask(resident, category="groceries", text="米和油")
    assert not Notification.objects.filter(kind="paged").exists()


def test_a_late_request_escalates_up_the_chain(resident, cadre, grid_worker, community_worker):
    item = ask(resident, category="escort", text="送医院")
    result = sweep_overdue(now=timezone.now() + dt.timedelta(hours=3))
    assert result["escalated"] >= 1
    item.task.refresh_from_db()
    assert item.task.assignee == grid_worker and item.task.assigned_level == "grid"
    assert item.task.escalation_level == 1


def test_handle_resolve_and_rate(resident, grid_worker, settings, django_capture_on_commit_callbacks):
    from residents.sms import MemorySender

    settings.LINLI_SMS_SENDER = "residents.sms.MemorySender"
    MemorySender.clear()
    item = ask(resident)
    do_handle(item, grid_worker)
    item.task.refresh_from_db()
    assert item.task.status == "handling" and progress(item)[0] == "handling"
    with django_capture_on_commit_callbacks(execute=True):
        do_resolve(item, grid_worker, "送到家门口")
    told = MemorySender.last_to(resident.phone)
    assert told is not None and item.reference in told.message and "送到家门口" in told.message
    item.refresh_from_db()
    assert item.task.status == "closed" and item.task.feedback == "送到家门口"
    assert progress(item)[0] == "done"
    do_rate(item, resident, 5, "很及时")
    item.refresh_from_db()
    assert item.rating == 5 and item.task.status == "evaluated" and item.task.evaluation == "satisfied"
    with pytest.raises(HelpRequestError) as refused:
        do_rate(item, resident, 4)
    assert refused.value.code == "rated"


def test_an_unsatisfied_rating_reaches_the_community(resident, grid_worker, community_worker):
    item = ask(resident)
    do_resolve(item, grid_worker, "done")
    do_rate(item, resident, 1, "来晚了")
    item.refresh_from_db()
    assert item.task.evaluation == "unsatisfied"
    assert Notification.objects.filter(
        user=community_worker, task=item.task, message__contains="not satisfied"
    ).exists()


def test_rating_before_done_or_by_someone_else_is_refused(city, resident, grid_worker):
    item = ask(resident)
    with pytest.raises(HelpRequestError) as early:
        do_rate(item, resident, 5)
    assert early.value.code == "not_done"
    other = type(resident).objects.exclude(pk=resident.pk).first()
    with pytest.raises(HelpRequestError) as not_yours:
        do_rate(item, other, 5)
    assert not_yours.value.code == "not_yours"


def test_withdraw_cancels_the_task(resident, grid_worker):
    item = ask(resident)
    do_withdraw(item, resident)
    item.task.refresh_from_db()
    assert item.task.status == "cancelled" and progress(item)[0] == "cancelled"


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "empty_text"), ("  x ", "empty_text"), ("药" * 1001, "text_too_long")],
)
def test_empty_or_oversized_text_is_refused_and_nothing_written(resident, grid_worker, text, code):
    with pytest.raises(HelpRequestError) as refused:
        ask(resident, text=text)
    assert refused.value.code == code
    assert not HelpRequest.objects.exists()


def test_unknown_category_and_bad_phone_are_refused(resident):
    with pytest.raises(HelpRequestError) as category:
        ask(resident, category="pizza")
    assert category.value.code == "bad_category"
    with pytest.raises(HelpRequestError) as phone:
        do_ask(Ask(category="other", text="help", phone="12345"))
    assert phone.value.code == "bad_phone"


def test_flooding_from_one_phone_is_limited(resident, grid_worker):
    do_update_policy({"help_requests_per_phone_per_hour": 3}, None, "test")
    for n in range(3):
        ask(resident, text=f"第{n}次")
    with pytest.raises(HelpRequestError) as refused:
        ask(resident, text="第四次")
    assert refused.value.code == "rate_limited"
    assert HelpRequest.objects.count() == 3
    later = timezone.now() + dt.timedelta(hours=1, minutes=1)
    assert do_ask(Ask(category="other", text="later", phone=resident.phone, resident=resident), now=later).pk


def test_a_photo_is_kept_without_its_camera_metadata(resident, grid_worker, settings, tmp_path):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("IMG_0001.jpg", image_bytes(exif_gps=True), content_type="image/jpeg")
    item = ask(resident, photo=upload)
    assert item.photo_type == "image/jpeg" and "IMG_0001" not in item.photo.name
    with Image.open(item.photo.path) as stored:
        assert stored.size == (64, 48)
        assert 0x8825 not in stored.getexif() and 0x010F not in stored.getexif()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"%PDF-1.4 not an image", "bad_photo_type"),
        (b"GIF89a" + b"\0" * 30, "bad_photo_type"),
        (b"\xff\xd8\xff\xe0" + b"broken jpeg", "bad_photo"),
    ],
)
def test_unsupported_or_broken_photos_are_refused(resident, grid_worker, settings, tmp_path, content, code):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(HelpRequestError) as refused:
        ask(resident, photo=SimpleUploadedFile("x.jpg", content, content_type="image/jpeg"))
    assert refused.value.code == code
    assert not HelpRequest.objects.exists()


def test_an_oversized_photo_is_refused(resident, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("assistance.services.MAX_PHOTO_BYTES", 100)
    with pytest.raises(HelpRequestError) as refused:
        ask(resident, photo=SimpleUploadedFile("x.png", image_bytes("PNG", (300, 300)), content_type="image/png"))
    assert refused.value.code == "photo_too_large"


def test_an_unregistered_phone_goes_to_its_community_for_verification(city, grid, resident, community_worker):
    compound = Compound.objects.get(pk=resident.compound_id)
    item = do_ask(
        Ask(
            category="groceries",
            text="刚搬来，没有菜了",
            phone="13700000009",
            channel=HelpChannel.OPEN311,
            address=f"{compound.name}3栋",
        )
    )
    assert item.stage == HelpStage.VERIFYING and item.resident is None and item.task is None
    assert item.compound_id == compound.pk and item.community_id == grid.community_id
    verify = item.verify_task
    assert verify.task_type == "verify" and verify.assignee == community_worker
    assert progress(item)[0] == "verifying"
    do_verify(item, community_worker, resident)
    item.refresh_from_db()
    assert item.stage == HelpStage.ROUTED and item.resident == resident and item.task.task_type == "help"
    assert item.building_id == resident.building_id
    verify.refresh_from_db()
    assert verify.status == "closed"


def test_a_request_that_cannot_be_placed_waits_and_can_be_placed(city, resident, community_worker):
    item = do_ask(Ask(category="other", text="路灯坏了", phone="13700000008", channel=HelpChannel.OPEN311))
    assert item.stage == HelpStage.UNPLACED and item.task is None and item.verify_task is None
    do_place(item, None, Compound.objects.get(pk=resident.compound_id))
    item.refresh_from_db()
    assert item.stage == HelpStage.VERIFYING and item.verify_task.assignee == community_worker


def test_coordinates_place_a_stranger_at_the_nearest_compound(city, resident, community_worker):
    item = do_ask(Ask(category="other", text="井盖丢了", phone="13700000007", lat=30.6001, lon=114.3001))
    assert item.stage == HelpStage.VERIFYING and item.compound_id is not None
    far = do_ask(Ask(category="other", text="井盖丢了", phone="13700000006", lat=31.5, lon=114.3))
    assert far.stage == HelpStage.UNPLACED


def test_reject_keeps_the_request_with_its_reason(resident, grid_worker, community_worker):
    item = ask(resident)
    with pytest.raises(HelpRequestError):
        do_reject(item, community_worker, " ")
    do_reject(item, community_worker, "重复提交")
    item.refresh_from_db()
    assert item.stage == HelpStage.REJECTED and item.task.status == "cancelled"
    assert progress(item)[0] == "rejected"


def test_a_person_known_only_from_a_feed_is_verified_like_a_stranger(city, resident, community_worker):
    from people.models import Resident

    unplaced = Resident.objects.create(name="新来的", id_number="", phone="13700000004", registered=False)
    compound = Compound.objects.get(pk=resident.compound_id)
    item = do_ask(Ask(category="groceries", text="没有菜了", phone=unplaced.phone, address=compound.name))
    assert item.resident == unplaced and item.stage == HelpStage.VERIFYING and item.task is None
    with pytest.raises(HelpRequestError) as refused:
        do_verify(item, community_worker, unplaced)
    assert refused.value.code == "no_address"


def test_a_failure_while_routing_leaves_no_row_and_no_photo(resident, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("assistance.services._route", broken)
    upload = SimpleUploadedFile("a.png", image_bytes("PNG"), content_type="image/png")
    with pytest.raises(RuntimeError):
        ask(resident, photo=upload)
    assert not HelpRequest.objects.exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
