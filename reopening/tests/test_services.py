"""The reopening rules through the actions: apply with evidence, submit (missing evidence refused,
the checklist edition kept), inspect and decide, withdraw, staff back, evidence limits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.policy import do_update_policy, policy
from reopening.choices import ApplicationStatus, StatusSource, UnitStatus, Verdict
from reopening.models import ApplicationEvent, Evidence, UnitStatusChange
from reopening.services import (
    ReopeningError,
    do_add_evidence,
    do_decide,
    do_record_verdict,
    do_remove_evidence,
    do_report_staff,
    do_start_application,
    do_submit,
    do_withdraw,
)
from reopening.tests.conftest import PDF, fill_evidence, jpeg_with_gps, png_bytes
from tasks.choices import TaskStatus

SCHOOL_ITEMS = ["supplies", "screening", "procedures", "disinfection"]


def soon() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=2)


def submitted(place):
    application = do_start_application(place.school, place.contact, planned_on=soon())
    fill_evidence(application, place.contact)
    return do_submit(application, place.contact)


def approve_all(application, by) -> None:
    for item in application.checklist:
        do_record_verdict(application, item, Verdict.APPROVED, "", by)


def test_a_school_applies_is_inspected_and_opens(place):
    application = do_start_application(place.school, place.contact, planned_on=soon(), note="一校一策")
    assert [e.item for e in application.entries.order_by("position")] == SCHOOL_ITEMS
    fill_evidence(application, place.contact)
    application = do_submit(application, place.contact)
    place.school.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED and place.school.status == UnitStatus.APPLYING
    assert application.checklist == SCHOOL_ITEMS
    task = application.task
    # the school's venue is the subject; the street owns inspections, so its 包保 has the task
    assert task.task_type == "inspect" and task.venue_id == place.school.venue_id
    assert task.assignee == place.street and task.assigned_level == "street"
    assert task.status == TaskStatus.DISPATCHED

    do_record_verdict(application, "supplies", Verdict.APPROVED, "", place.street)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.INSPECTING
    approve_all(application, place.street)
    do_decide(application, True, "符合复学条件", place.street)
    application.refresh_from_db()
    place.school.refresh_from_db()
    task.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED and application.decided_by == place.street
    assert place.school.status == UnitStatus.OPEN
    assert task.status == TaskStatus.CLOSED
    moves = list(UnitStatusChange.objects.filter(unit=place.school).values_list("from_status", "to_status", "source"))
    assert moves == [("closed", "applying", StatusSource.APPLICATION), ("applying", "open", StatusSource.APPLICATION)]
    assert ApplicationEvent.objects.filter(application=application, to_status="approved").exists()


def test_submitting_with_missing_evidence_is_refused_naming_the_items(place):
    application = do_start_application(place.school, place.contact, planned_on=soon())
    do_add_evidence(application, "supplies", png_bytes(), "a.png", place.contact)
    do_add_evidence(application, "procedures", PDF, "plan.pdf", place.contact)
    with pytest.raises(ReopeningError) as refused:
        do_submit(application, place.contact)
    assert refused.value.code == "missing_evidence" and refused.value.items == ["screening", "disinfection"]
    assert "Health screening of staff and pupils" in str(refused.value)
    assert "Disinfection of premises" in str(refused.value)
    application.refresh_from_db()
    place.school.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT and application.task_id is None
    assert place.school.status == UnitStatus.CLOSED


def test_a_new_policy_edition_mid_review_leaves_the_checklist_as_submitted(place):
    application = submitted(place)
    edition = application.policy_version
    checklists = dict(policy().reopening_checklists)
    checklists["school"] = [*SCHOOL_ITEMS, "emergency_plan", "isolation_room"]
    do_update_policy({"reopening_checklists": checklists}, None, "stricter school checklist")
    assert policy().version != edition
    approve_all(application, place.street)
    # the new items are not required of this application: approval goes through
    do_decide(application, True, "", place.street)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.checklist == SCHOOL_ITEMS and application.policy_version == edition
    assert not application.entries.filter(item="emergency_plan").exists()
    with pytest.raises(ReopeningError) as refused:
        do_record_verdict(application, "emergency_plan", Verdict.APPROVED, "", place.street)
    assert refused.value.code in {"no_item", "not_under_review"}


def test_a_draft_takes_the_edition_in_force_when_submitted(place):
    application = do_start_application(place.school, place.contact, planned_on=soon())
    fill_evidence(application, place.contact)
    checklists = dict(policy().reopening_checklists)
    checklists["school"] = ["supplies", "screening", "disinfection", "emergency_plan"]  # procedures dropped
    do_update_policy({"reopening_checklists": checklists}, None, "new edition")
    with pytest.raises(ReopeningError) as refused:
        do_submit(application, place.contact)
    assert refused.value.items == ["emergency_plan"]
    do_add_evidence(application, "emergency_plan", PDF, "plan.pdf", place.contact)
    application = do_submit(application, place.contact)
    assert application.checklist == checklists["school"] and application.policy_version == policy().version
    assert not application.entries.get(item="procedures").required  # kept with its file, not required
    approve_all(application, place.street)
    do_decide(application, True, "", place.street)


def test_approval_needs_every_item_approved_and_rejection_needs_reasons(place):
    application = submitted(place)
    do_record_verdict(application, "supplies", Verdict.APPROVED, "", place.street)
    with pytest.raises(ReopeningError) as refused:
        do_record_verdict(application, "screening", Verdict.REJECTED, "", place.street)
    assert refused.value.code == "reason_required"
    do_record_verdict(application, "screening", Verdict.REJECTED, "晨检记录不全", place.street)
    with pytest.raises(ReopeningError) as refused:
        do_decide(application, True, "", place.street)
    assert refused.value.code == "items_not_approved"
    assert refused.value.items == ["screening", "procedures", "disinfection"]
    with pytest.raises(ReopeningError) as refused:
        do_decide(application, False, "  ", place.street)
    assert refused.value.code == "reason_required"
    do_decide(application, False, "晨检记录不全，整改后重新申请", place.street)
    application.refresh_from_db()
    place.school.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert place.school.status == UnitStatus.CLOSED
    assert application.task.status == TaskStatus.CLOSED
    # a rejected unit may apply again
    assert do_start_application(place.school, place.contact).status == ApplicationStatus.DRAFT


def test_verdicts_only_on_the_checklist_and_only_under_review(place):
    application = do_start_application(place.school, place.contact, planned_on=soon())
    with pytest.raises(ReopeningError) as refused:
        do_record_verdict(application, "supplies", Verdict.APPROVED, "", place.street)
    assert refused.value.code == "not_under_review"
    fill_evidence(application, place.contact)
    do_submit(application, place.contact)
    with pytest.raises(ReopeningError):
        do_record_verdict(application, "canteen_staggered", Verdict.APPROVED, "", place.street)
    with pytest.raises(ReopeningError):
        do_record_verdict(application, "supplies", "maybe", "", place.street)
    with pytest.raises(ReopeningError) as refused:
        do_submit(application, place.contact)
    assert refused.value.code == "not_a_draft"


def test_withdrawal_puts_the_unit_back_and_cancels_the_inspection(place):
    application = submitted(place)
    do_withdraw(application, place.contact, "推迟复学")
    application.refresh_from_db()
    place.school.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN and place.school.status == UnitStatus.CLOSED
    assert application.task.status == TaskStatus.CANCELLED
    with pytest.raises(ReopeningError):
        do_withdraw(application, place.contact)


def test_only_a_closed_or_suspended_unit_applies_once_at_a_time(place):
    do_start_application(place.school, place.contact)
    with pytest.raises(ReopeningError) as refused:
        do_start_application(place.school, place.contact)
    assert refused.value.code == "application_in_progress"


def test_the_planned_date_is_needed_and_not_past(place):
    application = do_start_application(place.school, place.contact)
    fill_evidence(application, place.contact)
    with pytest.raises(ReopeningError) as refused:
        do_submit(application, place.contact)
    assert refused.value.code == "bad_planned_date"


def test_evidence_types_sizes_and_metadata(place):
    application = do_start_application(place.school, place.contact, planned_on=soon())
    for data, code in ((b"MZ\x90\x00 not a photo", "bad_file_type"), (b"", "empty_file")):
        with pytest.raises(ReopeningError) as refused:
            do_add_evidence(application, "supplies", data, "x.exe", place.contact)
        assert refused.value.code == code
    with pytest.raises(ReopeningError) as refused:
        do_add_evidence(application, "supplies", b"\x89PNG\r\n\x1a\n broken", "x.png", place.contact)
    assert refused.value.code == "bad_file"
    with pytest.raises(ReopeningError) as refused:
        do_add_evidence(application, "supplies", b"%PDF-1.4 cut off", "x.pdf", place.contact)
    assert refused.value.code == "bad_file"
    with pytest.raises(ReopeningError) as refused:
        do_add_evidence(application, "canteen_staggered", PDF, "x.pdf", place.contact)
    assert refused.value.code == "no_item"

    photo = do_add_evidence(application, "supplies", jpeg_with_gps(), "../../etc/photo.jpg", place.contact)
    assert photo.content_type == "image/jpeg" and "/" not in photo.name
    assert b"PhoneMaker" not in photo.file.open("rb").read()  # camera metadata dropped
    again = do_add_evidence(application, "supplies", jpeg_with_gps(), "again.jpg", place.contact)
    assert again.pk == photo.pk  # the same file twice is kept once

    do_update_policy({"reopening_evidence_limits": {"max_megabytes": 1, "max_files_per_item": 2}}, None, "tighter")
    with pytest.raises(ReopeningError) as refused:
        do_add_evidence(application, "procedures", PDF[:-7] + b" " * (1024 * 1024) + b"%%EOF\n", "big.pdf", None)
    assert refused.value.code == "file_too_large"
    do_add_evidence(application, "supplies", PDF, "plan.pdf", place.contact)
    with pytest.raises(ReopeningError) as refused:
        do_add_evidence(application, "supplies", png_bytes(), "third.png", place.contact)
    assert refused.value.code == "too_many_files"

    do_remove_evidence(Evidence.objects.get(pk=photo.pk), place.contact)
    assert not Evidence.objects.filter(pk=photo.pk).exists()


def test_evidence_only_on_a_draft(place):
    application = submitted(place)
    with pytest.raises(ReopeningError) as refused:
        do_add_evidence(application, "supplies", PDF, "late.pdf", place.contact)
    assert refused.value.code == "not_a_draft"
    with pytest.raises(ReopeningError):
        do_remove_evidence(Evidence.objects.filter(entry__application=application).first(), place.contact)


def test_policy_refuses_unknown_checklist_items(place):
    with pytest.raises(ValueError, match="unknown items"):
        do_update_policy(
            {"reopening_checklists": {"school": ["supplies", "magic"], "enterprise": ["supplies"]}}, None, ""
        )
    with pytest.raises(ValueError):
        do_update_policy({"reopening_checklists": {"school": [], "enterprise": ["supplies"]}}, None, "")
    with pytest.raises(ValueError):
        do_update_policy({"reopening_evidence_limits": {"max_megabytes": 0, "max_files_per_item": 3}}, None, "")


def test_staff_back_reports(place):
    today = timezone.localdate()
    report = do_report_staff(place.factory, today, 40, place.community)
    assert do_report_staff(place.factory, today, 55, place.community).pk == report.pk  # corrected, not doubled
    report.refresh_from_db()
    assert report.staff_back == 55
    for day, back, code in (
        (today, -1, "negative_count"),
        (today, 101, "staff_back_over_staff"),
        (today + dt.timedelta(days=1), 10, "future_day"),
    ):
        with pytest.raises(ReopeningError) as refused:
            do_report_staff(place.factory, day, back, place.community)
        assert refused.value.code == code
