"""Colours from the policy's rule table (domain.md §6), recomputed on change, with reasons and history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cases.choices import CaseState, Category
from cases.services import do_identify, do_transition
from core.policy import do_update_policy
from healthcode.choices import Colour, Rule, Verdict
from healthcode.models import ColourChange, HealthCode, Revocation, TravelRiskArea
from healthcode.services import (
    code_for,
    do_appeal,
    do_decide_appeal,
    do_declare_health,
    do_declare_trip,
    mint,
    recompute,
    verify,
)
from people.models import Resident

pytestmark = pytest.mark.django_db


def rules_of(person: Resident) -> list[str]:
    return [r["rule"] for r in HealthCode.objects.get(person=person).reasons]


def test_every_resident_gets_a_green_code_at_import_with_a_unique_random_subject(city):
    codes = HealthCode.objects.all()
    assert codes.count() == Resident.objects.count() > 0
    assert set(codes.values_list("colour", flat=True)) == {Colour.GREEN}
    subjects = list(codes.values_list("subject", flat=True))
    assert len(set(subjects)) == len(subjects) and all(len(s) == 24 for s in subjects)
    assert recompute().as_dict() == {"issued": 0, "changed": 0, "changed_by_colour": {}}


def test_a_confirmed_case_is_red_with_its_reason_and_history(city):
    person = next(iter(city.residents.values()))
    do_identify(person, Category.CONFIRMED, None)
    code = HealthCode.objects.get(person=person)
    assert code.colour == Colour.RED
    assert rules_of(person) == [Rule.CONFIRMED]
    change = ColourChange.objects.get(person=person)
    assert (change.from_colour, change.to_colour, change.cause) == ("green", "red", "case")


def test_closed_episodes_no_longer_count(city):
    person = next(iter(city.residents.values()))
    do_identify(person, Category.CLOSE_CONTACT, None)
    assert code_for(person).colour == Colour.RED
    do_transition(person, CaseState.PLACED, None, placement_kind="quarantine_hotel", placement_name="汉口酒店")
    assert set(rules_of(person)) == {Rule.CLOSE_CONTACT, Rule.CENTRAL_ISOLATION}
    do_transition(person, CaseState.RELEASED, None)
    assert code_for(person).colour == Colour.GREEN and rules_of(person) == []


def test_secondary_contact_is_yellow_and_the_policy_can_change_that(city):
    person = next(iter(city.residents.values()))
    do_identify(person, Category.SECONDARY_CONTACT, None)
    assert code_for(person).colour == Colour.YELLOW
    table = dict(code_for(person).reasons[0])
    assert table["rule"] == Rule.SECONDARY_CONTACT
    from core.policy import policy

    rules = dict(policy().healthcode_rules) | {"secondary_contact": "red"}
    do_update_policy({"healthcode_rules": rules}, None, "stricter")
    recompute()
    assert code_for(person).colour == Colour.RED


def test_policy_refuses_a_colour_that_is_not_a_colour():
    with pytest.raises(ValueError, match="must be one of"):
        do_update_policy({"healthcode_rules": {"fever": "purple"}}, None, "typo")


def test_travel_from_a_risk_area_within_the_window(city):
    person, other = list(city.residents.values())[:2]
    now = timezone.now()
    TravelRiskArea.objects.create(
        area_code="110105", name="朝阳区", level="medium", valid_from=now - dt.timedelta(days=5)
    )
    TravelRiskArea.objects.create(area_code="3101", name="上海市", level="high", valid_from=now - dt.timedelta(days=5))
    do_declare_trip(person, arrived_at=now - dt.timedelta(days=2), origin_area_code="110105003")
    assert code_for(person).colour == Colour.YELLOW and rules_of(person) == [Rule.TRAVEL_MEDIUM]
    # arrived before the area was at risk: nothing
    do_declare_trip(other, arrived_at=now - dt.timedelta(days=6), origin_area_code="310101")
    assert code_for(other).colour == Colour.GREEN
    # the 14-day window lapses: back to green in the batch
    recompute(now=now + dt.timedelta(days=11))
    assert code_for(person).colour == Colour.YELLOW
    recompute(now=now + dt.timedelta(days=12, hours=1))
    assert code_for(person).colour == Colour.GREEN


def test_declared_fever_is_yellow_until_a_clean_declaration(city):
    person = next(iter(city.residents.values()))
    do_declare_health(person, temperature=38.2, symptoms=["cough"])
    assert code_for(person).colour == Colour.YELLOW and rules_of(person) == [Rule.DECLARED_SYMPTOMS]
    do_declare_health(person, temperature=36.5, symptoms=[])
    assert code_for(person).colour == Colour.GREEN


def test_the_most_severe_reason_wins_and_all_are_listed(city):
    person = next(iter(city.residents.values()))
    do_declare_health(person, temperature=38.0)
    do_identify(person, Category.SUSPECTED, None)
    assert code_for(person).colour == Colour.RED
    assert rules_of(person) == [Rule.SUSPECTED, Rule.DECLARED_SYMPTOMS]


def test_a_colour_change_revokes_earlier_tokens(city):
    person = next(iter(city.residents.values()))
    # issued a while ago (a change within the same second as the first issue is not this test's point)
    HealthCode.objects.filter(person=person).update(since=timezone.now() - dt.timedelta(minutes=5))
    green_token, _ = mint(code_for(person))
    assert verify(green_token).verdict == Verdict.VALID
    do_identify(person, Category.CONFIRMED, None)
    assert Revocation.objects.filter(subject=code_for(person).subject).exists()
    assert verify(green_token).verdict == Verdict.REVOKED
    red_token, claims = mint(code_for(person), now=timezone.now() + dt.timedelta(seconds=2))
    assert claims.colour == Colour.RED
    assert verify(red_token, now=timezone.now() + dt.timedelta(seconds=3)).verdict == Verdict.VALID


def test_an_appeal_opens_a_task_and_a_correction_withdraws_the_reason(city):
    person = next(iter(city.residents.values()))
    do_declare_health(person, temperature=38.5)
    appeal = do_appeal(person, "温度计坏了 / the thermometer was faulty")
    assert appeal.task is not None and appeal.task.task_type == "review"
    with pytest.raises(ValueError):
        do_appeal(person, "again")
    staff = city.staff("cw", "community_worker", person.community)
    do_decide_appeal(appeal, staff, withdraw=[Rule.DECLARED_SYMPTOMS], note="re-measured 36.6")
    assert code_for(person).colour == Colour.GREEN
    appeal.task.refresh_from_db()
    assert appeal.task.status == "closed"
    # a later declaration counts again: the withdrawal covers facts up to the decision only
    do_declare_health(person, temperature=38.9)
    assert code_for(person).colour == Colour.YELLOW


def test_a_category_reason_cannot_be_withdrawn_by_appeal(city):
    person = next(iter(city.residents.values()))
    do_identify(person, Category.CONFIRMED, None)
    appeal = do_appeal(person, "I am not ill")
    with pytest.raises(ValueError, match="four-category register"):
        do_decide_appeal(appeal, None, withdraw=[Rule.CONFIRMED], note="no")
    assert code_for(person).colour == Colour.RED


def test_an_overdue_test_task_turns_the_code_yellow(city):
    person = next(iter(city.residents.values()))
    from tasks.services import do_open_task

    do_open_task("test", subject=person, title="swab", due_at=timezone.now() + dt.timedelta(hours=1))
    recompute()
    assert code_for(person).colour == Colour.GREEN
    recompute(now=timezone.now() + dt.timedelta(hours=2))
    assert rules_of(person) == [Rule.TEST_OVERDUE]
