"""A one-day citywide testing campaign (domain.md §8) drawn from a synthetic city, with its truth.

``generate_campaign(city, seed=…, day=…)`` plans sampling sites, swabs a share of the residents into
pooled tubes, infects a few of them and reports what the labs would: a result per tube, and for every
member of a positive tube an individual re-swab whose result decides. ``write_campaign`` writes:

  campaign_sites.csv        site_code, name, lat, lon, grid_code, capacity_per_hour, opens, closes
  campaign_assignments.csv  compound_code, site_code: the site every compound is sent to
  pool_members.csv          contracts.md ``pool_members``: who is in which tube
  lab_results_pools.csv     contracts.md ``lab_results``: one row per tube (sample_id = pool_id)
  lab_results_recall.csv    contracts.md ``lab_results``: the re-swabs of positive tubes' members
  campaign_truth.csv        id_number, pool_id, position, infected (0/1) for every sampled person
  campaign_summary.json     the counts (``Campaign.summary``)

and with ``bad_rows`` the cases an importer must survive (``BAD_CASES``): ``pool_members_bad.csv``,
``pool_members_late.csv``, ``lab_results_bad.csv`` and ``campaign_bad_truth.json`` naming the ids.

Sites: each community gets one site per ``SITE_RESIDENTS`` residents (at least one); its grids are
split among them in order, so a compound goes to the site of its grid. People queue at their site by
compound (compounds in a random order), then at random, over the opening hours with a morning rush
(``ARRIVALS``); every ``pool_size`` consecutive people fill a tube. Each site sends its tubes to one
lab, and each lab has its own turnaround and share of results later than 12 hours.

Vectorised (numpy and pyarrow, nothing loops over people) and deterministic for (city, seed, day and
the parameters); the random streams are the campaign's own, so the city's are untouched. Turning on
``bad_rows`` changes no clean row except the withheld tube's.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth.arrays import decimal_strings, group_starts, join, pick, rank_in_groups, zero_padded
from synth.city import SynthCity
from synth.feeds import CONTRACT_COLUMNS, _lab_codes, _one_decimal, _times
from synth.places import MAX_PER_PARENT_2DIGIT
from synth.writer import write_tables

CAMPAIGN_DAY = dt.date(2020, 5, 22)  # Wuhan's peak day: 1,470,950 tests (domain.md §8)
POOL_SIZE = 10
COVERAGE = 0.9
PREVALENCE = 0.0001  # the national guideline pools below 0.1 % (domain.md §8)
POSITIVES = 2  # at least this many infected people, so that a small city still has positive tubes

SITE_RESIDENTS = 2_500  # residents one site serves at most (a community gets ceil(residents / this))
OPENS_HOUR, CLOSES_HOUR = 8, 20
# Relative arrivals per opening hour, 08:00 … 19:00: a morning rush, a lunch dip, a quiet evening.
ARRIVALS = np.array([1.4, 1.6, 1.5, 1.2, 0.8, 0.8, 1.0, 1.0, 0.9, 0.8, 0.6, 0.4])
CAPACITY_STEP = 10  # capacity_per_hour is rounded up to a multiple of this

METHOD = "pcr"
CT_RANGE = (20.0, 35.0)  # pooled positives
CT_FLOOR = 15.0  # an individual re-swab is less diluted than its pool (by log2 of the tube's members)
INVALID_SHARE = 0.0005  # of tubes (at least one when a tube can be invalid), never one with an infected member
LAB_MEDIAN_HOURS = (4.0, 7.0)  # each lab's median turnaround is drawn from this range
LAB_LATE_SHARE = (0.04, 0.10)  # each lab's share of results later than 12 h is drawn from this range
ON_TIME_SIGMA = 0.35  # lognormal spread of on-time turnarounds
LATE_MEAN_HOURS = 6.0  # a late result comes this long (mean, exponential) after the 12 h mark
TURNAROUND_LIMIT = 12 * 3600  # seconds: the 12-hour target for a pooled result
RECALL_DELAY_HOURS = (1.0, 6.0)  # a positive tube's members are re-swabbed this long after its result
RECALL_TURNAROUND_HOURS = (3.0, 8.0)

POOL_PREFIX = "P"  # tube barcodes: P + 10 digits
POOL_DIGITS = 10
RECALL_PREFIX = "R"  # re-swabs: R + pool id + "-" + position in the tube

SITES = "campaign_sites"
ASSIGNMENTS = "campaign_assignments"
POOL_MEMBERS = "pool_members"
POOL_RESULTS = "lab_results_pools"
RECALL_RESULTS = "lab_results_recall"
TRUTH = "campaign_truth"
SUMMARY = "campaign_summary"
POOL_MEMBERS_BAD = "pool_members_bad"
POOL_MEMBERS_LATE = "pool_members_late"
LAB_RESULTS_BAD = "lab_results_bad"
BAD_TRUTH = "campaign_bad_truth"

SITE_COLUMNS = ("site_code", "name", "lat", "lon", "grid_code", "capacity_per_hour", "opens", "closes")
ASSIGNMENT_COLUMNS = ("compound_code", "site_code")
POOL_MEMBER_COLUMNS = ("pool_id", "id_number", "position", "sampled_at", "site_code")  # contracts.md
LAB_RESULT_COLUMNS = CONTRACT_COLUMNS["lab_results"]
TRUTH_COLUMNS = ("id_number", "pool_id", "position", "infected")
BAD_CASES = (
    "tube_scanned_twice",
    "person_in_two_tubes",
    "overfilled_tube",
    "result_without_members",
    "result_before_members",
)
NEGATIVE, POSITIVE, INVALID = "negative", "positive", "invalid"

_HOUR = 3600


@dataclass(frozen=True, eq=False)
class Campaign:
    """The campaign's files as tables (by file name, without ``.csv``), its counts and its bad cases.

    ``bad_truth`` is empty unless bad rows were asked for; then it describes each of ``BAD_CASES``.
    """

    tables: dict[str, pa.Table]
    summary: dict[str, object]
    bad_truth: dict[str, dict[str, object]]


def generate_campaign(
    city: SynthCity,
    *,
    seed: int,
    day: dt.date,
    pool_size: int = POOL_SIZE,
    coverage: float = COVERAGE,
    prevalence: float = PREVALENCE,
    positives: int = POSITIVES,
    bad_rows: bool = False,
) -> Campaign:
    """Sample ``coverage`` of ``city``'s residents on ``day`` into tubes of ``pool_size``; see the module."""
    if pool_size < 1:
        raise ValueError("pool_size must be at least 1")
    if not 0.0 <= coverage <= 1.0:
        raise ValueError("coverage must be between 0 and 1")
    if not 0.0 <= prevalence <= 1.0:
        raise ValueError("prevalence must be between 0 and 1")
    if positives < 0:
        raise ValueError("positives must not be negative")
    queue_rng, infection_rng, lab_rng, recall_rng, bad_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 5, day.toordinal()]).spawn(5)
    )
    sites = _Sites(city)
    queue = _Queue(queue_rng, city, sites, day, pool_size, coverage)
    infected = _infect(infection_rng, queue, prevalence, positives)
    labs = _Labs(lab_rng, queue, sites, infected)
    recall = _recall_results(recall_rng, queue, labs, infected)
    members = queue.members_table()
    tables = {
        SITES: sites.table(),
        ASSIGNMENTS: sites.assignments(),
        POOL_MEMBERS: members,
        POOL_RESULTS: labs.table(),
        RECALL_RESULTS: recall,
        TRUTH: queue.truth_table(infected),
    }
    summary: dict[str, object] = {
        "day": day.isoformat(),
        "pool_size": pool_size,
        "coverage": coverage,
        "prevalence": prevalence,
        "residents": city.people.count,
        "sites": sites.count,
        "labs": len(labs.codes),
        "sampled": queue.count,
        "tubes": queue.tubes,
        "positive_pools": int(labs.positive.sum()),
        "infected": int(infected.sum()),
        "invalid_tubes": int(labs.invalid.sum()),
        "over_12h": int((labs.turnaround > TURNAROUND_LIMIT).sum()),
        "recall_samples": recall.num_rows,
    }
    bad_truth: dict[str, dict[str, object]] = {}
    if bad_rows:
        bad_tables, bad_truth = _bad_rows(bad_rng, city, queue, labs, members)
        tables.update(bad_tables)
        summary["bad_rows"] = list(BAD_CASES)
    return Campaign(tables=tables, summary=summary, bad_truth=bad_truth)


