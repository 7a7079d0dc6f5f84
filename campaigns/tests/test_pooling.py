"""Pooled sampling end to end on the small city: member lists, pool results, hold and recall,
individual results, coverage; and every kind of bad input the issue names."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import coverage
from campaigns.choices import ParticipantStatus, TubeStatus
from campaigns.models import Campaign, Participant, PoolMember, Tube
from campaigns.services import do_exempt, do_plan
from campaigns.tests.rows import individual, load, members, results
from cases.models import PersonStatus
from geo.models import Division
from healthcode.models import HealthCode
from tasks.models import Task

DAY = dt.date(2020, 5, 22)


@pytest.fixture
def campaign(city) -> Campaign:
    return do_plan(
        code="wuhan-may",
        name="全民核酸检测",
        scope=Division.objects.get(level="city"),
        starts_on=DAY,
        ends_on=DAY + dt.timedelta(days=2),
        pool_size=5,
    )


def ids(city) -> list[str]:
    return sorted(city.residents)


def eight_tubes(city) -> dict[str, list[str]]:
    people = ids(city)
    return {f"P{n:03d}": people[n * 5 : n * 5 + 5] for n in range(8)}


def status_of(campaign, person_id) -> str:
    return Participant.objects.with_standing().get(campaign=campaign, person_id=person_id).standing


def test_a_campaign_counts_its_residents_per_building(campaign, city):
    totals = coverage.total(campaign)
    assert totals.target == len(city.residents) == 40
    assert totals.tested == 0 and totals.untested == 40
    assert len(coverage.rollup(campaign, "grid")) == 4
    assert sum(row.target for row in coverage.rollup(campaign, "building")) == 40


def test_negative_pools_clear_and_positive_pools_hold_with_recall_tasks(campaign, city):
    tubes = eight_tubes(city)
    worker = city.staff("grid-a", "grid_worker", city.grid("420102", 1))
    batch = load("pool_members", members(tubes))
    assert batch.inserted == 40 and batch.linked == {"id_number": 40}
    assert Tube.objects.filter(campaign=campaign, status=TubeStatus.CLOSED, members=5).count() == 8
    assert Campaign.objects.get(pk=campaign.pk).status == "sampling"  # its first swabs started it
    assert coverage.total(campaign).tested == 40
    assert coverage.total(campaign).awaiting == 40

    outcome = dict.fromkeys(tubes, "negative") | {"P002": "positive", "P005": "positive"}
    load("lab_results", results(outcome))
    held = set(tubes["P002"] + tubes["P005"])
    for person in ids(city):
        expected = ParticipantStatus.HELD if person in held else ParticipantStatus.NEGATIVE
        assert status_of(campaign, city.residents[person].pk) == expected
    recalls = Task.objects.filter(task_type="recall")
    assert {task.resident.id_number for task in recalls} == held
    mine = [task for task in recalls if task.grid_id == city.grid("420102", 1).pk]
    assert mine and all(task.assignee == worker and task.status == "dispatched" for task in mine)
    red = set(HealthCode.objects.filter(colour="red").values_list("person__id_number", flat=True))
    assert held <= red
    assert PersonStatus.objects.count() == 0  # a held person is not a case until their own result
    totals = coverage.total(campaign)
    assert (totals.negative, totals.held, totals.positive) == (30, 10, 0)

    infected = tubes["P005"][3]
    load(
        "lab_results",
        [individual(p, "positive" if p == infected else "negative", f"R-{p}") for p in sorted(held)],
    )
    assert status_of(campaign, city.residents[infected].pk) == ParticipantStatus.POSITIVE
    status = PersonStatus.objects.get(person__id_number=infected)
    assert status.category == "asymptomatic"  # policy campaign_positive_category
    assert PersonStatus.objects.count() == 1  # the others were released, not made suspected
    recalls = Task.objects.filter(task_type="recall")
    assert all(task.status == ("closed" if task.assignee_id else "cancelled") for task in recalls)
    assert Task.objects.filter(task_type="investigate", resident__id_number=infected).exists()
    totals = coverage.total(campaign)
    assert (totals.negative, totals.held, totals.positive) == (39, 0, 1)
    assert not HealthCode.objects.filter(colour="red", person__id_number__in=held - {infected}).exists()
    _incremental_equals_recount(campaign)


def _incremental_equals_recount(campaign):
    incremental = coverage.stored_counts(campaign)
    coverage.recount(campaign)
    assert coverage.stored_counts(campaign) == incremental


def test_reimporting_the_same_files_changes_nothing(campaign, city):
    tubes = eight_tubes(city)
    load("pool_members", members(tubes))
    load("lab_results", results(dict.fromkeys(tubes, "negative")))
    before = coverage.stored_counts(campaign)
    again = load("pool_members", members(tubes))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 40)
    load("lab_results", results(dict.fromkeys(tubes, "negative")))
    assert coverage.stored_counts(campaign) == before
    assert PoolMember.objects.count() == 40


def test_a_result_before_its_member_list_waits_and_then_applies(campaign, city):
    tubes = eight_tubes(city)
    load("lab_results", results({"P001": "positive"}))
    waiting = Tube.objects.get(code="P001")
    assert waiting.members == 0 and waiting.status == TubeStatus.POSITIVE
    load("pool_members", members({"P001": tubes["P001"]}))
    assert {status_of(campaign, city.residents[p].pk) for p in tubes["P001"]} == {ParticipantStatus.HELD}
    assert Task.objects.filter(task_type="recall").count() == 5


def test_a_result_for_an_unknown_tube_is_kept_not_lost(campaign, city):
    batch = load("lab_results", results({"NOBODY": "negative"}))
    assert not batch.rejected
    tube = Tube.objects.get(code="NOBODY")
    assert tube.members == 0 and tube.status == TubeStatus.NEGATIVE


def test_a_tube_scanned_twice_in_a_file_is_refused_once(campaign, city):
    tubes = {"P000": ids(city)[:5]}
    rows = members(tubes)
    batch = load("pool_members", rows + rows[:5])
    assert batch.rejected == {"duplicate_key_in_file": 5}
    assert Tube.objects.get(code="P000").members == 5


def test_a_person_in_two_tubes_the_same_day_is_refused_with_the_first_tube_named(campaign, city):
    people = ids(city)
    load("pool_members", members({"P000": people[:5]}))
    batch = load("pool_members", members({"P001": [people[0], *people[5:9]]}))
    assert batch.rejected == {"person_in_two_tubes": 1}
    rejection = batch.rejections.get()
    assert rejection.detail == "P000" and rejection.data["id_number"] == people[0]
    assert Tube.objects.get(code="P001").members == 4
    assert PoolMember.objects.filter(person__id_number=people[0]).count() == 1
    assert coverage.total(campaign).tested == 9
    # within one file, the later row is the one refused
    batch = load("pool_members", members({"P002": people[10:12], "P003": [people[10]]}))
    assert batch.rejected == {"person_in_two_tubes": 1}
    assert batch.rejections.get().data["pool_id"] == "P003"


def test_the_next_day_is_a_new_round_not_a_conflict(campaign, city):
    people = ids(city)
    load("pool_members", members({"P000": people[:5]}))
    load("lab_results", results({"P000": "negative"}))
    batch = load("pool_members", members({"Q000": people[:5]}, at="2020-05-23T09:00:00+08:00"))
    assert not batch.rejected
    assert status_of(campaign, city.residents[people[0]].pk) == ParticipantStatus.SAMPLED
    totals = coverage.total(campaign)
    assert (totals.tested, totals.negative, totals.awaiting) == (5, 0, 5)
    _incremental_equals_recount(campaign)


def test_an_overfilled_tube_holds_everyone_if_positive_and_clears_nobody_if_negative(campaign, city):
    people = ids(city)
    load("pool_members", members({"BIG1": people[:6], "BIG2": people[6:12]}))
    assert set(Tube.objects.filter(code__in=["BIG1", "BIG2"]).values_list("overfilled", flat=True)) == {True}
    load("lab_results", results({"BIG1": "positive", "BIG2": "negative"}))
    assert {status_of(campaign, city.residents[p].pk) for p in people[:6]} == {ParticipantStatus.HELD}
    assert {status_of(campaign, city.residents[p].pk) for p in people[6:12]} == {ParticipantStatus.RESAMPLE}
    assert coverage.total(campaign).untested == 40 - 12 + 6
    # the redo the same day is allowed: the overfilled tube does not count
    assert not load("pool_members", members({"REDO": people[6:11]})).rejected


def test_exempt_people_are_not_counted_as_untested(campaign, city):
    person = city.residents[ids(city)[0]]
    do_exempt(campaign, person, "bedridden", "stroke, lives on the 2nd floor")
    assert Task.objects.filter(task_type="home_sample", resident=person).exists()
    totals = coverage.total(campaign)
    assert (totals.exempt, totals.untested) == (1, 39)
    load("pool_members", members({"HOME1": [person.id_number]}))  # sampled at home after all
    totals = coverage.total(campaign)
    assert (totals.exempt, totals.tested, totals.untested) == (0, 1, 39)
    _incremental_equals_recount(campaign)


def test_a_single_tube_positive_is_an_infection_at_once(city):
    campaign = do_plan(
        code="singles",
        name="单管",
        scope=Division.objects.get(code="420102000000"),
        starts_on=DAY,
        ends_on=DAY,
        pool_size=1,
    )
    person = next(p for p in city.residents.values() if p.district.code == "420102000000")
    load("pool_members", members({"S1": [person.id_number]}))
    load("lab_results", results({"S1": "positive"}))
    assert status_of(campaign, person.pk) == ParticipantStatus.POSITIVE
    assert PersonStatus.objects.get(person=person).category == "asymptomatic"


def test_swabs_outside_the_campaign_area_or_dates_belong_to_no_campaign(city):
    campaign = do_plan(
        code="jiang-an",
        name="江岸区",
        scope=Division.objects.get(code="420102000000"),
        starts_on=DAY,
        ends_on=DAY,
        pool_size=10,
    )
    outside = [p.id_number for p in city.residents.values() if p.district.code != "420102000000"][:3]
    inside = [p.id_number for p in city.residents.values() if p.district.code == "420102000000"][:3]
    load("pool_members", members({"T1": outside + inside}))
    assert Participant.objects.filter(campaign=campaign).count() == 3
    load("pool_members", members({"T2": inside}, at="2020-06-01T09:00:00+08:00"))
    assert PoolMember.objects.filter(pool_id="T2", campaign__isnull=True).count() == 3
    assert coverage.total(campaign).target == 20


def test_the_nightly_job_finds_the_kept_counts_right(campaign, city):
    from campaigns.jobs import nightly

    tubes = eight_tubes(city)
    load("pool_members", members(tubes))
    load("lab_results", results(dict.fromkeys(tubes, "negative") | {"P003": "positive"}))
    assert nightly() == {"campaigns": 1, "buildings_repaired": {"wuhan-may": 0}}
