"""The pre-aggregated signal table: counted per community and local day from the records, rolled
up so the levels agree, recounts that replace only the days they cover, and series read with the
days before collection began marked missing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cases.models import CategoryEvent
from ewarn.models import SignalCount
from ewarn.signals import read_series, recount
from feeds.models import ClinicVisit
from geo.models import Division

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _visit(person, visit_id: str, at: dt.datetime, category: str = "fever", temperature=None) -> ClinicVisit:
    visit = ClinicVisit(
        person=person, visit_id=visit_id, hospital_code="H1", visited_at=at, category=category, temperature=temperature
    )
    visit.copy_place(person)
    visit.save()
    return visit


def test_fever_clinic_visits_count_by_the_city_s_calendar_day(city):
    first = next(iter(city.residents.values()))
    people = sorted((p for p in city.residents.values() if p.community_id == first.community_id), key=lambda p: p.pk)
    # 17:30 UTC is 01:30 the next morning in Wuhan: it counts on the 2nd
    _visit(people[0], "V1", dt.datetime(2026, 3, 1, 17, 30, tzinfo=UTC))
    _visit(people[1], "V2", dt.datetime(2026, 3, 1, 15, 0, tzinfo=UTC))
    _visit(people[2], "V3", dt.datetime(2026, 3, 1, 15, 0, tzinfo=UTC), category="other", temperature=38.2)
    _visit(people[3], "V4", dt.datetime(2026, 3, 1, 15, 0, tzinfo=UTC), category="other", temperature=36.6)
    recount(dt.date(2026, 3, 1), dt.date(2026, 3, 2), ["fever_clinic"])
    community = people[0].community
    counts = dict(SignalCount.objects.filter(signal="fever_clinic", division=community).values_list("day", "count"))
    assert counts == {dt.date(2026, 3, 1): 2, dt.date(2026, 3, 2): 1}
    city_row = SignalCount.objects.get(signal="fever_clinic", level="city", day=dt.date(2026, 3, 1))
    assert city_row.count == 2


def test_new_fever_and_suspected_people_come_from_the_category_history(city):
    people = list(city.residents.values())
    at = dt.datetime(2026, 3, 5, 2, tzinfo=UTC)
    for person, category, outcome in (
        (people[0], "fever", "applied"),
        (people[1], "fever", "noted"),  # a stronger category stood, but a fever was reported
        (people[2], "fever", "refused"),
        (people[3], "suspected", "applied"),
    ):
        event = CategoryEvent(
            person=person, at=at, category=category, to_state="identified", outcome=outcome, source_kind="feed"
        )
        event.copy_place(person)
        event.save()
    recount(dt.date(2026, 3, 5), dt.date(2026, 3, 5), ["fever_case", "suspected"])
    total = {
        s: sum(SignalCount.objects.filter(signal=s, level="city").values_list("count", flat=True))
        for s in ("fever_case", "suspected")
    }
    assert total == {"fever_case": 2, "suspected": 1}


def test_a_recount_replaces_only_its_days_and_the_levels_agree(city):
    community = Division.objects.get(code="420102001001")
    other = Division.objects.get(code="420106001001")
    SignalCount.objects.bulk_create(
        [SignalCount(signal="antipyretic", level="community", division=community, day=dt.date(2026, 1, 1), count=9)]
    )
    people = [p for p in city.residents.values() if p.community_id == other.pk]
    _visit(people[0], "V1", dt.datetime(2026, 3, 3, 1, tzinfo=UTC))
    recount(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert SignalCount.objects.filter(signal="antipyretic", day=dt.date(2026, 1, 1)).count() == 1  # untouched
    recount(dt.date(2026, 3, 1), dt.date(2026, 3, 31))  # twice: the same rows, not doubled
    rows = SignalCount.objects.filter(signal="fever_clinic", day=dt.date(2026, 3, 3))
    assert sorted(rows.values_list("level", "count")) == [("city", 1), ("community", 1), ("district", 1), ("street", 1)]


def _counts(signal: str, community_id: int, days: list[dt.date]) -> None:
    city = Division.objects.get(level="city")
    rows = []
    for day in days:
        rows += [
            SignalCount(signal=signal, level="community", division_id=community_id, day=day, count=4),
            SignalCount(signal=signal, level="city", division=city, day=day, count=4),
        ]
    SignalCount.objects.bulk_create(rows)


def test_series_are_missing_before_collection_began_and_zero_after(city):
    communities = np.array(sorted(Division.objects.filter(level="community").values_list("pk", flat=True)))
    first, last = dt.date(2026, 3, 1), dt.date(2026, 3, 5)
    _counts("fever_clinic", communities[0], [dt.date(2026, 3, 3)])
    series = read_series("fever_clinic", "community", first, last, communities)
    assert series.counts.shape == (2, 5)
    assert np.isnan(series.counts[:, :2]).all()
    assert series.counts[0, 2:].tolist() == [4, 0, 0]
    assert series.counts[1, 2:].tolist() == [0, 0, 0]
    nothing = read_series("antiviral", "community", first, last, communities)
    assert np.isnan(nothing.counts).all()


def test_a_day_nobody_reported_is_missing_for_reported_signals(city):
    """Schools send nothing at weekends: those days are unknown, not days without absences."""
    communities = np.array(sorted(Division.objects.filter(level="community").values_list("pk", flat=True)))
    _counts("school_absent", communities[0], [dt.date(2026, 3, 2), dt.date(2026, 3, 4)])
    series = read_series("school_absent", "community", dt.date(2026, 3, 2), dt.date(2026, 3, 4), communities)
    assert np.isnan(series.counts[:, 1]).all()
    assert series.counts[:, [0, 2]].tolist() == [[4, 4], [0, 0]]
