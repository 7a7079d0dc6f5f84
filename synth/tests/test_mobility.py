"""Venue scans from the daily-routine model: contract file, presence consistency, routines, volume.

The central check derives stays from the scans exactly as contracts.md says a tracing engine must, in
plain Python, and compares them with the generator's true stays. No database.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import itertools
import re
from collections import Counter, defaultdict
from io import StringIO

import numpy as np
import pytest

from geo.choices import DEFAULT_DWELL_MINUTES
from synth import tables
from synth.city import SynthCity, generate_city
from synth.mobility import SCAN_COLUMNS, ScanSet, generate_scans, write_scans
from synth.venues import GATE
from synth.venues import KINDS as VENUE_KINDS

N = 3_000
DAYS = 14
START = dt.date(2020, 1, 22)  # a Wednesday: days 4–5 and 11–12 are weekends
PAIRING = dt.timedelta(hours=12)
TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def town() -> SynthCity:
    return generate_city(N, 5)


@pytest.fixture(scope="module")
def scans(town) -> ScanSet:
    return generate_scans(town, start=START, days=DAYS, seed=3)


@pytest.fixture(scope="module")
def rows(scans) -> list[tuple]:
    return scan_rows(scans)


@pytest.fixture(scope="module")
def stays(town, scans) -> list[tuple]:
    return true_stays(town, scans)


# --- an independent reading of the file, per contracts.md ----------------------------------------------


def scan_rows(scans: ScanSet) -> list[tuple[str, str, dt.datetime, str, str | None]]:
    """(id_number, venue_code, scanned_at, direction, temperature) per row, in file order."""
    table = scans.table
    columns = [table.column(name).to_pylist() for name in ("id_number", "venue_code", "scanned_at", "direction")]
    return list(zip(*columns, table.column("temperature").to_pylist(), strict=True))


def dwell_by_code(city: SynthCity) -> dict[str, int]:
    """The venue's dwell_minutes, else the default by kind."""
    out = {}
    for row in city.venues.to_pylist():
        given = row["dwell_minutes"]
        out[row["venue_code"]] = given if given is not None else DEFAULT_DWELL_MINUTES[row["kind"]]
    return out


def derive_stays(city: SynthCity, rows: list[tuple]) -> list[tuple[str, str, dt.datetime, dt.datetime]]:
    """Stays as contracts.md defines them: from an ``in`` to the person's next scan at that venue if it
    is an ``out`` within 12 h, else for the venue's dwell. Passes make no stay."""
    dwell = dwell_by_code(city)
    by_place = defaultdict(list)
    for person, venue, at, direction, _ in rows:
        by_place[person, venue].append((at, direction))
    stays = []
    for (person, venue), rows in by_place.items():
        for i, (at, direction) in enumerate(rows):
            if direction != "in":
                continue
            following = rows[i + 1] if i + 1 < len(rows) else None
            if following and following[1] == "out" and following[0] - at <= PAIRING:
                end = following[0]
            else:
                end = at + dt.timedelta(minutes=dwell[venue])
            stays.append((person, venue, at, end))
    return stays


def true_stays(city: SynthCity, scans: ScanSet) -> list[tuple[str, str, dt.datetime, dt.datetime]]:
    ids = city.people.id_number.to_pylist()
    codes = city.venues.column("venue_code").to_pylist()
    return [
        (ids[p], codes[v], a, b)
        for p, v, a, b in zip(
            scans.stay_person.tolist(),
            scans.stay_venue.tolist(),
            scans.stay_start.astype(dt.datetime).tolist(),
            scans.stay_end.astype(dt.datetime).tolist(),
            strict=True,
        )
    ]


class Contacts:
    """Stays by venue, sorted by start, for brute-force overlap searches."""

    def __init__(self, stays: list[tuple[str, str, dt.datetime, dt.datetime]]) -> None:
        self.by_venue: dict[str, list[tuple[dt.datetime, dt.datetime, str]]] = defaultdict(list)
        self.by_person: dict[str, list[tuple[str, dt.datetime, dt.datetime]]] = defaultdict(list)
        for person, venue, start, end in stays:
            self.by_venue[venue].append((start, end, person))
            self.by_person[person].append((venue, start, end))
        for rows in self.by_venue.values():
            rows.sort()
        self.starts = {venue: [row[0] for row in rows] for venue, rows in self.by_venue.items()}

    def overlapping(self, venue: str, start: dt.datetime, end: dt.datetime, minimum: dt.timedelta):
        """(person, overlap) of the stays at ``venue`` overlapping [start, end) by at least ``minimum``."""
        rows = self.by_venue.get(venue, [])
        lo = bisect.bisect_left(self.starts.get(venue, []), start - PAIRING)
        hi = bisect.bisect_right(self.starts.get(venue, []), end)
        for other_start, other_end, person in rows[lo:hi]:
            overlap = min(end, other_end) - max(start, other_start)
            if overlap >= minimum:
                yield person, overlap


