"""Venue scans (场所码) from a daily-routine mobility model of the synthetic city.

Every resident gets stable anchors: the gate of their home compound, a workplace (most adults up to
about 60) or a school (ages 3–17) near home, and a favourite venue of each everyday kind (market,
supermarket, restaurant, pharmacy, clinic/hospital, other) near home. Each day is a few *chains*:
leave home, one or more stays, return home through the gate (a ``pass``). A weekday
chain of a worker is [transit] → workplace → [an errand on the way home]; people without work or school
that day go out once or twice for one to three errands. Weekends have no school and little work; the
elderly and small children go out less.

A stay is an ``in`` scan; leaving it is an ``out`` scan with probability ``OUT_SCAN_SHARE``.

Presence consistency (contracts.md, "Presence at a venue"): the tracing engine derives a stay from the
``in`` scan to the next scan at that venue if it is an ``out`` within 12 h, else for the venue's dwell
(its ``dwell_minutes``, else the default by kind). So a stay without an ``out`` scan *truly* lasts the
effective dwell, and a person's stays never overlap in time; when a person comes back to a venue within
12 h of an ``in`` that no ``out`` closed, that earlier stay gets its ``out`` scan (at its end). The
true stays kept in :class:`ScanSet` therefore equal the stays a tracing engine derives from the file.

Vectorised over people: the only Python loops run over days, chain steps and venue kinds. Per person
and day there are about 1.2 stays, 0.7 ``out`` scans and 0.8 gate passes (one per outing, coming home:
closed management checks who enters), so about 2.7 scans: a million residents over 14 days make ~16
million stays and ~37 million scan rows. The module constants hold the shares.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from geo.choices import DEFAULT_DWELL_MINUTES
from synth import tables
from synth.arrays import fixed_width_strings, group_starts, sample_pmf
from synth.city import SynthCity
from synth.venues import GATE, KINDS

SCAN_START = dt.date(2020, 1, 22)
SCAN_DAYS = 14
SCANS = "scans"
SCAN_COLUMNS = ("scan_id", "id_number", "venue_code", "scanned_at", "direction", "temperature", "mask")
DIRECTIONS = ("in", "out", "pass")
IN, OUT, PASS = range(3)

OUT_SCAN_SHARE = 0.6  # stays closed by an ``out`` scan; the rest last the venue's dwell
PAIRING_SECONDS = 12 * 3600  # an ``out`` closes a stay only within 12 h (contracts.md)
IN_TEMPERATURE_SHARE = 0.7  # venue ``in`` scans that record a temperature; gates always do, ``out`` never
MASK_SHARE = 0.92  # masks were made compulsory in Wuhan on 22 Jan 2020
FAVOURITE_SHARE = 0.75  # errands at the person's favourite venue of the kind; the rest anywhere near home

DAY = 86_400
MINUTE = 60

# Roles, fixed per resident (ages as of city.as_of).
TODDLER, PUPIL, WORKER, HOME_ADULT, ELDER, AGED = range(6)
ROLES = ("toddler", "pupil", "worker", "home_adult", "elder", "aged")

# Errand kinds: the everyday venue kinds people go to from home. One favourite of each per person.
ERRAND_KINDS = ("market", "supermarket", "restaurant", "pharmacy", "hospital", "other")
_ERRAND = np.array([KINDS.index(k) for k in ERRAND_KINDS])
_TRANSIT = KINDS.index("transit")
_WORKPLACE = KINDS.index("workplace")
_SCHOOL = KINDS.index("school")

# Which errand kinds, by role (rows) — elders go to the market, workers to supermarkets and restaurants.
_ERRAND_WEIGHTS = np.array(
    [
        [0.10, 0.30, 0.25, 0.05, 0.05, 0.25],  # toddler (with a parent or grandparent)
        [0.08, 0.30, 0.32, 0.03, 0.02, 0.25],  # pupil
        [0.15, 0.30, 0.32, 0.04, 0.02, 0.17],  # worker
        [0.25, 0.25, 0.20, 0.06, 0.03, 0.21],  # adult at home
        [0.40, 0.18, 0.08, 0.12, 0.06, 0.16],  # 60–74 not working
        [0.38, 0.15, 0.05, 0.18, 0.10, 0.14],  # 75 and over
    ]
)

# Daily chances by role: [weekday, weekend].
_P_ANCHOR = np.array([[0, 0], [0.96, 0], [0.93, 0.12], [0, 0], [0, 0], [0, 0]])  # work or school today
_P_OUT = np.array([[0.15, 0.25], [0.20, 0.55], [0.45, 0.65], [0.60, 0.65], [0.65, 0.60], [0.35, 0.30]])
_P_SECOND = np.array([0.15, 0.30, 0.40, 0.40, 0.35, 0.15])  # a second errand in a free outing
_P_THIRD = np.array([0.0, 0.05, 0.10, 0.12, 0.08, 0.0])  # and a third
_P_AFTERNOON = np.array([0.05, 0.10, 0.10, 0.18, 0.28, 0.10])  # a second outing after a morning one
_P_EVENING = np.array([0, 0.08, 0.30, 0, 0, 0])  # an errand on the way home from work or school
_P_COMMUTER = np.array([0, 0.15, 0.30, 0, 0, 0])  # takes transit to work or school (ages 12+ for pupils)
_P_TRANSIT_ERRAND = 0.05  # a free outing that starts with a bus or metro ride

# Leave-home clock (hours): anchors by role (mean, sd, lo, hi); free outings (lo, hi), uniform.
_ANCHOR_LEAVE = {PUPIL: (7.2, 0.3, 6.3, 8.2), WORKER: (7.8, 0.6, 5.5, 10.5)}
_FREE_LEAVE = np.array([[9.0, 16.0], [9.0, 16.5], [9.0, 17.0], [8.5, 16.5], [6.5, 10.5], [7.5, 11.0]])
_FREE_LEAVE_WEEKEND = np.array([[9.0, 16.0], [9.0, 17.0], [9.0, 17.5], [9.0, 17.0], [6.5, 10.5], [7.5, 11.0]])
_AFTERNOON_LEAVE = (14.5, 17.5)
_LATEST_ERRAND = 20.5  # no errand after an anchor that ends later than this (hours)

# Where anchors and errands are, by level: grid, street, district, anywhere in the city.
_WORK_LEVELS = (0.20, 0.30, 0.30, 0.20)
_SCHOOL_LEVELS = (0.50, 0.40, 0.10, 0.0)
_FAVOURITE_LEVELS = (0.60, 0.30, 0.10, 0.0)
_RANDOM_LEVELS = (0.0, 0.60, 0.40, 0.0)
_TRANSIT_LEVELS = (0.70, 0.30, 0.0, 0.0)

SCAN_SCHEMA = pa.schema(
    [
        pa.field("scan_id", pa.string()),
        pa.field("id_number", pa.dictionary(pa.int32(), pa.string())),
        pa.field("venue_code", pa.dictionary(pa.int32(), pa.string())),
        pa.field("scanned_at", pa.timestamp("s")),
        pa.field("direction", pa.dictionary(pa.int8(), pa.string())),
        pa.field("temperature", pa.dictionary(pa.int8(), pa.string())),
        pa.field("mask", pa.bool_()),
    ]
)
_TEMPERATURES = np.round(np.arange(350, 420) / 10, 1)  # 35.0 … 41.9 °C: the temperature dictionary
_CHUNK = 1 << 21  # rows per record batch of the scans table


@dataclass(frozen=True, eq=False)
class ScanSet:
    """Venue and gate scans, one entry per scan row in ``scanned_at`` order, and the true stays.

    The rows are kept as compact numpy columns (``scan_*``: resident index, venue index, naive local
    ``datetime64[s]``, ``DIRECTIONS`` index, temperature code, mask) so that a million residents over
    a fortnight fit in memory; :attr:`table` builds the ``scans`` contract table from them on first
    use and :func:`write_scans` streams it to CSV without building it. ``scan_id`` is ``S`` + the
    row number, zero-padded.

    ``stay_*`` describe each stay (sorted by start): resident index, venue index (``city.venues`` row),
    start and end as naive local ``datetime64[s]``. ``scan_stay`` gives, per row, the stay an ``in``
    scan opens or an ``out`` scan closes (-1 for a gate ``pass``).
    """

    scan_person: np.ndarray
    scan_venue: np.ndarray
    scan_time: np.ndarray
    scan_direction: np.ndarray
    scan_temperature: np.ndarray  # index into the temperature dictionary (35.0 … 41.9 °C), -1 not taken
    scan_mask: np.ndarray
    scan_stay: np.ndarray
    stay_person: np.ndarray
    stay_venue: np.ndarray
    stay_start: np.ndarray
    stay_end: np.ndarray
    start: dt.date
    days: int
    id_numbers: pa.Array = dataclasses.field(repr=False)  # the residents' identity numbers (dictionary)
    venue_codes: pa.Array = dataclasses.field(repr=False)

    @property
    def rows(self) -> int:
        return int(self.scan_person.size)

    @property
    def stays(self) -> int:
        return int(self.stay_person.size)

    @functools.cached_property
    def table(self) -> pa.Table:
        """The ``scans`` contract table (built once; dictionary-encoded strings, ``timestamp[s]``)."""
        return pa.Table.from_batches(list(self.batches()), schema=SCAN_SCHEMA)

    def batches(self, size: int = _CHUNK) -> Iterator[pa.RecordBatch]:
        """The contract table in record batches of ``size`` rows that share the dictionaries."""
        n = self.rows
        width = max(9, len(str(n)))
        directions = pa.array(DIRECTIONS)
        temperatures = _temperature_dictionary()
        for lo in range(0, n, size):
            hi = min(n, lo + size)
            yield pa.record_batch(
                [
                    _scan_ids(lo + 1, hi + 1, width),
                    pa.DictionaryArray.from_arrays(pa.array(self.scan_person[lo:hi]), self.id_numbers),
                    pa.DictionaryArray.from_arrays(pa.array(self.scan_venue[lo:hi]), self.venue_codes),
                    pa.array(self.scan_time[lo:hi], type=pa.timestamp("s")),
                    pa.DictionaryArray.from_arrays(pa.array(self.scan_direction[lo:hi]), directions),
                    _temperature_array(self.scan_temperature[lo:hi], temperatures),
                    pa.array(self.scan_mask[lo:hi]),
                ],
                schema=SCAN_SCHEMA,
            )

    def isolate(self, isolated_at: np.ndarray) -> ScanSet:
        """The scans without what isolated people did from the moment they were isolated.

        ``isolated_at`` is per resident (``datetime64``, NaT for the rest). A stay that started before
        the moment is kept whole, ``out`` scan included, so the derived stay still equals the true one;
        stays starting at or after it and gate passes from it on are dropped.
        """
        limit = np.asarray(isolated_at).astype("datetime64[s]")
        never = np.isnat(limit)
        limit = np.where(never, np.datetime64("9999-12-31T00:00:00", "s"), limit)
        keep_stay = self.stay_start < limit[self.stay_person]
        rows = np.flatnonzero(~never[self.scan_person])  # only the isolated people's rows can go
        stay = self.scan_stay[rows]
        keep = np.ones(self.rows, dtype=bool)
        passed = self.scan_time[rows] < limit[self.scan_person[rows]]
        keep[rows] = np.where(stay < 0, passed, keep_stay[np.maximum(stay, 0)])
        renumber = (np.cumsum(keep_stay, dtype=np.int64) - 1).astype(np.int32)
        scan_stay = self.scan_stay[keep]
        scan_stay = np.where(scan_stay < 0, np.int32(-1), renumber[np.maximum(scan_stay, 0)])
        return dataclasses.replace(
            self,
            scan_person=self.scan_person[keep],
            scan_venue=self.scan_venue[keep],
            scan_time=self.scan_time[keep],
            scan_direction=self.scan_direction[keep],
            scan_temperature=self.scan_temperature[keep],
            scan_mask=self.scan_mask[keep],
            scan_stay=scan_stay,
            stay_person=self.stay_person[keep_stay],
            stay_venue=self.stay_venue[keep_stay],
            stay_start=self.stay_start[keep_stay],
            stay_end=self.stay_end[keep_stay],
        )

    def with_temperatures(self, rows: np.ndarray, celsius: np.ndarray) -> ScanSet:
        """The same scans with the temperature (°C; NaN: not taken) of ``rows`` replaced."""
        codes = self.scan_temperature.copy()
        codes[rows] = _temperature_codes(celsius)
        return dataclasses.replace(self, scan_temperature=codes)


def write_scans(scans: ScanSet, out_dir: Path | str) -> Path:
    """Write ``scans.csv`` into ``out_dir`` batch by batch, in the format of synth.writer."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{SCANS}.csv"
    options = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none")
    with pacsv.CSVWriter(path, SCAN_SCHEMA, write_options=options) as writer:
        for batch in scans.batches():
            writer.write_batch(batch)
    return path


