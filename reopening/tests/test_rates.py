"""Resumption rates by district, street and sector for any day, from the status history and the
staff reports (set-based; history kept)."""

from __future__ import annotations

import datetime as dt

from core.imports.runner import run_import
from reopening.rates import resumption, resumption_series
from reopening.tests.conftest import record
from tests_support.city import to_csv

D = dt.date


def test_rates_by_district_and_sector_follow_the_history(place, city):
    record(
        [
            (place.factory.code, "2020-03-20T08:00:00+08:00", "open"),
            (place.factory.code, "2020-04-10T18:00:00+08:00", "suspended"),
            (place.school.code, "2020-04-01T08:00:00+08:00", "open"),
            (place.other_shop.code, "2020-03-19T23:30:00+08:00", "open"),  # late evening: that local day
        ]
    )
    staff = [
        {"unit_code": place.factory.code, "day": "2020-03-20", "staff_back": "50"},
        {"unit_code": place.factory.code, "day": "2020-03-25", "staff_back": "80"},
        {"unit_code": place.other_shop.code, "day": "2020-03-19", "staff_back": "10"},
    ]
    assert not run_import("staff_back", to_csv(staff), filename="s.csv").rejected
    jiangan, wuchang = city.divisions["420102000000"], city.divisions["420106000000"]

    def by_district(day):
        return {r.key: r for r in resumption("district", day)}

    before = by_district(D(2020, 3, 18))
    assert before[str(jiangan.pk)].open == 0 and before[str(jiangan.pk)].units == 2
    assert before[str(jiangan.pk)].label == "江岸区"
    day = by_district(D(2020, 3, 20))
    assert (day[str(jiangan.pk)].open, day[str(jiangan.pk)].staff_back, day[str(jiangan.pk)].staff) == (1, 50, 160)
    assert day[str(jiangan.pk)].open_share == 0.5
    assert (day[str(wuchang.pk)].open, day[str(wuchang.pk)].staff_back) == (1, 10)
    carried = by_district(D(2020, 3, 31))  # the latest report carries forward
    assert carried[str(jiangan.pk)].staff_back == 80
    april = by_district(D(2020, 4, 5))
    assert april[str(jiangan.pk)].open == 2 and april[str(jiangan.pk)].open_share == 1.0
    after = by_district(D(2020, 4, 11))  # the factory is suspended: neither open nor staff back
    assert after[str(jiangan.pk)].open == 1 and after[str(jiangan.pk)].staff_back == 0

    sectors = {r.key: r for r in resumption("sector", D(2020, 4, 5))}
    assert sectors["manufacturing"].open == 1 and sectors["senior_secondary"].open == 0
    assert sectors["primary"].label == "Primary school"
    city_rate = resumption("city", D(2020, 4, 5))[0]
    assert (city_rate.units, city_rate.open) == (4, 3)
    schools = resumption("city", D(2020, 4, 5), kind="school")[0]
    assert (schools.units, schools.open) == (2, 1)

    series = resumption_series("district", D(2020, 3, 18), D(2020, 4, 11))
    row = series.keys.index(str(jiangan.pk))
    opened = series.open[row].tolist()
    assert opened[0] == 0 and opened[2] == 1 and opened[14] == 2 and opened[-1] == 1
    assert len(series.days) == 25


def test_units_count_from_their_registration(place):
    place.other_school.registered_on = D(2020, 3, 25)
    place.other_school.save()
    assert resumption("city", D(2020, 3, 24))[0].units == 3
    assert resumption("city", D(2020, 3, 25))[0].units == 4


def test_scoped_units_only(place, city):
    from reopening.selectors import visible_units

    rows = resumption("district", D(2020, 4, 1), units=visible_units(place.street))
    assert [r.label for r in rows] == ["江岸区"]
    assert resumption("district", D(2020, 4, 1), units=visible_units(place.nobody)) == []