# --- the file ------------------------------------------------------------------------------------------


def test_csv_has_the_contract_columns_and_plain_values(tmp_path):
    city = generate_city(500, 4)
    scans = generate_scans(city, start=START, days=DAYS, seed=1)
    path = write_scans(scans, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert not text.startswith("\ufeff") and '"' not in text
    rows = list(csv.reader(StringIO(text)))
    assert rows[0] == list(SCAN_COLUMNS)
    body = rows[1:]
    assert len(body) == scans.rows == scans.table.num_rows
    ids = {row[0] for row in body}
    assert len(ids) == len(body) and all(re.fullmatch(r"S\d{9}", i) for i in ids)
    assert body[0][0] == "S000000001"
    times = [row[3] for row in body]
    assert all(TIME.match(t) for t in times) and times == sorted(times)
    assert times[0] >= "2020-01-22 05:00:00" and times[-1] < "2020-02-05 02:00:00"  # local wall time
    assert {row[4] for row in body} == {"in", "out", "pass"}
    assert {row[6] for row in body} == {"true", "false"}
    assert {row[5] for row in body if row[4] == "out"} == {""}
    residents = set(city.residents.column("id_number").to_pylist())
    venues = set(city.venues.column("venue_code").to_pylist())
    assert {row[1] for row in body} <= residents and {row[2] for row in body} <= venues


def test_gates_only_see_passes_and_temperatures_are_plausible(town, scans, rows):
    codes = town.venues.column("venue_code").to_pylist()
    gate_codes = {code for code, kind in zip(codes, town.venue_index.kind, strict=True) if kind == GATE}
    taken = Counter()
    for _, venue, _, direction, temperature in rows:
        assert (venue in gate_codes) == (direction == "pass")
        if direction == "pass":
            assert temperature is not None
        if direction == "out":
            assert temperature is None
        if temperature is not None:
            assert re.fullmatch(r"3\d\.\d", temperature) and 36.0 <= float(temperature) <= 37.2
        taken[direction, temperature is not None] += 1
    in_taken = taken["in", True] / (taken["in", True] + taken["in", False])
    assert 0.6 < in_taken < 0.8
    assert 0.88 < scans.scan_mask.mean() < 0.96


# --- presence consistency --------------------------------------------------------------------------------


def test_true_stays_equal_the_stays_derived_from_the_scans(town, scans, rows, stays):
    derived = derive_stays(town, rows)
    assert len(derived) == scans.stays
    assert Counter(derived) == Counter(stays)


def test_no_second_in_at_a_venue_within_12_hours_unless_the_first_was_closed(rows):
    by_place = defaultdict(list)
    for person, venue, at, direction, _ in rows:
        if direction != "pass":
            by_place[person, venue].append((at, direction))
    closed = 0
    for visits in by_place.values():
        for (at, direction), (next_at, next_direction) in itertools.pairwise(visits):
            if direction == "in" and next_direction == "in":
                assert next_at - at >= PAIRING
            if direction == "out":
                assert next_direction == "in"  # an out closes the stay just before it, never another out
            if direction == "in" and next_direction == "out":
                assert next_at - at <= PAIRING
                closed += 1
    assert closed > 0


def test_everyone_is_in_one_place_at_a_time_and_passes_the_gate_coming_home(rows, stays):
    """Per person: stays never overlap; every outing ends with a pass at the home gate (closed
    management checks who enters), and no stay follows a pass until the next outing begins."""
    for own in Contacts(stays).by_person.values():
        own.sort(key=lambda s: s[1])
        for (_, _, end), (_, start, _) in itertools.pairwise(own):
            assert end <= start
    out_since_pass: dict[str, bool] = defaultdict(bool)
    for person, _, _, direction, _ in rows:
        if direction == "pass":
            assert out_since_pass[person], person  # a pass closes an outing that had a stay
            out_since_pass[person] = False
        else:
            out_since_pass[person] = True
    assert not any(out_since_pass.values())


def test_stay_lengths_follow_the_venue_kind(town, scans):
    kind = town.venue_index.kind[scans.stay_venue]
    minutes = (scans.stay_end - scans.stay_start).astype(np.int64) / 60
    assert not np.any(kind == GATE)
    work = kind == VENUE_KINDS.index("workplace")
    pharmacy = kind == VENUE_KINDS.index("pharmacy")
    assert 420 <= np.median(minutes[work]) <= 600 and minutes[pharmacy].max() <= 15
    assert minutes.max() <= 600 and minutes.min() >= 5


# --- routines and volume -------------------------------------------------------------------------------------


def test_volume_per_person_and_day(town, scans):
    person_days = N * DAYS
    direction = np.bincount(scans.scan_direction, minlength=3)
    assert 1.0 < scans.stays / person_days < 1.4  # ~17 million stays for a million people in 14 days
    assert direction[0] == scans.stays
    assert 0.55 < direction[1] / scans.stays < 0.7  # out scans: ~0.6, plus the ones closing repeat visits
    assert 0.55 < direction[2] / person_days < 0.85  # one gate pass per outing, coming home
    assert 2.3 < scans.rows / person_days < 3.0


def test_routines_follow_age_weekday_and_time_of_day(town, scans):
    kind = town.venue_index.kind[scans.stay_venue]
    age = town.people.age[scans.stay_person]
    day = (scans.stay_start.astype("datetime64[D]") - np.datetime64(START)).astype(np.int64)
    weekend = np.isin(day, [3, 4, 10, 11])
    hour = (scans.stay_start - scans.stay_start.astype("datetime64[D]")).astype(np.int64) / 3600
    work = kind == VENUE_KINDS.index("workplace")
    school = kind == VENUE_KINDS.index("school")
    assert not np.any(school & weekend)
    assert (work & ~weekend).sum() / 10 > 4 * (work & weekend).sum() / 4
    assert np.all(age[work] >= 18) and np.all(age[school] < 18)
    assert np.mean((hour[work] >= 5) & (hour[work] <= 11.5)) > 0.95
    stays_per_person = np.bincount(scans.stay_person, minlength=N)
    people_age = town.people.age
    adults = (people_age >= 25) & (people_age < 50)
    assert stays_per_person[people_age >= 75].mean() < 0.6 * stays_per_person[adults].mean()
    market = kind == VENUE_KINDS.index("market")
    assert np.mean(age[market] >= 60) > np.mean(people_age >= 60)


def test_anchors_and_errands_are_near_home():
    """Where the home district has a venue of the kind, people mostly use one there; workers commute more."""
    city = generate_city(20_000, 5)
    scans = generate_scans(city, start=START, days=1, seed=3)
    places, venues = city.places, city.venue_index
    home = places.household_district[city.people.household[scans.stay_person]]
    there = places.grid_district[venues.grid[scans.stay_venue]]
    kind = venues.kind[scans.stay_venue]
    for name, low, high in (("school", 0.85, 1.0), ("market", 0.85, 1.0), ("workplace", 0.5, 0.95)):
        k = VENUE_KINDS.index(name)
        offered = np.zeros(len(tables.DISTRICTS), dtype=bool)
        offered[places.grid_district[venues.grid[venues.kind == k]]] = True
        chosen = (kind == k) & offered[home]
        assert low <= (home == there)[chosen].mean() <= high, name


# --- determinism, isolation, tiny cities ---------------------------------------------------------------------


def test_same_seed_same_scans_other_seed_other_scans():
    small = generate_city(600, 2)
    first = generate_scans(small, start=START, days=3, seed=1)
    again = generate_scans(small, start=START, days=3, seed=1)
    other = generate_scans(small, start=START, days=3, seed=2)
    assert first.table.equals(again.table)
    assert np.array_equal(first.stay_start, again.stay_start)
    assert not first.table.equals(other.table)


def test_isolated_people_make_no_more_scans():
    city = generate_city(1_000, 8)
    scans = generate_scans(city, start=START, days=7, seed=3)
    isolated_at = np.full(1_000, np.datetime64("NaT"), dtype="datetime64[s]")
    who = np.arange(0, 1_000, 20)
    moment = np.datetime64("2020-01-24T12:00:00")
    isolated_at[who] = moment
    masked = generate_scans(city, start=START, days=7, seed=3, isolated_at=isolated_at)
    assert masked.rows < scans.rows and masked.stays < scans.stays
    kept = np.isin(scans.stay_person, who, invert=True) | (scans.stay_start < moment)
    assert masked.stays == int(kept.sum())
    ids = set(np.asarray(city.people.id_number.to_pylist())[who])
    moment = moment.astype(dt.datetime)
    open_stays = {(p, v): a for p, v, a, _ in true_stays(city, masked) if p in ids and a < moment}
    masked_rows = scan_rows(masked)
    assert sum(1 for row in masked_rows if row[0] in ids and row[2] >= moment) > 0  # the open stays' outs
    for person, venue, at, direction, _ in masked_rows:
        if person in ids and at >= moment:
            assert direction == "out" and open_stays[person, venue] < moment
    assert Counter(derive_stays(city, masked_rows)) == Counter(true_stays(city, masked))


def test_tiny_city_still_gets_scans():
    tiny = generate_city(40, 1)
    scans = generate_scans(tiny, start=START, days=2, seed=1)
    assert scans.rows > 0 and scans.table.num_rows == scans.rows
    assert Counter(derive_stays(tiny, scan_rows(scans))) == Counter(true_stays(tiny, scans))
    with pytest.raises(ValueError):
        generate_scans(tiny, start=START, days=0, seed=1)