def effective_dwell_minutes(city: SynthCity) -> np.ndarray:
    """Per venue: its ``dwell_minutes`` if set, else the default by kind (geo.choices; gates 0)."""
    default = np.array([DEFAULT_DWELL_MINUTES[k] for k in KINDS], dtype=np.int64)
    dwell = city.venues.column("dwell_minutes")
    explicit = pc.fill_null(dwell, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    given = pc.is_valid(dwell).to_numpy(zero_copy_only=False)
    return np.where(given, explicit, default[city.venue_index.kind])


def generate_scans(
    city: SynthCity,
    *,
    start: dt.date = SCAN_START,
    days: int = SCAN_DAYS,
    seed: int = 2020,
    isolated_at: np.ndarray | None = None,
) -> ScanSet:
    """Scans of every resident for ``days`` days from ``start`` (00:00 local), and their true stays.

    Deterministic for (city, start, days, seed). A resident whose ``isolated_at`` is not NaT makes no
    scans from that moment on (see :meth:`ScanSet.isolate`).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    plan = _plan(_rng(seed, 0), city)
    parts = [
        _day(_rng(seed, 1, (start + dt.timedelta(days=d)).toordinal()), plan, d, (start + dt.timedelta(days=d)))
        for d in range(days)
    ]
    stays = _Stays.concat([p[0] for p in parts])  # each day sorted by start, and days in order
    passes = [p[1] for p in parts]
    del parts
    if np.any(stays.start[1:] < stays.start[:-1]):
        stays.sort_by_start((days + 2) * DAY)
    stays.close_repeat_visits(city.venues.num_rows)
    scans = _assemble(_rng(seed, 2, start.toordinal(), days), city, stays, passes, start, days)
    if isolated_at is not None:
        scans = scans.isolate(isolated_at)
    return scans


# --- the plan: who goes where -------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Per resident: role, home gate, anchor (work or school, -1 for none), commuting, favourites."""

    role: np.ndarray
    gate: np.ndarray
    anchor: np.ndarray
    commuter: np.ndarray
    transit: np.ndarray
    favourite: np.ndarray  # (residents, len(ERRAND_KINDS)) venue indexes
    areas: tuple[np.ndarray, np.ndarray, np.ndarray]  # home grid, street, district
    pickers: tuple[_Picker, ...]  # per errand kind, for errands at a random venue near home
    venue_kind: np.ndarray  # per venue, index into venues.KINDS
    dwell: np.ndarray  # effective dwell per venue, seconds
    span: np.ndarray  # per venue kind: (lo, hi) true dwell in minutes when the person scans out


class _Picker:
    """Draws a venue among ``candidates`` near a person: in their grid, street, district or anywhere.

    A person who draws a level with no candidate in their area falls back to the next larger one.
    """

    def __init__(self, candidates: np.ndarray, venue_areas: tuple[np.ndarray, ...], sizes: tuple[int, ...]) -> None:
        self.candidates = candidates
        self.levels = []
        for area, size in zip(venue_areas, sizes, strict=True):
            where = area[candidates]
            order = np.argsort(where, kind="stable")
            counts = np.bincount(where, minlength=size)
            self.levels.append((candidates[order], counts, group_starts(counts)))

    def pick(
        self, rng: np.random.Generator, person_areas: tuple[np.ndarray, ...], level_pmf: tuple[float, ...]
    ) -> np.ndarray:
        n = person_areas[0].size
        level = sample_pmf(rng, np.array(level_pmf), n)
        u = rng.random(n)
        out = np.full(n, -1, dtype=np.int64)
        for i, (ordered, counts, starts) in enumerate(self.levels):
            area = person_areas[i]
            want = (level <= i) & (out < 0) & (counts[area] > 0)
            a = area[want]
            out[want] = ordered[starts[a] + np.minimum(np.floor(u[want] * counts[a]).astype(np.int64), counts[a] - 1)]
        rest = out < 0
        k = self.candidates.size
        out[rest] = self.candidates[np.minimum(np.floor(u[rest] * k).astype(np.int64), k - 1)]
        return out


def _plan(rng: np.random.Generator, city: SynthCity) -> _Plan:
    people, places, venues = city.people, city.places, city.venue_index
    n = people.count
    age = people.age.astype(np.int64)

    # Roles: pupils at school from 3 (kindergarten) to 17, most adults work until ~60.
    work_p = np.select(
        [age < 18, age <= 22, age <= 49, age <= 54, age <= 59, age <= 64], [0.0, 0.5, 0.84, 0.72, 0.5, 0.2], 0.0
    )
    school_p = np.select([age < 3, age < 6, age < 18], [0.0, 0.8, 0.98], 0.0)
    u = rng.random(n)
    role = np.select(
        [age < 3, u < school_p, u < work_p, age < 60, age < 75],
        [TODDLER, PUPIL, WORKER, HOME_ADULT, ELDER],
        AGED,
    ).astype(np.int8)
    role[(age < 18) & (role != PUPIL)] = TODDLER  # a child not at school stays with the family

    compound = places.building_compound[people.building]
    gate_of = np.full(places.compound_grid.size, -1, dtype=np.int64)
    is_gate = venues.compound >= 0
    gate_of[venues.compound[is_gate]] = np.flatnonzero(is_gate)
    gate = gate_of[compound]

    grid_street = places.community_street[places.grid_community]
    grid_district = places.street_district[grid_street]
    home_grid = places.compound_grid[compound]
    areas = (home_grid, grid_street[home_grid], grid_district[home_grid])
    venue_areas = (venues.grid, grid_street[venues.grid], grid_district[venues.grid])
    sizes = (len(places.grid_codes), places.street_district.size, len(tables.DISTRICTS))

    # A small city lacks some kinds: errands then go to another everyday venue (never a school or a
    # workplace, whose dwell is a working day), work to any venue but a school, and nobody takes transit.
    everyday = np.flatnonzero(np.isin(venues.kind, [*_ERRAND, _TRANSIT]))
    not_school = np.flatnonzero((venues.kind != GATE) & (venues.kind != _SCHOOL))

    def picker(kind: int, fallback: np.ndarray) -> _Picker | None:
        found = np.flatnonzero(venues.kind == kind)
        candidates = found if found.size else fallback
        return _Picker(candidates, venue_areas, sizes) if candidates.size else None

    anchor = np.full(n, -1, dtype=np.int64)
    fallbacks = {_WORKPLACE: not_school, _SCHOOL: np.zeros(0, dtype=np.int64)}
    for who, kind, levels in ((role == WORKER, _WORKPLACE, _WORK_LEVELS), (role == PUPIL, _SCHOOL, _SCHOOL_LEVELS)):
        chooser = picker(kind, fallbacks[kind])
        if chooser is not None:
            idx = np.flatnonzero(who)
            anchor[idx] = chooser.pick(rng, tuple(a[idx] for a in areas), levels)

    commuter = (rng.random(n) < _P_COMMUTER[role]) & ((role != PUPIL) | (age >= 12))
    transit_picker = picker(_TRANSIT, np.zeros(0, dtype=np.int64))
    transit = transit_picker.pick(rng, areas, _TRANSIT_LEVELS) if transit_picker else np.full(n, -1)
    errand_fallback = everyday if everyday.size else not_school
    if errand_fallback.size == 0:
        errand_fallback = np.flatnonzero(venues.kind != GATE)
    pickers = tuple(picker(k, errand_fallback) for k in _ERRAND)
    favourite = np.stack([p.pick(rng, areas, _FAVOURITE_LEVELS) for p in pickers], axis=1).astype(np.int32)

    span = np.zeros((len(KINDS), 2), dtype=np.int64)
    for kind, *_, choices in tables.VENUE_KINDS:
        span[KINDS.index(kind)] = (min(choices), max(choices))
    return _Plan(
        role=role,
        gate=gate.astype(np.int32),
        anchor=anchor.astype(np.int32),
        commuter=commuter,
        transit=transit.astype(np.int32),
        favourite=favourite,
        areas=areas,
        pickers=pickers,
        venue_kind=venues.kind,
        dwell=effective_dwell_minutes(city) * MINUTE,
        span=span,
    )


# --- one day ---------------------------------------------------------------------------------------


_STAY_FIELDS = ("person", "venue", "start", "end", "out")


@dataclass
class _Stays:
    """Stays under construction: times in seconds from the first day's 00:00."""

    person: np.ndarray
    venue: np.ndarray
    start: np.ndarray
    end: np.ndarray
    out: np.ndarray  # closed by an ``out`` scan

    @staticmethod
    def concat(parts: list[_Stays]) -> _Stays:
        return _Stays(*(np.concatenate([getattr(p, f) for p in parts]) for f in _STAY_FIELDS))

    def sort_by_start(self, horizon: int) -> None:
        order = _stable_order(self.start, horizon)
        for f in _STAY_FIELDS:
            setattr(self, f, getattr(self, f)[order])

    def close_repeat_visits(self, n_venues: int) -> None:
        """Give a stay its ``out`` scan when its person is back at the venue within 12 h.

        Otherwise an engine pairing an ``in`` with the next ``out`` at the venue could take the later
        visit's ``out`` for this one. Sorted by start, each person's stays are in time order, and a stable
        sort keeps that order within (person, venue). Call after :meth:`sort_by_start`.
        """
        key = self.person.astype(np.int64) * n_venues + self.venue
        key, order = _sort_with_order(key, int(self.person.max(initial=0) + 1) * n_venues, in_place=True)
        same = key[1:] == key[:-1]
        del key
        start = self.start[order]
        soon = start[1:] - start[:-1] < PAIRING_SECONDS
        self.out[order[:-1][same & soon]] = True


class _DayBuilder:
    """Collects one day's stays and gate passes, chain step by chain step."""

    def __init__(self, rng: np.random.Generator, plan: _Plan) -> None:
        self.rng = rng
        self.plan = plan
        self.stays: list[tuple[np.ndarray, ...]] = []
        self.passes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def visit(self, who: np.ndarray, venue: np.ndarray, after: np.ndarray) -> np.ndarray:
        """A stay of each of ``who`` at ``venue``, after travelling from where they were at ``after``."""
        rng, plan = self.rng, self.plan
        k = who.size
        start = after + rng.integers(3 * MINUTE, 20 * MINUTE, k)
        kind = plan.venue_kind[venue]
        out = rng.random(k) < OUT_SCAN_SHARE
        lo, hi = plan.span[kind, 0], plan.span[kind, 1]
        actual = np.rint(rng.uniform(lo, hi) * MINUTE).astype(np.int64)
        end = start + np.where(out, actual, plan.dwell[venue])
        self.stays.append((who.astype(np.int32), venue.astype(np.int32), start, end, out))
        return end.copy()  # the caller moves its cursor on in place

    def errand(self, who: np.ndarray, after: np.ndarray) -> np.ndarray:
        """An errand at a favourite venue of a kind the person's role likes, or another one near home."""
        rng, plan = self.rng, self.plan
        k = who.size
        cdf = np.cumsum(_ERRAND_WEIGHTS, axis=1)[plan.role[who]]
        kind = (rng.random(k)[:, None] > cdf).sum(axis=1)
        kind = np.minimum(kind, len(ERRAND_KINDS) - 1)
        venue = plan.favourite[who, kind].astype(np.int64)
        other = rng.random(k) >= FAVOURITE_SHARE
        for i, picker in enumerate(plan.pickers):
            sel = np.flatnonzero(other & (kind == i))
            if sel.size:
                venue[sel] = picker.pick(rng, tuple(a[who[sel]] for a in plan.areas), _RANDOM_LEVELS)
        return self.visit(who, venue, after)

    def gate(self, who: np.ndarray, at: np.ndarray) -> None:
        """A ``pass`` at the home gate on coming back (closed management checks who enters)."""
        self.passes.append((who.astype(np.int32), self.plan.gate[who], at))

    def result(self, horizon: int) -> tuple[_Stays, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The day's stays sorted by start, and its gate passes."""
        stays = _Stays(*(np.concatenate(column) for column in zip(*self.stays, strict=True)))
        stays.sort_by_start(horizon)
        passes = tuple(np.concatenate(column) for column in zip(*self.passes, strict=True))
        return stays, passes


def _clock(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform times of day (seconds) between ``lo`` and ``hi`` hours."""
    return np.rint((lo + rng.random(np.shape(lo)) * (hi - lo)) * 3600).astype(np.int64)


def _day(rng: np.random.Generator, plan: _Plan, index: int, date: dt.date) -> tuple[_Stays, tuple]:
    """One day of everybody's routine: stays and gate passes, times from the first day's 00:00."""
    weekend = int(date.weekday() >= 5)
    role = plan.role
    n = role.size
    t0 = index * DAY
    day = _DayBuilder(rng, plan)

    # Work or school: [transit] → anchor → [an errand on the way home].
    attend = (plan.anchor >= 0) & (rng.random(n) < _P_ANCHOR[role, weekend])
    who = np.flatnonzero(attend)
    leave = np.empty(who.size, dtype=np.int64)
    for r, (mean, sd, lo, hi) in _ANCHOR_LEAVE.items():
        sel = role[who] == r
        hours = rng.normal(mean, sd, int(sel.sum()))
        outside = (hours < lo) | (hours > hi)
        hours[outside] = rng.uniform(lo, hi, int(outside.sum()))  # no pile-up at the bounds
        leave[sel] = np.rint(hours * 3600).astype(np.int64)
    leave += t0
    cursor = leave.copy()
    ride = plan.commuter[who] & (plan.transit[who] >= 0)
    cursor[ride] = day.visit(who[ride], plan.transit[who[ride]], cursor[ride])
    cursor = day.visit(who, plan.anchor[who], cursor)
    late = t0 + _LATEST_ERRAND * 3600
    stop = (rng.random(who.size) < _P_EVENING[role[who]]) & (cursor < late)
    cursor[stop] = day.errand(who[stop], cursor[stop])
    day.gate(who, cursor + rng.integers(3 * MINUTE, 25 * MINUTE, who.size))

    # Free outings for the rest: one to three errands, and for some a second outing in the afternoon.
    free = ~attend & (rng.random(n) < _P_OUT[role, weekend])
    who = np.flatnonzero(free)
    bounds = (_FREE_LEAVE_WEEKEND if weekend else _FREE_LEAVE)[role[who]]
    leave = t0 + _clock(rng, bounds[:, 0], bounds[:, 1])
    cursor = leave.copy()
    ride = (rng.random(who.size) < _P_TRANSIT_ERRAND) & (plan.transit[who] >= 0)
    cursor[ride] = day.visit(who[ride], plan.transit[who[ride]], cursor[ride])
    cursor = day.errand(who, cursor)
    for p in (_P_SECOND, _P_THIRD):
        more = (rng.random(who.size) < p[role[who]]) & (cursor < late)
        cursor[more] = day.errand(who[more], cursor[more])
    back = cursor + rng.integers(3 * MINUTE, 25 * MINUTE, who.size)
    day.gate(who, back)

    lo, hi = _AFTERNOON_LEAVE
    again = np.full(who.size, t0, dtype=np.int64) + _clock(rng, np.full(who.size, lo), np.full(who.size, hi))
    again = np.maximum(again, back + rng.integers(30 * MINUTE, 120 * MINUTE, who.size))
    second = (rng.random(who.size) < _P_AFTERNOON[role[who]]) & (again < late)
    who, again = who[second], again[second]
    cursor = day.errand(who, again)
    day.gate(who, cursor + rng.integers(3 * MINUTE, 25 * MINUTE, who.size))
    return day.result(t0 + 2 * DAY)


# --- assembly ---------------------------------------------------------------------------------------


def _assemble(
    rng: np.random.Generator,
    city: SynthCity,
    stays: _Stays,
    passes: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    start: dt.date,
    days: int,
) -> ScanSet:
    """Scans from stays (sorted by start) and gate passes, sorted by time.

    Takes over ``passes`` (emptied) and ``stays`` (their times become datetimes in place), so that a
    city of a million keeps one copy of each column. Gates always take a temperature, venues mostly at
    the ``in`` scan, never at the ``out`` scan.
    """
    n_stays = stays.person.size
    outs = np.flatnonzero(stays.out)
    n_out = outs.size
    n_pass = sum(p[0].size for p in passes)
    n = n_stays + n_out + n_pass
    time = np.empty(n, dtype=np.int64)
    time[:n_stays] = stays.start
    time[n_stays : n_stays + n_out] = stays.end[outs]
    np.concatenate([p[2] for p in passes], out=time[n_stays + n_out :])
    time, order = _sort_with_order(time, (days + 2) * DAY, in_place=True)

    # Each column: the stays' ``in`` rows, their ``out`` rows and the passes, put in time order.
    person = np.concatenate([stays.person, stays.person[outs], *(p[0] for p in passes)])[order]
    venue = np.concatenate([stays.venue, stays.venue[outs], *(p[1] for p in passes)])[order]
    passes.clear()
    stay = np.concatenate([np.arange(n_stays, dtype=np.int32), outs.astype(np.int32), np.full(n_pass, -1, np.int32)])
    stay = stay[order]
    direction = np.repeat(np.array([IN, OUT, PASS], dtype=np.int8), [n_stays, n_out, n_pass])[order]
    del order, outs

    temperature = np.empty(n, dtype=np.int8)
    mask = np.empty(n, dtype=bool)
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        way = direction[lo:hi]
        taken = (way == PASS) | ((way == IN) & (rng.random(hi - lo) < IN_TEMPERATURE_SHARE))
        tenths = np.clip(np.rint(rng.normal(365.0, 3.0, hi - lo)), 360, 372).astype(np.int64)
        temperature[lo:hi] = np.where(taken, tenths - 350, -1)
        mask[lo:hi] = rng.random(hi - lo) < MASK_SHARE

    offset = np.datetime64(start, "s").astype(np.int64)
    time += offset
    stays.start += offset
    stays.end += offset
    return ScanSet(
        scan_person=person,
        scan_venue=venue,
        scan_time=time.view("datetime64[s]"),
        scan_direction=direction,
        scan_temperature=temperature,
        scan_mask=mask,
        scan_stay=stay,
        stay_person=stays.person,
        stay_venue=stays.venue,
        stay_start=stays.start.view("datetime64[s]"),
        stay_end=stays.end.view("datetime64[s]"),
        start=start,
        days=days,
        id_numbers=city.people.id_number,
        venue_codes=city.venues.column("venue_code").combine_chunks(),
    )


# --- helpers ------------------------------------------------------------------------------------------


def _rng(seed: int, *salt: int) -> np.random.Generator:
    """A stream of its own: 0 the plan, (1, date) each day's routine, (2, …) the scan attributes."""
    return np.random.default_rng(np.random.SeedSequence([seed, 3, *salt]))


def _stable_order(key: np.ndarray, bound: int) -> np.ndarray:
    """``argsort(key, kind="stable")`` for non-negative integer keys below ``bound``."""
    return _sort_with_order(key, bound)[1]


def _sort_with_order(key: np.ndarray, bound: int, *, in_place: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The keys sorted, and the stable order that sorts them (non-negative keys below ``bound``).

    When it fits, the row number is packed into the low bits of the key and the packed values sorted
    with numpy's vectorised sort, several times faster than a stable argsort, with the same order.
    ``in_place`` reuses an int64 ``key`` for the result. The order is int32 when the rows allow it.
    """
    n = key.size
    index_bits = max(1, int(n).bit_length())
    small = np.int32 if n < 2**31 else np.int64
    if int(bound).bit_length() + index_bits > 62:
        order = np.argsort(key, kind="stable")
        return key[order], order.astype(small)
    packed = key if in_place and key.dtype == np.int64 else key.astype(np.int64)
    packed <<= index_bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    order = (packed & ((1 << index_bits) - 1)).astype(small)
    packed >>= index_bits
    return packed, order


def _scan_ids(first: int, stop: int, width: int) -> pa.Array:
    """``S`` + zero-padded numbers ``first`` … ``stop - 1`` (digit by digit: faster than ascii_digits)."""
    chars = np.empty((stop - first, width + 1), dtype=np.uint8)
    chars[:, 0] = ord("S")
    number = np.arange(first, stop, dtype=np.uint64 if stop >= 1 << 32 else np.uint32)
    for j in range(width, 0, -1):
        chars[:, j] = number % 10 + ord("0")
        number //= 10
    return fixed_width_strings(chars)


def _temperature_dictionary() -> pa.Array:
    return pa.array([f"{t:.1f}" for t in _TEMPERATURES], type=pa.string())


def _temperature_array(codes: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    """Dictionary codes (-1: not taken, a null) as a temperature column chunk."""
    return pa.DictionaryArray.from_arrays(pa.array(np.maximum(codes, 0), mask=codes < 0), dictionary)


def _temperature_codes(celsius: np.ndarray) -> np.ndarray:
    """Dictionary codes of temperatures (°C, one decimal); NaN is "not taken" (-1)."""
    celsius = np.asarray(celsius, dtype=np.float64)
    tenths = np.clip(np.rint(np.nan_to_num(celsius) * 10), 350, 419).astype(np.int64)
    return np.where(np.isnan(celsius), -1, tenths - 350).astype(np.int8)
