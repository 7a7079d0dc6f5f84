"""The four categories: every transition of the table, precedence, conflicts, follow-ups, pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from cases.choices import TRANSITIONS, CaseState, Category
from cases.jobs import sweep_follow_ups
from cases.models import CategoryConflict, FollowUp, PersonStatus
from cases.services import (
    Report,
    TransitionRefused,
    do_apply,
    do_identify,
    do_record_follow_up,
    do_resolve_conflict,
    do_transition,
)
from people.models import Resident
from tasks.models import Task
from tests_support.city import build_one_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(db):
    return build_one_person()


@pytest.fixture
def city_person(city):
    city.staff("gw", "grid_worker", city.grid("420102", 1))
    return Resident.objects.filter(grid=city.grid("420102", 1)).order_by("id").first()


@pytest.mark.parametrize(("start", "target"), [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)])
def test_every_allowed_transition(person, start, target):
    do_identify(person, Category.CLOSE_CONTACT, None)
    status = PersonStatus.objects.get(person=person)
    PersonStatus.objects.filter(pk=status.pk).update(state=start)
    event = do_transition(person, target, None)
    assert event.outcome == "applied"
    assert PersonStatus.objects.get(person=person).state == target


@pytest.mark.parametrize(
    ("start", "target"),
    [(a, b) for a in TRANSITIONS for b in CaseState.values if b not in TRANSITIONS[a] and b != CaseState.IDENTIFIED],
)
def test_every_refused_transition(person, start, target):
    do_identify(person, Category.CLOSE_CONTACT, None)
    PersonStatus.objects.filter(person=person).update(state=start)
    with pytest.raises(TransitionRefused):
        do_transition(person, target, None)


def test_placing_a_close_contact_schedules_twice_daily_follow_ups(person):
    do_identify(person, Category.CLOSE_CONTACT, None)
    do_transition(person, CaseState.PLACED, None, placement_name="如家酒店")
    status = PersonStatus.objects.get(person=person)
    assert status.placement_kind == "quarantine_hotel"
    assert (status.observe_until - status.isolated_at).days == 14
    assert FollowUp.objects.filter(person=person).count() == 28


def test_fever_at_follow_up_moves_to_the_fever_path(person):
    do_identify(person, Category.CLOSE_CONTACT, None)
    do_transition(person, CaseState.PLACED, None)
    follow_up = FollowUp.objects.filter(person=person).first()
    do_record_follow_up(follow_up, 37.8, "", None)
    status = PersonStatus.objects.get(person=person)
    assert (status.category, status.state) == ("fever", "identified")
    assert Task.objects.filter(resident=person, task_type="test").exists()


def test_normal_follow_up_changes_nothing(person):
    do_identify(person, Category.CLOSE_CONTACT, None)
    do_transition(person, CaseState.PLACED, None)
    do_record_follow_up(FollowUp.objects.filter(person=person).first(), 36.6, "", None)
    assert PersonStatus.objects.get(person=person).category == "close_contact"


def test_missed_follow_up_opens_a_task(person):
    do_identify(person, Category.CLOSE_CONTACT, None)
    do_transition(person, CaseState.PLACED, None)
    first = FollowUp.objects.filter(person=person).order_by("due_at").first()
    later = (first.due_at + dt.timedelta(hours=3)).isoformat()
    assert sweep_follow_ups(now=later) == {"missed": 1}
    task = Task.objects.get(resident=person, task_type="follow_up")
    assert task.assignee.username == "gw"
    assert sweep_follow_ups(now=later) == {"missed": 0}


def test_conflict_resolution(person):
    now = timezone.now()
    do_apply(
        Report(
            person=person,
            state="identified",
            category="confirmed",
            at=now,
            source_kind="feed",
            source_ref="case_reports:X1",
        )
    )
    event = do_apply(
        Report(
            person=person,
            state="excluded",
            at=now + dt.timedelta(hours=1),
            source_kind="feed",
            source_ref="case_reports:X2",
        )
    )
    assert event.outcome == "conflict"
    conflict = CategoryConflict.objects.get(person=person)
    do_resolve_conflict(conflict, accept=False, user=None, note="lab confirms")
    assert PersonStatus.objects.get(person=person).state == "identified"
    conflict.refresh_from_db()
    assert conflict.status == "upheld"


def test_accepting_a_conflict_applies_it(person):
    now = timezone.now()
    do_apply(
        Report(
            person=person,
            state="identified",
            category="asymptomatic",
            at=now,
            source_kind="feed",
            source_ref="lab_results:S1",
        )
    )
    do_apply(
        Report(
            person=person,
            state="excluded",
            at=now + dt.timedelta(hours=1),
            source_kind="feed",
            source_ref="case_reports:X3",
        )
    )
    do_resolve_conflict(CategoryConflict.objects.get(person=person), accept=True, user=None, note="retest negative")
    assert PersonStatus.objects.get(person=person).state == "excluded"


def test_new_episode_after_release(person):
    do_identify(person, Category.FEVER, None)
    do_transition(person, CaseState.EXCLUDED, None)
    do_identify(person, Category.FEVER, None, at=timezone.now() + dt.timedelta(days=3))
    status = PersonStatus.objects.get(person=person)
    assert (status.state, status.episode) == ("identified", 2)


def test_lists_counts_and_export_are_scoped(city, city_person):
    person = city_person
    do_identify(person, Category.SUSPECTED, None)
    outsider = Resident.objects.filter(grid=city.grid("420106", 1)).first()
    do_identify(outsider, Category.FEVER, None)
    worker = city.staff("gw_list", "grid_worker", city.grid("420102", 1))
    client = Client()
    client.force_login(worker)
    page = client.get("/cases/").content.decode()
    assert person.name in page and outsider.name not in page
    grid_page = client.get(f"/geo/divisions/{city.grid('420102', 1).pk}/").content.decode()
    assert "/cases/?category=suspected" in grid_page
    assert client.get("/cases/", {"format": "xlsx"}).status_code == 200
    assert client.get(f"/cases/people/{outsider.pk}/").status_code == 404


def test_staff_transition_page(city, city_person):
    person = city_person
    do_identify(person, Category.CLOSE_CONTACT, None)
    worker = city.staff("gw_page", "grid_worker", city.grid("420102", 1))
    client = Client()
    client.force_login(worker)
    response = client.post(f"/cases/people/{person.pk}/transition/", {"to_state": "notified", "note": "电话通知"})
    assert response.status_code == 302
    assert PersonStatus.objects.get(person=person).state == "notified"
    assert "电话通知" in client.get(f"/cases/people/{person.pk}/").content.decode()


def test_staff_confirm_a_case_on_its_record_with_a_reason(
    city, city_person, django_capture_on_commit_callbacks, settings
):
    """A CDC epidemiologist confirms a case on screen; the reason is required and kept; the
    confirmation starts the containment as a feed's report would. Without the permission: 403."""
    from tracing.models import Containment

    person = city_person
    cdc = city.staff("cdc_page", "cdc_epidemiologist", city.divisions["420100000000"])
    cadre = city.staff("cadre_page", "cadre", city.grid("420102", 1))
    client = Client()
    client.force_login(cdc)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    record = client.get(f"/cases/people/{person.pk}/").content.decode()
    assert "Put into a category" in record and 'name="basis"' in record
    refused = client.post(
        f"/cases/people/{person.pk}/identify/",
        {"category": "confirmed", "basis": "lab_report", "note": " "},
        follow=True,
    )
    assert "Say why" in refused.content.decode() and not PersonStatus.objects.filter(person=person).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/cases/people/{person.pk}/identify/",
            {"category": "confirmed", "basis": "lab_report", "note": "PCR positive, CDC lab"},
        )
    status = PersonStatus.objects.get(person=person)
    assert (status.category, status.state, status.basis) == ("confirmed", "identified", "lab_report")
    event = status.person.category_events.get()
    assert (event.note, event.basis, event.user, event.source_kind) == (
        "PCR positive, CDC lab",
        "lab_report",
        cdc,
        "staff",
    )
    assert Containment.objects.filter(case=person).exists()
    client.force_login(cadre)
    assert client.post(f"/cases/people/{person.pk}/identify/", {"category": "fever", "note": "x"}).status_code == 403


