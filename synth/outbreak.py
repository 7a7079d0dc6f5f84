"""A seeded outbreak spread over the synthetic city's households and venue stays, with its truth.

``seed_outbreak(city, scans, n_index=…, seed=…)`` picks ``n_index`` adults infected on days 1–3 of the
scan period and simulates day by day. A case is infectious from the start of its tracing window to its
isolation (domain.md §4: from 00:00 two days before onset; for an asymptomatic infection from 48 h
before the positive sample), and infects

* household members (same building, unit and room) with a daily probability, and
* people whose stay at a venue overlaps one of its stays, inside its infectious period, by at least
  15 minutes in one continuous overlap, with a probability growing with the overlap and falling with
  how busy the venue is.

So every transmission runs along a contact Linli's rules find: tracing a diagnosed case from the
scans file alone, as of its diagnosis, lists every person it infected among its close contacts.

Natural history: incubation lognormal (median 5 days, at least 3), ``ASYMPTOMATIC_SHARE`` never show
symptoms. A symptomatic case is diagnosed and isolated 1–3 days after onset; an asymptomatic one is
found by a test (``sampled_at``) 0–2 days after it would have fallen ill and diagnosed the next day.
An isolated person makes no more scans (``ScanSet.isolate``), and a symptomatic case sometimes shows a
fever at checkpoints after onset.

Outputs: ``case_reports`` (contract columns, ``case_id`` ``OB-…``) for the cases diagnosed within the
scan period, and ``outbreak_truth``, one row per infection. Deterministic for (city, scans, n_index,
seed); the simulation overlaps only the stays of infectious people (sorted searches, no pair loops).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth.arrays import group_starts, join, pick, rank_in_groups, sample_pmf, zero_padded
from synth.city import SynthCity
from synth.feeds import (
    CLASSIFICATIONS,
    CONTRACT_COLUMNS,
    FEVER_THRESHOLD,
    SEVERITIES,
    SEVERITY_SHARES,
    TRUTH,
    TRUTH_COLUMNS,
    _dates,
    _feed_table,
    _pick_hospitals,
    _times,
)
from synth.mobility import DAY, ScanSet, _sort_with_order
from synth.venues import KINDS as VENUE_KINDS

OUTBREAK_TRUTH = "outbreak_truth"
CASE_REPORTS = "case_reports"
CASE_PREFIX = "OB-"
CASE_COLUMNS = CONTRACT_COLUMNS[CASE_REPORTS]
OUTBREAK_TRUTH_COLUMNS = (
    "infectee_id_number",
    "infector_id_number",
    "infected_at",
    "setting",
    "venue_code",
    "onset_date",
    "classification",
    "isolated_at",
)
SETTINGS = ("index", "household", "venue")
INDEX, HOUSEHOLD, VENUE = range(3)

CONTACT_SECONDS = 15 * 60  # domain.md §4: one continuous overlap of at least 15 minutes
ASYMPTOMATIC_SHARE = 0.2
INCUBATION_MEDIAN_DAYS = 5.0
INCUBATION_SIGMA = 0.45  # lognormal: 90 % between ~2.4 and ~10.5 days before the clip
INCUBATION_DAYS = (3.0, 14.0)  # ≥ 3 days, so a case turns infectious the day after it is infected at the earliest
INDEX_ADULT_AGES = (18, 69)
INDEX_DAYS = 3  # index cases are infected on days 1–3 of the period
DIAGNOSIS_DELAY = (0.4, 0.4, 0.2)  # days from onset to diagnosis (and isolation): 1, 2, 3

# Transmission, tuned so that ~10 index cases in a city of 20,000 make tens of cases in 14 days.
HOUSEHOLD_DAILY = 0.08  # per infectious day, per household member
VENUE_HOURLY = 0.002  # hazard per hour of overlap at a quiet venue
BUSY_VISITS = 20.0  # stays per day above which a venue counts as busy: the hazard falls as BUSY / visits
# Closeness by venue kind: meals without masks, crowded stalls and carriages weigh more than a desk.
KIND_RISK = {"market": 4.0, "supermarket": 2.0, "restaurant": 8.0, "hospital": 3.0, "transit": 4.0, "other": 2.0}
FEVER_SCAN_SHARE = 0.3  # checkpoint temperatures of a symptomatic case after onset that read ≥ 37.3 °C

_NEVER = np.iinfo(np.int64).max // 4


@dataclass(frozen=True, eq=False)
class Outbreak:
    """The simulated outbreak: the scans after isolation, the case reports and one truth row per infection.

    Per-infection arrays are in infection order: resident index, infector (-1 for index cases),
    ``infected_at``, setting (``SETTINGS`` index), venue (-1 unless at a venue), ``asymptomatic``,
    ``onset`` (NaT when asymptomatic), ``sampled_at``, ``diagnosed_at`` (the simulated ones, also past
    the period) and ``isolated_at`` (the diagnosis when within the period, else NaT). Times are naive
    local ``datetime64[s]``.
    """

    scans: ScanSet
    case_reports: pa.Table
    truth: pa.Table
    person: np.ndarray
    infector: np.ndarray
    infected_at: np.ndarray
    setting: np.ndarray
    venue: np.ndarray
    asymptomatic: np.ndarray
    onset: np.ndarray
    sampled_at: np.ndarray
    diagnosed_at: np.ndarray
    isolated_at: np.ndarray

    def counts(self) -> dict[str, int]:
        """Infections by setting, cases reported, and the scans and stays left after isolation."""
        out = {"infections": int(self.person.size)}
        out.update({name: int((self.setting == i).sum()) for i, name in enumerate(SETTINGS)})
        out["asymptomatic"] = int(self.asymptomatic.sum())
        out["case_reports"] = self.case_reports.num_rows
        out["scans"] = self.scans.rows
        out["stays"] = self.scans.stays
        return out


def seed_outbreak(
    city: SynthCity,
    scans: ScanSet,
    *,
    n_index: int,
    seed: int,
    household_daily: float = HOUSEHOLD_DAILY,
    venue_hourly: float = VENUE_HOURLY,
) -> Outbreak:
    """Seed ``n_index`` infections in ``scans``' period and let them spread; see the module docstring.

    ``scans`` are the scans without isolation (as ``generate_scans`` gives them); the returned
    ``Outbreak.scans`` are what the isolated people left.
    """
    if n_index < 0:
        raise ValueError("n_index must not be negative")
    index_rng, spread_rng, report_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 4, scans.start.toordinal()]).spawn(3)
    )
    sim = _Simulation(city, scans, spread_rng, household_daily, venue_hourly)
    sim.seed_index(index_rng, n_index)
    for day in range(scans.days):
        sim.spread(day)
    return sim.finish(report_rng)


def merge_case_reports(feeds: Mapping[str, pa.Table], outbreak: Outbreak) -> dict[str, pa.Table]:
    """Feed tables (synth.feeds) with the outbreak's case reports appended to ``case_reports``.

    Keys cannot collide (``OB-…``); the person columns stay empty; ``feed_truth`` gets a row for each
    (no noise: the identity number is the true one).
    """
    out = dict(feeds)
    reports = outbreak.case_reports
    n = reports.num_rows
    columns = {name: reports.column(name).combine_chunks() for name in CASE_COLUMNS}
    extra = _feed_table(CASE_REPORTS, columns, n)
    out[CASE_REPORTS] = pa.concat_tables([feeds[CASE_REPORTS], extra]) if CASE_REPORTS in feeds else extra
    truth = pa.table(
        {
            "kind": pa.array([CASE_REPORTS] * n, pa.string()),
            "key": columns["case_id"],
            "true_id_number": columns["id_number"],
            "noise": pa.array([""] * n, pa.string()),
        }
    ).select(list(TRUTH_COLUMNS))
    out[TRUTH] = pa.concat_tables([feeds[TRUTH], truth]) if TRUTH in feeds else truth
    return out


# --- the simulation ----------------------------------------------------------------------------------


class _Simulation:
    """Day-by-day spread; times are seconds from the period's first 00:00."""

    def __init__(
        self,
        city: SynthCity,
        scans: ScanSet,
        rng: np.random.Generator,
        household_daily: float,
        venue_hourly: float,
    ) -> None:
        self.city = city
        self.scans = scans
        self.rng = rng
        self.household_daily = household_daily
        self.venue_hourly = venue_hourly
        n = city.people.count
        self.n = n
        self.end_of_period = scans.days * DAY

        # Stays, once by person (for an infector's own stays) and once by venue and start.
        self.person = scans.stay_person
        self.venue = scans.stay_venue
        self.start = _seconds(scans.stay_start, scans)
        self.end = _seconds(scans.stay_end, scans)
        n_venues = city.venues.num_rows
        self.horizon = (scans.days + 3) * DAY
        counts = np.bincount(self.person, minlength=n)
        self.by_person = _sort_with_order(self.person.astype(np.int64), n)[1]
        self.person_first = group_starts(counts)
        self.person_count = counts
        key, order = _sort_with_order(self.venue.astype(np.int64) * self.horizon + self.start, n_venues * self.horizon)
        self.venue_key = key
        self.by_venue = order
        visits = np.bincount(self.venue, minlength=n_venues)
        longest = np.zeros(n_venues, dtype=np.int64)
        np.maximum.at(longest, self.venue, self.end - self.start)
        self.longest = longest
        risk = np.array([KIND_RISK.get(kind, 1.0) for kind in VENUE_KINDS])[city.venue_index.kind]
        self.busy = risk * BUSY_VISITS / np.maximum(visits / scans.days, BUSY_VISITS)

        household = city.people.household
        sizes = np.bincount(household)
        self.household = household
        self.household_first = group_starts(sizes)
        self.household_size = sizes

        self.infected_at = np.full(n, _NEVER, dtype=np.int64)
        self.cases: list[np.ndarray] = []  # resident indexes, in infection order
        self.infector = np.full(n, -1, dtype=np.int64)
        self.setting = np.zeros(n, dtype=np.int8)
        self.where = np.full(n, -1, dtype=np.int64)
        self.asymptomatic = np.zeros(n, dtype=bool)
        self.onset = np.full(n, _NEVER, dtype=np.int64)
        self.sampled = np.full(n, _NEVER, dtype=np.int64)
        self.diagnosed = np.full(n, _NEVER, dtype=np.int64)
        self.infectious_from = np.full(n, _NEVER, dtype=np.int64)

    # -- infections -------------------------------------------------------------------------------

    def seed_index(self, rng: np.random.Generator, n_index: int) -> None:
        lo, hi = INDEX_ADULT_AGES
        age = self.city.people.age
        eligible = np.flatnonzero((age >= lo) & (age <= hi))
        if eligible.size < n_index:
            eligible = np.arange(self.n)
        if eligible.size < n_index:
            raise ValueError("more index cases than residents")
        who = np.sort(rng.choice(eligible, n_index, replace=False))
        at = rng.integers(0, INDEX_DAYS, n_index) * DAY + rng.integers(7 * 3600, 22 * 3600, n_index)
        none = np.full(n_index, -1, dtype=np.int64)
        self._infect(rng, who, at, none, np.full(n_index, INDEX, dtype=np.int8), none)

    def _infect(
        self,
        rng: np.random.Generator,
        who: np.ndarray,
        at: np.ndarray,
        infector: np.ndarray,
        setting: np.ndarray,
        venue: np.ndarray,
    ) -> None:
        """Record infections and draw each one's course (onset, sample, diagnosis, infectious period)."""
        order = np.lexsort((who, at))
        who, at, infector, setting, venue = who[order], at[order], infector[order], setting[order], venue[order]
        k = who.size
        self.infected_at[who] = at
        self.infector[who] = infector
        self.setting[who] = setting
        self.where[who] = venue
        self.cases.append(who)

        asymptomatic = rng.random(k) < ASYMPTOMATIC_SHARE
        days = np.clip(rng.lognormal(np.log(INCUBATION_MEDIAN_DAYS), INCUBATION_SIGMA, k), *INCUBATION_DAYS)
        would_fall_ill = at + np.rint(days * DAY).astype(np.int64)
        onset_day = would_fall_ill // DAY
        # Symptomatic: diagnosed in the daytime 1–3 days after onset, sampled a few hours before (not
        # before onset).
        delay = sample_pmf(rng, np.array(DIAGNOSIS_DELAY), k, 1)
        diagnosed = (onset_day + delay) * DAY + rng.integers(8 * 3600, 22 * 3600, k)
        sampled = np.maximum(diagnosed - np.rint(rng.uniform(4.0, 20.0, k) * 3600).astype(np.int64), would_fall_ill)
        window = (onset_day - 2) * DAY
        # Asymptomatic: a test 0–2 days after it would have fallen ill, diagnosed the next day.
        test_day = (would_fall_ill + np.rint(rng.uniform(0.0, 2.0, k) * DAY).astype(np.int64)) // DAY
        test_at = test_day * DAY + np.rint(rng.uniform(8.0, 18.0, k) * 3600).astype(np.int64)
        found_at = (test_day + 1) * DAY + np.rint(rng.uniform(8.0, 20.0, k) * 3600).astype(np.int64)

        self.asymptomatic[who] = asymptomatic
        self.onset[who] = np.where(asymptomatic, _NEVER, would_fall_ill)
        self.sampled[who] = np.where(asymptomatic, test_at, sampled)
        self.diagnosed[who] = np.where(asymptomatic, found_at, diagnosed)
        # The infectious period is the tracing window (domain.md §4), which starts after infection.
        self.infectious_from[who] = np.maximum(np.where(asymptomatic, test_at - 2 * DAY, window), at)

    def spread(self, day: int) -> None:
        """All transmissions on ``day``: each newly infected person keeps only the earliest exposure."""
        lo, hi = day * DAY, (day + 1) * DAY
        cases = np.concatenate(self.cases) if self.cases else np.zeros(0, dtype=np.int64)
        infectious = cases[(self.infectious_from[cases] < hi) & (self.diagnosed[cases] > lo)]
        if infectious.size == 0:
            return
        events = [self._household(infectious, lo, hi), self._venues(infectious, lo, hi)]
        who = np.concatenate([e[0] for e in events])
        if who.size == 0:
            return
        at = np.concatenate([e[1] for e in events])
        infector = np.concatenate([e[2] for e in events])
        setting = np.concatenate([e[3] for e in events])
        venue = np.concatenate([e[4] for e in events])
        order = np.lexsort((infector, at, who))
        first = np.ones(order.size, dtype=bool)
        first[1:] = who[order][1:] != who[order][:-1]
        pick_ = order[first]
        self._infect(self.rng, who[pick_], at[pick_], infector[pick_], setting[pick_], venue[pick_])

    def _household(self, infectious: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        rng = self.rng
        household = self.household[infectious]
        sizes = self.household_size[household]
        source = np.repeat(infectious, sizes)
        member = np.repeat(self.household_first[household], sizes) + rank_in_groups(sizes)
        ok = (member != source) & (self.infected_at[member] == _NEVER)
        source, member = source[ok], member[ok]
        a = np.maximum(lo, self.infectious_from[source])
        b = np.minimum(hi, self.diagnosed[source])
        share = np.clip((b - a) / DAY, 0.0, 1.0)
        hit = rng.random(member.size) < 1.0 - (1.0 - self.household_daily) ** share
        hit &= b > a
        at = a + np.floor(rng.random(member.size) * (b - a)).astype(np.int64)
        n = int(hit.sum())
        return member[hit], at[hit], source[hit], np.full(n, HOUSEHOLD, np.int8), np.full(n, -1, np.int64)

    def _venues(self, infectious: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        """Overlaps of the infectious people's stays (clipped to their infectious period) with others'."""
        rng = self.rng
        counts = self.person_count[infectious]
        mine = self.by_person[np.repeat(self.person_first[infectious], counts) + rank_in_groups(counts)]
        source = np.repeat(infectious, counts)
        cs = np.maximum(self.start[mine], self.infectious_from[source])
        ce = np.minimum(self.end[mine], self.diagnosed[source])
        ok = (cs >= lo) & (cs < hi) & (ce - cs >= CONTACT_SECONDS)
        mine, source, cs, ce = mine[ok], source[ok], cs[ok], ce[ok]
        venue = self.venue[mine].astype(np.int64)
        base = venue * self.horizon
        left = np.searchsorted(self.venue_key, base + np.maximum(cs - self.longest[venue], 0), side="left")
        right = np.searchsorted(self.venue_key, base + ce - CONTACT_SECONDS, side="right")
        counts = right - left
        pair = np.repeat(np.arange(mine.size), counts)
        other = self.by_venue[np.repeat(left, counts) + rank_in_groups(counts)]
        person = self.person[other].astype(np.int64)
        overlap_from = np.maximum(self.start[other], cs[pair])
        overlap = np.minimum(self.end[other], ce[pair]) - overlap_from
        ok = (person != source[pair]) & (self.infected_at[person] == _NEVER) & (overlap >= CONTACT_SECONDS)
        pair, person, overlap_from, overlap = pair[ok], person[ok], overlap_from[ok], overlap[ok]
        hazard = self.venue_hourly * overlap / 3600 * self.busy[venue[pair]]
        hit = rng.random(pair.size) < -np.expm1(-hazard)
        at = overlap_from + np.floor(rng.random(pair.size) * overlap).astype(np.int64)
        n = int(hit.sum())
        return person[hit], at[hit], source[pair[hit]], np.full(n, VENUE, np.int8), venue[pair[hit]]

    # -- results ----------------------------------------------------------------------------------

    def finish(self, rng: np.random.Generator) -> Outbreak:
        # The stay indexes are done with: free them before the scans are copied without the isolated.
        del self.start, self.end, self.by_person, self.venue_key, self.by_venue
        who = np.concatenate(self.cases) if self.cases else np.zeros(0, dtype=np.int64)
        base = np.datetime64(self.scans.start, "s")

        def when(seconds: np.ndarray) -> np.ndarray:
            out = base + np.minimum(seconds, 10**10).astype("timedelta64[s]")
            return np.where(seconds >= _NEVER, np.datetime64("NaT", "s"), out)

        diagnosed = self.diagnosed[who]
        within = diagnosed < self.end_of_period
        isolated = np.where(within, diagnosed, _NEVER)
        isolated_at = np.full(self.n, np.datetime64("NaT", "s"))
        isolated_at[who] = when(isolated)
        scans = self.scans.isolate(isolated_at)
        scans = _fevers(rng, scans, who[~self.asymptomatic[who]], self.onset, isolated_at)

        outbreak = {
            "person": who,
            "infector": self.infector[who],
            "infected_at": when(self.infected_at[who]),
            "setting": self.setting[who],
            "venue": self.where[who],
            "asymptomatic": self.asymptomatic[who],
            "onset": when(self.onset[who]),
            "sampled_at": when(self.sampled[who]),
            "diagnosed_at": when(diagnosed),
            "isolated_at": when(isolated),
        }
        return Outbreak(
            scans=scans,
            case_reports=_case_reports(rng, self.city, outbreak, within),
            truth=_truth(self.city, outbreak),
            **outbreak,
        )


def _fevers(
    rng: np.random.Generator, scans: ScanSet, symptomatic: np.ndarray, onset: np.ndarray, isolated_at: np.ndarray
) -> ScanSet:
    """A fever at some checkpoints for symptomatic cases between onset and isolation."""
    if symptomatic.size == 0:
        return scans
    ill = np.zeros(onset.size, dtype=bool)
    ill[symptomatic] = True
    rows = np.flatnonzero(ill[scans.scan_person])
    person = scans.scan_person[rows]
    time = _seconds(scans.scan_time[rows], scans)
    taken = scans.scan_temperature[rows] >= 0
    fever = (time >= onset[person]) & taken & (rng.random(rows.size) < FEVER_SCAN_SHARE)
    if not fever.any():
        return scans
    celsius = np.minimum(FEVER_THRESHOLD + rng.gamma(2.0, 0.3, int(fever.sum())), 39.9)
    return scans.with_temperatures(rows[fever], np.round(celsius, 1))


def _seconds(at: np.ndarray, scans: ScanSet) -> np.ndarray:
    """Naive local ``datetime64[s]`` as seconds from the period's first 00:00."""
    return (at - np.datetime64(scans.start, "s")).astype(np.int64)


def _case_reports(rng: np.random.Generator, city: SynthCity, o: dict, within: np.ndarray) -> pa.Table:
    """``case_reports`` rows (contract columns) for the cases diagnosed within the period, by diagnosis."""
    idx = np.flatnonzero(within)
    idx = idx[np.argsort(o["diagnosed_at"][idx], kind="stable")]
    n = idx.size
    person = o["person"][idx]
    asymptomatic = o["asymptomatic"][idx]
    classification = np.where(asymptomatic, CLASSIFICATIONS.index("asymptomatic"), CLASSIFICATIONS.index("confirmed"))
    severity = pick(SEVERITIES, sample_pmf(rng, np.array(SEVERITY_SHARES), n))
    hospital = _pick_hospitals(rng, city, city.people.district[person].astype(np.int64))
    codes = city.venues.column("venue_code").combine_chunks()
    symptomatic = pa.array(~asymptomatic)
    return pa.table(
        {
            "case_id": join(CASE_PREFIX, zero_padded(np.arange(1, n + 1), 6)),
            "id_number": city.people.id_number.take(pa.array(person)),
            "classification": pick(CLASSIFICATIONS, classification),
            "onset_date": _onset_dates(o["onset"][idx]),
            "sampled_at": _times(o["sampled_at"][idx]),
            "diagnosed_at": _times(o["diagnosed_at"][idx]),
            "severity": pc.if_else(symptomatic, severity, pa.scalar(None, pa.string())),
            "hospital_code": codes.take(pa.array(hospital)),
        }
    )


def _truth(city: SynthCity, o: dict) -> pa.Table:
    """``outbreak_truth``: one row per infection, in infection order."""
    ids = city.people.id_number
    infector = o["infector"]
    venue = o["venue"]
    isolated = o["isolated_at"]
    codes = city.venues.column("venue_code").combine_chunks()
    asymptomatic = o["asymptomatic"]
    return pa.table(
        {
            "infectee_id_number": ids.take(pa.array(o["person"])),
            "infector_id_number": ids.take(pa.array(np.maximum(infector, 0), mask=infector < 0)),
            "infected_at": _times(o["infected_at"]),
            "setting": pick(SETTINGS, o["setting"].astype(np.int64)),
            "venue_code": codes.take(pa.array(np.maximum(venue, 0), mask=venue < 0)),
            "onset_date": _onset_dates(o["onset"]),
            "classification": pick(
                CLASSIFICATIONS,
                np.where(asymptomatic, CLASSIFICATIONS.index("asymptomatic"), CLASSIFICATIONS.index("confirmed")),
            ),
            "isolated_at": _masked_times(isolated),
        }
    )


def _onset_dates(onset: np.ndarray) -> pa.Array:
    """Onset dates; empty for the asymptomatic (NaT)."""
    missing = np.isnat(onset)
    return _dates(np.where(missing, np.datetime64(0, "s"), onset), ~missing)


def _masked_times(at: np.ndarray) -> pa.Array:
    missing = np.isnat(at)
    text = _times(np.where(missing, np.datetime64(0, "s"), at))
    return pc.if_else(pa.array(~missing), text, pa.scalar(None, pa.string()))


def outbreak_tables(outbreak: Outbreak) -> dict[str, pa.Table]:
    """The files the outbreak adds on its own: ``case_reports`` and ``outbreak_truth``."""
    return {CASE_REPORTS: outbreak.case_reports, OUTBREAK_TRUTH: outbreak.truth}