def write_campaign(campaign: Campaign, out_dir: Path | str) -> dict[str, Path]:
    """Write the campaign's CSV files (synth.writer's format) and JSON files into ``out_dir``."""
    out = Path(out_dir)
    paths = write_tables(campaign.tables, out)
    documents = {SUMMARY: campaign.summary}
    if campaign.bad_truth:
        documents[BAD_TRUTH] = campaign.bad_truth
    for name, document in documents.items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths[name] = path
    return paths


# --- sites ------------------------------------------------------------------------------------------


class _Sites:
    """Sampling sites: a community's grids split in order among ceil(residents / SITE_RESIDENTS) sites.

    No randomness: sites are the city's infrastructure, the same whatever the campaign's seed.
    """

    def __init__(self, city: SynthCity) -> None:
        places = city.places
        self.places = places
        n_compounds = places.compound_grid.size
        n_grids = places.grid_community.size
        self.person_compound = places.building_compound[city.people.building]
        compound_residents = np.bincount(self.person_compound, minlength=n_compounds)
        grid_residents = np.bincount(places.compound_grid, weights=compound_residents, minlength=n_grids)
        community_residents = np.bincount(
            places.grid_community, weights=grid_residents, minlength=places.community_street.size
        )
        community_sites = np.maximum(1, np.ceil(community_residents / SITE_RESIDENTS)).astype(np.int64)

        # Grids are numbered community by community; a grid goes to the part its residents' midpoint is in.
        before = np.cumsum(grid_residents) - grid_residents
        community_first = group_starts(np.bincount(places.grid_community))
        midpoint = before - before[community_first][places.grid_community] + grid_residents / 2
        share = midpoint / np.maximum(community_residents[places.grid_community], 1)
        sites_here = community_sites[places.grid_community]
        part = np.minimum(np.floor(share * sites_here).astype(np.int64), sites_here - 1)
        stride = int(community_sites.max())
        site_key, grid_site = np.unique(places.grid_community * stride + part, return_inverse=True)
        self.grid_site = grid_site.reshape(-1)
        self.count = int(site_key.size)
        self.community = site_key // stride
        self.sequence = rank_in_groups(np.bincount(self.community)) + 1
        if self.sequence.max(initial=0) > MAX_PER_PARENT_2DIGIT:
            raise ValueError("more than 99 sites in one community; the 2-digit site sequence overflows")
        self.compound_site = self.grid_site[places.compound_grid]
        self.residents = np.bincount(self.grid_site, weights=grid_residents, minlength=self.count).astype(np.int64)
        # The site stands in its most populous grid, at the mean position of its compounds.
        by_size = np.lexsort((-grid_residents, self.grid_site))
        self.grid = by_size[group_starts(np.bincount(self.grid_site, minlength=self.count))]
        compounds_per_site = np.bincount(self.compound_site, minlength=self.count)
        self.lat = np.bincount(self.compound_site, weights=places.compound_lat) / compounds_per_site
        self.lon = np.bincount(self.compound_site, weights=places.compound_lon) / compounds_per_site
        grid_codes = places.grid_codes.take(pa.array(self.grid))
        community_codes = pc.utf8_slice_codeunits(grid_codes, 0, 12)  # a grid's code is its community's + 3 digits
        self.codes = join("S", community_codes, "-", zero_padded(self.sequence, 2))

    def capacity_per_hour(self) -> np.ndarray:
        """People per hour the site must swab for its residents to fit in the busiest hour."""
        busiest = ARRIVALS.max() / ARRIVALS.sum()
        needed = np.ceil(self.residents * busiest / CAPACITY_STEP) * CAPACITY_STEP
        return np.maximum(needed, CAPACITY_STEP).astype(np.int64)

    def table(self) -> pa.Table:
        names = join(
            self.places.community_names.take(pa.array(self.community)),
            decimal_strings(self.sequence),
            "号核酸采样点",
        )
        return pa.table(
            {
                "site_code": self.codes,
                "name": names,
                "lat": np.round(self.lat, 6),
                "lon": np.round(self.lon, 6),
                "grid_code": self.places.grid_codes.take(pa.array(self.grid)),
                "capacity_per_hour": self.capacity_per_hour(),
                "opens": pa.array([f"{OPENS_HOUR:02d}:00"] * self.count, pa.string()),
                "closes": pa.array([f"{CLOSES_HOUR:02d}:00"] * self.count, pa.string()),
            }
        )

    def assignments(self) -> pa.Table:
        return pa.table(
            {"compound_code": self.places.compound_codes, "site_code": self.codes.take(pa.array(self.compound_site))}
        )