def test_identifying_many_at_once_follows_the_same_precedence(city):
    from cases.models import CategoryEvent
    from cases.services import do_identify_many

    first, second, third = Resident.objects.order_by("id")[:3]
    do_identify(first, Category.CONFIRMED, None)  # stronger: stays
    do_identify(second, Category.SECONDARY_CONTACT, None)  # weaker: upgraded
    do_identify(third, Category.CLOSE_CONTACT, None)
    do_transition(third, CaseState.EXCLUDED, None)  # closed: a new episode
    at = timezone.now()
    outcome = do_identify_many(
        [first.pk, second.pk, third.pk], Category.CLOSE_CONTACT, at=at, source_kind="tracing", source_ref_prefix="t:1"
    )
    assert sorted(outcome.applied) == sorted([second.pk, third.pk]) and outcome.noted == [first.pk]
    statuses = {s.person_id: s for s in PersonStatus.objects.filter(person__in=[first, second, third])}
    assert statuses[first.pk].category == Category.CONFIRMED
    assert (statuses[second.pk].category, statuses[second.pk].state) == (Category.CLOSE_CONTACT, CaseState.IDENTIFIED)
    assert statuses[third.pk].episode == 2
    assert statuses[second.pk].grid_id == second.grid_id  # placed for scoping
    events = CategoryEvent.objects.filter(source_ref__startswith="t:1:")
    assert events.count() == 3 and events.get(person=first).outcome == "noted"
    again = do_identify_many(
        [first.pk, second.pk], Category.CLOSE_CONTACT, at=at, source_kind="tracing", source_ref_prefix="t:1"
    )
    assert (again.applied, again.noted) == ([], [])  # the same trace again changes nothing
    assert CategoryEvent.objects.filter(source_ref__startswith="t:1:").count() == 3
