"""An outbreak in an open unit's compound raises one review task per unit and outbreak; the street
suspends the unit (it must apply again) or keeps it open."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cases.services import do_identify
from core.jobs import enqueue
from people.models import Resident
from reopening.choices import ReviewDecision, StatusSource, UnitStatus
from reopening.models import ReviewSweep, UnitReview, UnitStatusChange
from reopening.services import ReopeningError, do_decide_review, do_start_application, do_sweep_outbreaks
from reopening.tests.conftest import record
from tasks.choices import TaskStatus
from tasks.models import Task


def residents_of(compound_id: int) -> list[Resident]:
    return list(Resident.objects.filter(compound_id=compound_id).order_by("id"))


def test_a_confirmed_case_in_an_open_units_compound_raises_one_review(place):
    record([(place.factory.code, "2020-03-20T08:00:00+08:00", "open")])
    people = residents_of(place.factory.compound_id)
    do_identify(people[0], "confirmed", None)
    found = do_sweep_outbreaks()
    assert found["cases"] == 1 and found["reviews_opened"] == 1
    review = UnitReview.objects.get(unit=place.factory)
    task = review.task
    assert task.task_type == "unit_review" and task.subject_compound_id == place.factory.compound_id
    assert task.assignee == place.street and review.decision == ReviewDecision.PENDING

    assert do_sweep_outbreaks()["reviews_opened"] == 0  # the same case is read once
    do_identify(people[1], "confirmed", None)
    assert do_sweep_outbreaks()["reviews_opened"] == 0  # joins the review still waiting
    review.refresh_from_db()
    assert review.cases == 2 and Task.objects.filter(task_type="unit_review").count() == 1

    with pytest.raises(ReopeningError):
        do_decide_review(review, True, "", place.street)
    do_decide_review(review, True, "同小区两例确诊，暂停复工", place.street)
    place.factory.refresh_from_db()
    task.refresh_from_db()
    assert place.factory.status == UnitStatus.SUSPENDED and task.status == TaskStatus.CLOSED
    last = UnitStatusChange.objects.filter(unit=place.factory).last()
    assert (last.to_status, last.source, last.by) == ("suspended", StatusSource.REVIEW, place.street)
    with pytest.raises(ReopeningError):
        do_decide_review(review, False, "again", place.street)
    # a suspended unit re-applies; further cases do not review a unit that is not open
    assert do_start_application(place.factory, place.community).unit_id == place.factory.pk
    do_identify(people[2], "confirmed", None)
    assert do_sweep_outbreaks()["reviews_opened"] == 0


def test_a_kept_open_unit_is_reviewed_again_at_the_next_outbreak(place):
    record([(place.factory.code, "2020-03-20T08:00:00+08:00", "open")])
    people = residents_of(place.factory.compound_id)
    do_identify(people[0], "confirmed", None)
    do_sweep_outbreaks()
    review = UnitReview.objects.get(unit=place.factory)
    do_decide_review(review, False, "病例未到岗，已消杀", place.street)
    place.factory.refresh_from_db()
    assert place.factory.status == UnitStatus.OPEN
    do_identify(people[1], "confirmed", None)
    assert do_sweep_outbreaks()["reviews_opened"] == 1
    assert UnitReview.objects.filter(unit=place.factory).count() == 2


def test_cases_elsewhere_or_not_confirmed_raise_nothing(place):
    record([(place.factory.code, "2020-03-20T08:00:00+08:00", "open")])
    people = residents_of(place.factory.compound_id)
    do_identify(people[0], "close_contact", None)
    school_people = residents_of(place.school.compound_id)  # the school is closed
    do_identify(school_people[0], "confirmed", None)
    assert do_sweep_outbreaks()["reviews_opened"] == 0


def test_the_sweep_reads_each_window_once_and_runs_as_a_job(place):
    record([(place.factory.code, "2020-03-20T08:00:00+08:00", "open")])
    job = enqueue("reopening.sweep_outbreaks")
    assert job.result["reviews_opened"] == 0
    first = ReviewSweep.objects.get()
    assert first.until - first.since == dt.timedelta(days=14)
    do_identify(residents_of(place.factory.compound_id)[0], "confirmed", None)
    later = timezone.now() + dt.timedelta(minutes=15)
    assert do_sweep_outbreaks(later)["reviews_opened"] == 1
    second = ReviewSweep.objects.order_by("-until").first()
    assert second.since == first.until