# --- the queue and the tubes ------------------------------------------------------------------------


class _Queue:
    """The sampled people in queue order (by site, then compound, then at random), with their tubes.

    Per queue entry: ``person`` (resident index), ``site``, ``tube``, ``position`` (1 …) and
    ``sampled_at`` (naive local ``datetime64[s]``, non-decreasing along a site's queue, from ``opens``).
    Per tube: ``tube_site``, ``tube_first`` (its first queue entry), ``tube_size``, ``tube_sampled_at``
    (its last member's time) and ``pool_ids`` (one spare at the end). ``sampled`` marks residents.
    """

    def __init__(
        self, rng: np.random.Generator, city: SynthCity, sites: _Sites, day: dt.date, pool_size: int, coverage: float
    ) -> None:
        self.city = city
        self.sites = sites
        self.pool_size = pool_size
        n = city.people.count
        chosen = np.sort(rng.choice(n, size=round(coverage * n), replace=False))
        compound = sites.person_compound[chosen]
        site = sites.compound_site[compound]
        compound_turn = rng.random(sites.compound_site.size)  # the order compounds are called in at a site
        order = np.lexsort((rng.random(chosen.size), compound_turn[compound], site))
        self.sampled = np.zeros(n, dtype=bool)
        self.sampled[chosen] = True
        self.person = chosen[order]
        self.site = site[order]
        self.count = int(self.person.size)
        per_site = np.bincount(self.site, minlength=sites.count)
        rank = rank_in_groups(per_site)
        tubes_per_site = -(-per_site // pool_size)
        self.tube = (group_starts(tubes_per_site)[self.site] + rank // pool_size).astype(np.int64)
        self.position = (rank % pool_size + 1).astype(np.int64)
        self.tubes = int(tubes_per_site.sum())
        self.tube_site = np.repeat(np.arange(sites.count), tubes_per_site)
        self.tube_size = np.bincount(self.tube, minlength=self.tubes)
        self.tube_first = group_starts(self.tube_size)
        quantile = (rank + rng.random(self.count)) / np.maximum(per_site[self.site], 1)
        self.opens = np.datetime64(day, "s") + np.timedelta64(OPENS_HOUR * _HOUR, "s")
        self.sampled_at = self.opens + _arrival_seconds(quantile).astype("timedelta64[s]")
        self.tube_sampled_at = self.sampled_at[self.tube_first + self.tube_size - 1]
        # One spare id past the last tube: the bad rows' tube that nobody sent members for.
        barcodes = _unique_numbers(rng, self.tubes + 1, 10**POOL_DIGITS)
        self.pool_ids = join(POOL_PREFIX, zero_padded(barcodes, POOL_DIGITS))

    def members_table(self) -> pa.Table:
        """``pool_members`` rows in queue order."""
        return pa.table(
            {
                "pool_id": self.pool_ids.take(pa.array(self.tube)),
                "id_number": self.city.people.id_number.take(pa.array(self.person)),
                "position": self.position,
                "sampled_at": _times(self.sampled_at),
                "site_code": self.sites.codes.take(pa.array(self.site)),
            }
        )

    def truth_table(self, infected: np.ndarray) -> pa.Table:
        return pa.table(
            {
                "id_number": self.city.people.id_number.take(pa.array(self.person)),
                "pool_id": self.pool_ids.take(pa.array(self.tube)),
                "position": self.position,
                "infected": infected.astype(np.int8),
            }
        )


def _arrival_seconds(quantile: np.ndarray) -> np.ndarray:
    """Seconds after opening at which the given quantile of a site's queue is swabbed (ARRIVALS' inverse)."""
    share = ARRIVALS / ARRIVALS.sum()
    hour_end = np.cumsum(share)
    hour = np.minimum(np.searchsorted(hour_end, quantile, side="right"), share.size - 1)
    within = (quantile - (hour_end - share)[hour]) / share[hour]
    return hour * _HOUR + np.clip(np.floor(within * _HOUR), 0, _HOUR - 1).astype(np.int64)


def _unique_numbers(rng: np.random.Generator, count: int, below: int) -> np.ndarray:
    """``count`` distinct random numbers in [0, below); collisions are redrawn (rarely more than one pass)."""
    numbers = rng.integers(0, below, count)
    while True:
        _, first = np.unique(numbers, return_index=True)
        if first.size == count:
            return numbers
        again = np.ones(count, dtype=bool)
        again[first] = False
        numbers[again] = rng.integers(0, below, int(again.sum()))


def _infect(rng: np.random.Generator, queue: _Queue, prevalence: float, positives: int) -> np.ndarray:
    """Which queue entries are infected: max(positives, prevalence · sampled), one per tube while tubes last."""
    wanted = min(queue.count, max(positives, round(prevalence * queue.count)))
    infected = np.zeros(queue.count, dtype=bool)
    if wanted <= queue.tubes:
        tubes = rng.choice(queue.tubes, size=wanted, replace=False)
        member = np.floor(rng.random(wanted) * queue.tube_size[tubes]).astype(np.int64)
        infected[queue.tube_first[tubes] + member] = True
    else:
        infected[rng.choice(queue.count, size=wanted, replace=False)] = True
    return infected


# --- results ------------------------------------------------------------------------------------------


class _Labs:
    """The tubes' results: each site's lab, the turnaround, positive, negative or invalid, and Ct values."""

    def __init__(self, rng: np.random.Generator, queue: _Queue, sites: _Sites, infected: np.ndarray) -> None:
        self.queue = queue
        self.codes = _lab_codes(queue.city.people.count)
        n_labs = len(self.codes)
        median_hours = rng.uniform(*LAB_MEDIAN_HOURS, n_labs)
        late_share = rng.uniform(*LAB_LATE_SHARE, n_labs)
        self.tube_lab = rng.integers(0, n_labs, sites.count)[queue.tube_site]
        n = queue.tubes
        late = rng.random(n) < late_share[self.tube_lab]
        on_time_hours = median_hours[self.tube_lab] * rng.lognormal(0.0, ON_TIME_SIGMA, n)
        on_time = np.clip(np.rint(on_time_hours * _HOUR), _HOUR, TURNAROUND_LIMIT - 10 * 60)
        late_by = TURNAROUND_LIMIT + 60 + np.rint(rng.exponential(LATE_MEAN_HOURS * _HOUR, n))
        self.turnaround = np.where(late, late_by, on_time).astype(np.int64)
        self.reported_at = queue.tube_sampled_at + self.turnaround.astype("timedelta64[s]")
        self.positive = np.bincount(queue.tube, weights=infected, minlength=n) > 0
        negative = np.flatnonzero(~self.positive)
        n_invalid = min(negative.size, max(1, round(INVALID_SHARE * n))) if n else 0
        self.invalid = np.zeros(n, dtype=bool)
        self.invalid[rng.choice(negative, size=n_invalid, replace=False)] = True
        self.ct = np.where(self.positive, np.round(rng.uniform(*CT_RANGE, n), 1), np.nan)

    def results(self) -> np.ndarray:
        return np.where(self.positive, POSITIVE, np.where(self.invalid, INVALID, NEGATIVE))

    def table(self) -> pa.Table:
        """``lab_results`` rows, one per tube in tube order; the sample is the tube itself."""
        queue = self.queue
        pool_ids = queue.pool_ids.slice(0, queue.tubes)
        return _lab_results(
            sample_id=pool_ids,
            pool_id=pool_ids,
            id_number=pa.nulls(queue.tubes, pa.string()),
            sampled_at=queue.tube_sampled_at,
            reported_at=self.reported_at,
            lab_code=pick(self.codes, self.tube_lab),
            result=pa.array(self.results(), pa.string()),
            ct=self.ct,
        )


def _recall_results(rng: np.random.Generator, queue: _Queue, labs: _Labs, infected: np.ndarray) -> pa.Table:
    """Every member of every positive tube re-swabbed alone after the tube's result; their own result decides."""
    tubes = np.flatnonzero(labs.positive)
    sizes = queue.tube_size[tubes]
    tube = np.repeat(tubes, sizes)
    entry = queue.tube_first[tube] + rank_in_groups(sizes)
    n = entry.size
    delay = np.rint(rng.uniform(*RECALL_DELAY_HOURS, n) * _HOUR).astype("timedelta64[s]")
    sampled_at = labs.reported_at[tube] + delay
    reported_at = sampled_at + np.rint(rng.uniform(*RECALL_TURNAROUND_HOURS, n) * _HOUR).astype("timedelta64[s]")
    positive = infected[entry]
    # Alone in the tube, the swab is not diluted by its tube-mates: the Ct falls by log2 of their number.
    ct = np.maximum(labs.ct[tube] - np.log2(queue.tube_size[tube]) + rng.normal(0.0, 1.0, n), CT_FLOOR)
    pool_ids = queue.pool_ids.take(pa.array(tube))
    return _lab_results(
        sample_id=join(RECALL_PREFIX, pool_ids, "-", decimal_strings(queue.position[entry])),
        pool_id=pool_ids,
        id_number=queue.city.people.id_number.take(pa.array(queue.person[entry])),
        sampled_at=sampled_at,
        reported_at=reported_at,
        lab_code=pick(labs.codes, labs.tube_lab[tube]),
        result=pa.array(np.where(positive, POSITIVE, NEGATIVE), pa.string()),
        ct=np.where(positive, np.round(ct, 1), np.nan),
    )


def _lab_results(
    *,
    sample_id: pa.Array,
    pool_id: pa.Array,
    id_number: pa.Array,
    sampled_at: np.ndarray,
    reported_at: np.ndarray,
    lab_code: pa.Array,
    result: pa.Array,
    ct: np.ndarray,
) -> pa.Table:
    """A ``lab_results`` table in contract column order; ``ct`` is NaN where no Ct value is given."""
    columns = {
        "sample_id": sample_id,
        "pool_id": pool_id,
        "id_number": id_number,
        "sampled_at": _times(sampled_at),
        "reported_at": _times(reported_at),
        "lab_code": lab_code,
        "method": pa.array([METHOD] * len(sample_id), pa.string()),
        "result": result,
        "ct_value": _one_decimal(np.nan_to_num(ct), ~np.isnan(ct)),
    }
    return pa.table({name: columns[name] for name in LAB_RESULT_COLUMNS})


# --- bad rows -----------------------------------------------------------------------------------------


def _bad_rows(
    rng: np.random.Generator, city: SynthCity, queue: _Queue, labs: _Labs, members: pa.Table
) -> tuple[dict[str, pa.Table], dict[str, dict[str, object]]]:
    """The BAD_CASES: extra and withheld ``pool_members`` rows and an orphan result, each described.

    The cases use five different tubes with a negative result, so that none hides another: a partly
    filled tube gains a member of another tube, a full tube gains residents who were not sampled (as
    many as it takes to hold pool_size + 1), and one tube's rows are withheld from pool_members.csv.
    """
    ids = city.people.id_number
    negative = np.flatnonzero(~labs.positive & ~labs.invalid)
    taken: list[int] = []

    def pick_tube(preferred: np.ndarray) -> int:
        for candidates in (preferred, negative):
            free = np.setdiff1d(candidates, taken)
            if free.size:
                taken.append(int(free[rng.integers(free.size)]))
                return taken[-1]
        raise ValueError("bad rows need at least five tubes with a negative result")

    second = pick_tube(negative[queue.tube_size[negative] < queue.pool_size])
    overfilled = pick_tube(negative[queue.tube_size[negative] == queue.pool_size])
    twice, first, late = pick_tube(negative), pick_tube(negative), pick_tube(negative)

    def entries(tube: int) -> np.ndarray:
        return queue.tube_first[tube] + np.arange(queue.tube_size[tube])

    def pool_id(tube: int) -> str:
        return queue.pool_ids[tube].as_py()

    def appended(tube: int, people: np.ndarray) -> pa.Table:
        """Rows putting ``people`` after the last member of ``tube``, swabbed at the same time."""
        n = people.size
        return pa.table(
            {
                "pool_id": pa.array([pool_id(tube)] * n, pa.string()),
                "id_number": ids.take(pa.array(people)),
                "position": queue.tube_size[tube] + 1 + np.arange(n),
                "sampled_at": _times(np.repeat(queue.tube_sampled_at[tube], n)),
                "site_code": pa.array([queue.sites.codes[queue.tube_site[tube]].as_py()] * n, pa.string()),
            }
        )

    twice_rows = members.take(pa.array(entries(twice)))
    moved = int(queue.person[entries(first)[rng.integers(queue.tube_size[first])]])
    unsampled = np.flatnonzero(~queue.sampled)
    extra = queue.pool_size + 1 - int(queue.tube_size[overfilled])
    if unsampled.size < extra:
        raise ValueError("bad rows need residents who were not sampled (coverage below 1)")
    joiners = np.sort(rng.choice(unsampled, size=extra, replace=False))
    late_entries = entries(late)
    keep = np.ones(queue.count, dtype=bool)
    keep[late_entries] = False

    orphan_id = queue.pool_ids[queue.tubes].as_py()  # the spare id: no tube has it
    orphan_sampled = queue.opens + np.timedelta64(int(rng.integers((CLOSES_HOUR - OPENS_HOUR) * _HOUR)), "s")
    orphan_reported = orphan_sampled + np.timedelta64(int(rng.integers(3 * _HOUR, 10 * _HOUR)), "s")
    orphan = _lab_results(
        sample_id=pa.array([orphan_id]),
        pool_id=pa.array([orphan_id]),
        id_number=pa.nulls(1, pa.string()),
        sampled_at=np.array([orphan_sampled]),
        reported_at=np.array([orphan_reported]),
        lab_code=pa.array([labs.codes[int(rng.integers(len(labs.codes)))]]),
        result=pa.array([POSITIVE]),
        ct=np.round(rng.uniform(*CT_RANGE, 1), 1),
    )
    tables = {
        POOL_MEMBERS: members.filter(pa.array(keep)),
        POOL_MEMBERS_BAD: pa.concat_tables(
            [twice_rows, twice_rows, appended(second, np.array([moved])), appended(overfilled, joiners)]
        ),
        POOL_MEMBERS_LATE: members.take(pa.array(late_entries)),
        LAB_RESULTS_BAD: orphan,
    }
    truth: dict[str, dict[str, object]] = {
        "tube_scanned_twice": {
            "pool_id": pool_id(twice),
            "id_numbers": twice_rows.column("id_number").to_pylist(),
            "note": f"its rows are in {POOL_MEMBERS}.csv once and twice more, unchanged, in {POOL_MEMBERS_BAD}.csv",
        },
        "person_in_two_tubes": {
            "id_number": ids[moved].as_py(),
            "pool_ids": [pool_id(first), pool_id(second)],
            "second_position": int(queue.tube_size[second]) + 1,
            "note": f"in the first tube in {POOL_MEMBERS}.csv; {POOL_MEMBERS_BAD}.csv puts them in the second too",
        },
        "overfilled_tube": {
            "pool_id": pool_id(overfilled),
            "members": queue.pool_size + 1,
            "added_id_numbers": ids.take(pa.array(joiners)).to_pylist(),
            "note": f"{POOL_MEMBERS_BAD}.csv adds residents who were not sampled after the tube's last member",
        },
        "result_without_members": {
            "pool_id": orphan_id,
            "sample_id": orphan_id,
            "result": POSITIVE,
            "note": f"a result in {LAB_RESULTS_BAD}.csv for a tube that no members file names",
        },
        "result_before_members": {
            "pool_id": pool_id(late),
            "id_numbers": ids.take(pa.array(queue.person[late_entries])).to_pylist(),
            "result": NEGATIVE,
            "note": f"its result is in {POOL_RESULTS}.csv; its rows are not in {POOL_MEMBERS}.csv but in "
            f"{POOL_MEMBERS_LATE}.csv",
        },
    }
    return tables, truth
