"""Agency feeds drawn from a synthetic city, with the truth behind every row.

The four person feeds of contracts.md — ``clinic_visits``, ``case_reports``, ``lab_results`` and
``travel`` — carry the contract columns plus the optional person columns (name, sex, birth_date, phone,
address) that let Linli link a row to a person when its identity number is missing or wrong. Two
generators make them from a :class:`~synth.city.SynthCity`:

``noisy_feeds(city, rows, seed)``
    A *linkage evaluation set*: ``rows`` rows about residents (~97 %) and people in no register of the
    city (``OUTSIDER_SHARE``, ~3 %: valid identity numbers from counties no resident comes from, new
    names and phones), with the identity columns damaged the way hand-typed agency data is. Every kind
    of damage is drawn independently at the rate in ``LINKAGE_NOISE``.

``feed_day(city, date, seed)``
    One realistic day of the four feeds for the whole city at the rates of ``DAY_RATES`` (per 10,000
    residents), with mild noise (``DAY_NOISE``) and a few deliberately hard cases (``HARD_CASES``).

Both return ``{kind: pa.Table}`` for the four kinds plus ``feed_truth`` (kind, key, true_id_number,
noise): for every row its key, the identity number of the resident it is really about (empty for
people in no register) and the ``;``-separated codes of the damage applied (``NOISE_CODES``).
``write_feeds`` writes them like the city files; ``merge_feeds`` puts both sets in one set of files.

Vectorised: identity numbers and phones are edited as (rows × digits) byte matrices, names as
(rows × 3) code-point matrices, and columns are put together with pyarrow; nothing loops over rows.
Deterministic for (city, rows or date, seed); the streams do not touch the city's own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from people.identity import check_characters_array
from synth import tables
from synth.arrays import (
    ascii_digits,
    decimal_strings,
    fixed_width_strings,
    group_starts,
    join,
    pick,
    rank_of_sorted_keys,
    sample_pmf,
    zero_padded,
)
from synth.city import SynthCity
from synth.population import (
    _PHONE_PREFIXES,
    _PHONE_WEIGHTS,
    MIGRANT,
    _birth_dates,
    _id_numbers,
    _ymd,
)
from synth.venues import GATE
from synth.venues import KINDS as VENUE_KINDS
from synth.writer import write_tables

# --- the files ------------------------------------------------------------------------------------

FEED_KINDS = ("clinic_visits", "case_reports", "lab_results", "travel")
TRUTH = "feed_truth"
KEY_COLUMNS = {
    "clinic_visits": "visit_id",
    "case_reports": "case_id",
    "lab_results": "sample_id",
    "travel": "record_id",
}
# contracts.md, in its order; then the optional person columns every person feed accepts.
CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "clinic_visits": ("visit_id", "id_number", "hospital_code", "visited_at", "temperature", "category", "onset_date"),
    "case_reports": (
        "case_id",
        "id_number",
        "classification",
        "onset_date",
        "sampled_at",
        "diagnosed_at",
        "severity",
        "hospital_code",
    ),
    "lab_results": (
        "sample_id",
        "pool_id",
        "id_number",
        "sampled_at",
        "reported_at",
        "lab_code",
        "method",
        "result",
        "ct_value",
    ),
    "travel": ("record_id", "id_number", "arrived_at", "origin_area_code", "origin_area_name", "mode"),
}
PERSON_COLUMNS = ("name", "sex", "birth_date", "phone", "address")
FEED_COLUMNS = {kind: (*CONTRACT_COLUMNS[kind], *PERSON_COLUMNS) for kind in FEED_KINDS}
TRUTH_COLUMNS = ("kind", "key", "true_id_number", "noise")
_DATE_COLUMNS = frozenset({"onset_date", "birth_date"})  # date32, written YYYY-MM-DD; the rest are strings

FEED_DATE = dt.date(2020, 2, 5)  # default day: Wuhan's first shelter hospitals opened that night
UTC_OFFSET = "+08:00"  # Asia/Shanghai; every time is written with it

CATEGORIES = ("fever", "suspected", "confirmed", "other")
CLASSIFICATIONS = ("confirmed", "asymptomatic", "suspected", "excluded", "recovered", "died")
SEVERITIES = ("mild", "moderate", "severe", "critical")
RESULTS = ("positive", "negative", "invalid")
METHODS = ("pcr", "antigen")
MODES = ("train", "car", "bus", "plane")
FEVER_THRESHOLD = 37.3  # °C, Wuhan notice of 20 Feb 2020 (domain.md §3)

# --- the noise ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonNoise:
    """How the person columns of a feed row are damaged; every draw independent of the others.

    ``id_number`` and ``phone`` hold mutually exclusive kinds of damage with their share of rows (the
    rest stay exact); phone damage applies to rows whose person has a phone. Birth-date errors are
    shares of the rows that give a birth date, abbreviations of the rows that give an address.
    """

    id_number: Mapping[str, float]
    id_typo_valid: float  # of id_typo rows: address or sequence digit, check recomputed: the number passes
    name_homophone: float
    name_drop: float  # a given-name character left out (three-character names)
    name_swap: float  # the two given-name characters swapped (three-character names)
    phone: Mapping[str, float]
    birth_date_given: float
    birth_date_swap: float  # day and month swapped (only where both are ≤ 12 and differ)
    birth_date_off: float  # one day early or late
    sex_given: float
    sex_chinese: float  # of rows giving sex: 男/女 instead of M/F
    address_given: float
    address_abbreviated: float  # 花桥3-2-502 instead of 花桥小区3栋2单元502

    @property
    def id_exact(self) -> float:
        return 1.0 - sum(self.id_number.values())


# The linkage evaluation set (noisy_feeds). Exact identity numbers: 60 %.
LINKAGE_NOISE = PersonNoise(
    id_number={
        "id_empty": 0.15,
        "id_typo": 0.10,  # one character mistyped: fails the check, except the id_typo_valid tenth
        "id_transposed": 0.08,  # two adjacent characters swapped: always fails the check (MOD 11-2)
        "id_garbage": 0.02,  # last 4 digits, first 17, a 15-digit old-style number or 不详/无/未知
        "id_format": 0.05,  # exact but with a lower-case x (when the check is X) or spaces 6-8-4
    },
    id_typo_valid=0.10,
    name_homophone=0.08,
    name_drop=0.01,
    name_swap=0.01,
    phone={"phone_empty": 0.10, "phone_changed": 0.08, "phone_typo": 0.03},
    birth_date_given=0.70,
    birth_date_swap=0.01,
    birth_date_off=0.01,
    sex_given=0.70,
    sex_chinese=0.30,
    address_given=0.60,
    address_abbreviated=0.25,
)
OUTSIDER_SHARE = 0.03  # rows about people in no register of the city
OUTSIDER_REPEAT = 1.25  # rows per outsider: some appear in several feeds, like residents do
KIND_SHARES = {"clinic_visits": 0.35, "case_reports": 0.10, "lab_results": 0.40, "travel": 0.15}
LINKAGE_DAYS = 14  # linkage rows are spread over the 14 days up to the feed date
GARBAGE_VARIANTS = (0.50, 0.20, 0.15, 0.15)  # last 4, first 17, 15-digit old style, placeholder text
_PLACEHOLDERS = ("不详", "无", "未知")
_TYPO_VALID_POSITIONS = np.array([0, 1, 2, 3, 4, 5, 14, 15, 16])  # address code and sequence number

# One day of feeds (feed_day): mostly exact; ~5 % without identity number (then always with name +
# phone or name + birth date), ~1 % homophone names.
DAY_NOISE = PersonNoise(
    id_number={"id_empty": 0.05},
    id_typo_valid=0.0,
    name_homophone=0.01,
    name_drop=0.0,
    name_swap=0.0,
    phone={"phone_empty": 0.15},
    birth_date_given=0.50,
    birth_date_swap=0.0,
    birth_date_off=0.0,
    sex_given=0.90,
    sex_chinese=0.50,
    address_given=0.60,
    address_abbreviated=0.20,
)
_CLEAN = dataclasses.replace(DAY_NOISE, id_number={}, name_homophone=0.0, phone={})  # the hard cases

# Events per 10,000 residents on the day (Wuhan, early February 2020, order of magnitude).
DAY_RATES = {"fever_visits": 15.0, "confirmed": 2.0, "asymptomatic": 0.5, "suspected": 3.0, "arrivals": 20.0}
DAY_FEVER_SHARE = 0.80  # fever-clinic visits at or above FEVER_THRESHOLD
DAY_VISITS_TESTED = 0.50  # fever-clinic visitors (not made suspected) sampled for PCR at the visit
DAY_INVALID_SHARE = 0.04  # of negative-expected PCR results: invalid instead
SEVERITY_SHARES = (0.70, 0.18, 0.09, 0.03)  # mild, moderate, severe, critical
MODE_SHARES = (0.45, 0.30, 0.15, 0.10)  # train, car, bus, plane
HOME_ORIGIN_SHARE = 0.60  # migrants and outsiders arriving from the county of their identity number

# The deliberately hard cases of the day feed; each row of one carries its code in feed_truth.noise.
HARD_CASES = (
    "hard_confirmed_excluded",  # confirmed by a hospital, excluded by the CDC later that day: 2 case_ids
    "hard_duplicate_visit",  # one visit sent by two systems: 2 visit_ids, same person, hospital and time
    "hard_outsider",  # a person in no register (out-of-town identity number): a visit + lab, a travel row
    "hard_lab_before_case",  # a positive lab reported in the morning, its case report late in the evening
)

NOISE_CODES = (
    "outsider",
    *LINKAGE_NOISE.id_number,
    "id_typo_valid",
    "name_homophone",
    "name_drop",
    "name_swap",
    *LINKAGE_NOISE.phone,
    "birth_date_swap",
    "birth_date_off",
    *HARD_CASES,
)
_BIT = {code: np.uint32(1 << i) for i, code in enumerate(NOISE_CODES)}

# Hour-of-day weights (0–23).
_CLINIC_HOURS = np.array(
    [1, 0.7, 0.5, 0.4, 0.4, 0.5, 1, 2, 4, 5, 5, 4.5, 3.5, 3.5, 4, 4.5, 4.5, 4, 3.5, 3.5, 3, 2.5, 2, 1.5]
)
_OFFICE_HOURS = np.array([0.2] * 8 + [2, 3, 3, 3, 2, 2, 3, 3, 3, 3, 2, 1.5, 1, 0.8, 0.5, 0.3])
_LAB_HOURS = np.array([0.3] * 7 + [2, 3, 3, 3, 2, 2, 3, 3, 2, 2, 1.5, 1, 0.8, 0.6, 0.5, 0.4, 0.3])
_TRAVEL_HOURS = np.array([0.1] * 6 + [1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2.5, 2, 1.5, 1, 0.5])
_HOUR = np.timedelta64(3600, "s")
_DAY = np.timedelta64(86400, "s")


def _homophone_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted code points of every homophone character, its group and place in it, the groups."""
    groups = [chars for chars in tables.HOMOPHONES.values() if len(chars) >= 2]
    members = np.zeros((len(groups), max(len(g) for g in groups)), dtype=np.int32)
    keys, group, place = [], [], []
    for g, chars in enumerate(groups):
        for i, char in enumerate(chars):
            members[g, i] = ord(char)
            keys.append(ord(char))
            group.append(g)
            place.append(i)
    order = np.argsort(keys)
    keys_sorted = np.array(keys, dtype=np.int32)[order]
    if np.any(keys_sorted[1:] == keys_sorted[:-1]):
        raise ValueError("a character is in two homophone groups")
    if keys_sorted.min() < 0x800 or keys_sorted.max() > 0xFFFF:
        raise ValueError("homophones must be 3-byte UTF-8 characters")
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    return keys_sorted, np.array(group)[order], np.array(place)[order], members, sizes


_HOMO_KEYS, _HOMO_GROUP, _HOMO_PLACE, _HOMO_MEMBERS, _HOMO_SIZES = _homophone_arrays()
_COUNTY_CODES = tuple(tables.COUNTY_NAMES)
_COUNTY_INDEX = {code: i for i, code in enumerate(_COUNTY_CODES)}
_COUNTY_INTS = np.array([int(c) for c in _COUNTY_CODES], dtype=np.int64)
# Travel origins: the migrants' counties and the outsiders', by the same weights as the identities.
_TRAVEL_ORIGINS = np.array(
    [_COUNTY_INDEX[c] for c, _ in (*tables.ORIGIN_COUNTIES, *tables.OUTSIDER_COUNTIES)], dtype=np.int64
)
_TRAVEL_WEIGHTS = np.array([w for _, w in (*tables.ORIGIN_COUNTIES, *tables.OUTSIDER_COUNTIES)])


# --- public API -----------------------------------------------------------------------------------


def noisy_feeds(city: SynthCity, rows: int, seed: int, date: dt.date = FEED_DATE) -> dict[str, pa.Table]:
    """A linkage evaluation set of ``rows`` feed rows over the 14 days up to ``date``, with its truth.

    Rows are split across the four kinds by ``KIND_SHARES``; each is about a resident drawn at random
    (the same person may appear several times) or, for ``OUTSIDER_SHARE`` of rows, about someone in no
    register. The person columns are damaged as ``LINKAGE_NOISE`` says.
    """
    if rows < 0:
        raise ValueError("rows must not be negative")
    people_rng, event_rng, noise_rng = _streams(seed, 1, date.toordinal())
    n_outsiders = max(1, round(rows * OUTSIDER_SHARE / OUTSIDER_REPEAT)) if rows else 0
    pool = _build_pool(people_rng, city, n_outsiders)
    r = pool.residents
    person = people_rng.integers(0, r, rows)
    outsider = people_rng.random(rows) < OUTSIDER_SHARE
    person[outsider] = r + people_rng.integers(0, max(n_outsiders, 1), int(outsider.sum()))

    counts = _allocate_kinds(rows)
    day0 = np.datetime64(date, "s")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    segments = []
    for i, kind in enumerate(FEED_KINDS):
        idx = person[bounds[i] : bounds[i + 1]]
        body, when = _LINKAGE_BODIES[kind](event_rng, city, pool, idx, day0)
        segments.append(_Segment(kind, idx, body, when, f"LK-{_KIND_TAG[kind]}-", LINKAGE_NOISE))
    return _assemble(noise_rng, city, pool, segments)


def feed_day(city: SynthCity, date: dt.date = FEED_DATE, seed: int = 2020) -> dict[str, pa.Table]:
    """One day of the four feeds for the whole city, with mild noise, the hard cases and the truth.

    Fever-clinic visits at hospital venues, case reports (confirmed, asymptomatic, suspected), PCR
    results for the cases and for tested visitors, and arrivals from outside Wuhan, at ``DAY_RATES``
    per 10,000 residents (Poisson counts). See ``HARD_CASES`` for the rows the importer must handle on
    purpose.
    """
    people_rng, event_rng, noise_rng = _streams(seed, 2, date.toordinal())
    pool = _build_pool(people_rng, city, 2)
    people = city.people
    r = pool.residents
    expected = {name: rate * r / 10_000 for name, rate in DAY_RATES.items()}
    n = {name: int(people_rng.poisson(lam)) for name, lam in expected.items()}

    taken = np.zeros(r, dtype=bool)
    case_w = _age_weights(people.age, (15, 40, 60), (0.15, 0.6, 1.0, 1.6))
    hard = np.resize(_sample_people(people_rng, case_w, 3, taken), 3)  # repeats only in a city of 1–2
    visitors = _sample_people(people_rng, _age_weights(people.age, (15, 60), (0.6, 1.0, 1.3)), n["fever_visits"], taken)
    confirmed = _sample_people(people_rng, case_w, n["confirmed"], taken)
    asymptomatic = _sample_people(
        people_rng, _age_weights(people.age, (15, 60), (0.5, 1.0, 0.8)), n["asymptomatic"], taken
    )
    arrival_w = _age_weights(people.age, (18, 60), (0.25, 1.0, 0.25)) * np.where(
        people.residence_type == MIGRANT, 2.5, 1.0
    )
    arrivals = _sample_people(people_rng, arrival_w, n["arrivals"], taken)

    day = _Day(event_rng, city, pool, date)
    segments: list[_Segment] = []
    visit = day.visits(visitors)
    segments.append(day.segment("clinic_visits", visitors, visit.body(day), visit.at, "MZ"))

    # Suspected cases: first the visitors the clinic marked suspected, then people seen elsewhere.
    marked = np.flatnonzero(visit.category == CATEGORIES.index("suspected"))[: n["suspected"]]
    fresh = _sample_people(people_rng, case_w, n["suspected"] - marked.size, taken)
    suspected = day.suspected(visitors[marked], visit.take(marked), fresh)
    segments.append(day.segment("case_reports", suspected.person, suspected.body, suspected.diagnosed, "BG"))
    tested = np.ones(visitors.size, dtype=bool)
    tested[marked] = False
    tested &= event_rng.random(visitors.size) < DAY_VISITS_TESTED
    tested_at = visit.at[tested] + day.hours(0.3, 2.0, int(tested.sum()))
    for who, sampled in ((suspected.person, suspected.sampled), (visitors[tested], tested_at)):
        segments.extend(day.negative_labs(who, sampled))

    for who, kind in ((confirmed, "confirmed"), (asymptomatic, "asymptomatic")):
        cases = day.positive_cases(who, kind)
        segments.append(day.segment("case_reports", who, cases.body, cases.diagnosed, "BG"))
        segments.append(day.segment("lab_results", who, cases.lab_body, cases.reported, "HS"))

    arrived = day.arrival_times(arrivals.size)
    travel = _travel_body(event_rng, pool, arrivals, arrived)
    segments.append(day.segment("travel", arrivals, travel, arrived, "XC"))
    segments.extend(day.hard_cases(hard, outsiders=np.array([r, r + 1])))
    return _assemble(noise_rng, city, pool, segments)


def merge_feeds(*feeds: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    """Put several feed sets (e.g. a linkage set and a day) into one, kind by kind; keys stay distinct."""
    out: dict[str, pa.Table] = {}
    for name in (*FEED_KINDS, TRUTH):
        parts = [feed[name] for feed in feeds if name in feed]
        if parts:
            out[name] = pa.concat_tables(parts)
    return out


def write_feeds(feeds: Mapping[str, pa.Table], out_dir: Path | str) -> dict[str, Path]:
    """Write ``<kind>.csv`` for the four feeds and ``feed_truth.csv`` into ``out_dir``."""
    return write_tables(feeds, out_dir)


# --- people ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pool:
    """Everyone a row can be about: the residents (by position), then ``outsiders`` in no register."""

    residents: int
    id_number: pa.Array
    name: pa.Array
    male: np.ndarray
    birth_date: np.ndarray
    phone: np.ndarray  # int64, -1 for none
    known_phones: np.ndarray  # sorted: every phone in the pool, which new numbers must avoid
    district: np.ndarray  # residents: their district; outsiders: a district they turn up in
    home_county: np.ndarray  # index into _COUNTY_CODES for migrants and outsiders, -1 for the rest
    outsider_county: np.ndarray  # per outsider: index into _COUNTY_CODES


def _build_pool(rng: np.random.Generator, city: SynthCity, n_outsiders: int) -> _Pool:
    """The residents plus ``n_outsiders`` new people from counties no resident's number comes from."""
    people = city.people
    m = n_outsiders
    codes = np.array([int(c) for c, _ in tables.OUTSIDER_COUNTIES], dtype=np.int64)
    county = sample_pmf(rng, np.array([w for _, w in tables.OUTSIDER_COUNTIES]), m)
    age = sample_pmf(rng, np.array([0.4] * 18 + [1.0] * 42 + [0.6] * 31), m)  # 0–90, mostly adults
    born, _ = _birth_dates(rng, age)
    male = rng.random(m) < 0.52
    ids = _id_numbers(rng, codes[county], born, male)
    names = _fresh_names(rng, male, _ymd(born)[0])

    resident_phones = _phone_ints(people.phone)
    known = np.sort(resident_phones[resident_phones >= 0])
    phones = _new_phones(rng, m, known)
    home = np.full(people.count, -1, dtype=np.int64)
    migrant = people.residence_type == MIGRANT
    home_code = people.address_code[migrant].astype(np.int64)
    order = np.argsort(_COUNTY_INTS)
    county_of = order[np.minimum(np.searchsorted(_COUNTY_INTS[order], home_code), order.size - 1)]
    home[migrant] = np.where(_COUNTY_INTS[county_of] == home_code, county_of, -1)
    outsider_county = np.array([_COUNTY_INDEX[c] for c, _ in tables.OUTSIDER_COUNTIES], dtype=np.int64)[county]
    return _Pool(
        residents=people.count,
        id_number=pa.concat_arrays([people.id_number, ids]),
        name=pa.concat_arrays([people.name, names]),
        male=np.concatenate([people.male, male]),
        birth_date=np.concatenate([people.birth_date, born]),
        phone=np.concatenate([resident_phones, phones]),
        known_phones=np.sort(np.concatenate([known, phones])),
        district=np.concatenate([people.district.astype(np.int64), rng.integers(0, len(tables.DISTRICTS), m)]),
        home_county=np.concatenate([home, outsider_county]),
        outsider_county=outsider_county,
    )


def _fresh_names(rng: np.random.Generator, male: np.ndarray, birth_year: np.ndarray) -> pa.Array:
    """Names drawn like the residents' (synth.population), for people outside the city."""
    n = male.size
    surname = sample_pmf(rng, np.array([w for _, w in tables.SURNAMES]), n)
    sets = (tables.GIVEN_MALE_OLDER, tables.GIVEN_FEMALE_OLDER, tables.GIVEN_MALE_YOUNG, tables.GIVEN_FEMALE_YOUNG)
    chars = [c for s in sets for c in s] + [""]
    sizes = np.array([len(s) for s in sets])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lead = np.array([0, 0, tables.YOUNG_LEAD, tables.YOUNG_LEAD])
    which = (birth_year >= tables.YOUNG_NAME_FROM_YEAR) * 2 + ~male
    first = starts[which] + np.floor(rng.random(n) * sizes[which]).astype(np.int64)
    last = starts[which] + lead[which] + np.floor(rng.random(n) * (sizes[which] - lead[which])).astype(np.int64)
    first = np.where(rng.random(n) < 0.25, len(chars) - 1, first)
    return join(pick([s for s, _ in tables.SURNAMES], surname), pick(chars, first), pick(chars, last))


def _draw_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = _PHONE_PREFIXES[sample_pmf(rng, _PHONE_WEIGHTS, n)]
    return prefix * 10**8 + rng.integers(0, 10**8, n)


def _new_phones(rng: np.random.Generator, n: int, avoid: np.ndarray) -> np.ndarray:
    """``n`` distinct mobile numbers, none of them in the sorted array ``avoid``."""
    numbers = _draw_phones(rng, n)
    for _ in range(100):  # a collision is rare; each pass redraws only the colliding few
        bad = _member(numbers, avoid)
        _, first = np.unique(numbers, return_index=True)
        repeated = np.ones(n, dtype=bool)
        repeated[first] = False
        bad |= repeated
        if not bad.any():
            return numbers
        numbers[bad] = _draw_phones(rng, int(bad.sum()))
    raise RuntimeError("could not draw distinct phone numbers")


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if sorted_set.size == 0:
        return np.zeros(values.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return sorted_set[at] == values


def _phone_ints(phones: pa.Array) -> np.ndarray:
    """11-digit phone strings as int64, -1 for a missing phone."""
    valid = ~np.asarray(phones.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    digits = _ascii_matrix(pc.fill_null(phones, "0" * 11), 11).astype(np.int64) - ord("0")
    values = digits @ (10 ** np.arange(10, -1, -1, dtype=np.int64))
    return np.where(valid, values, -1)


def _age_weights(age: np.ndarray, bounds: tuple[int, ...], weights: tuple[float, ...]) -> np.ndarray:
    return np.asarray(weights, dtype=np.float64)[np.searchsorted(np.asarray(bounds), age, side="right")]


def _sample_people(rng: np.random.Generator, weights: np.ndarray, k: int, taken: np.ndarray) -> np.ndarray:
    """``k`` residents by weight, none already ``taken`` (then marked taken); repeats only if too few."""
    k = max(0, min(k, weights.size))
    keys = rng.exponential(size=weights.size) / weights  # Efraimidis–Spirakis: the k smallest keys
    if int((~taken).sum()) >= k:
        keys[taken] = np.inf
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    chosen = np.argpartition(keys, k - 1)[:k]
    chosen = chosen[np.argsort(keys[chosen], kind="stable")]
    taken[chosen] = True
    return chosen.astype(np.int64)


# --- person columns with noise --------------------------------------------------------------------


def _person_columns(
    rng: np.random.Generator, city: SynthCity, pool: _Pool, idx: np.ndarray, noise: PersonNoise
) -> tuple[dict[str, pa.Array], pa.Array, np.ndarray]:
    """id_number and the person columns for the rows about ``idx``; the true numbers; the noise bits."""
    n = idx.size
    outsider = idx >= pool.residents
    take = pa.array(idx)
    true_ids = pool.id_number.take(take)
    id_number, codes = _noisy_ids(rng, true_ids, noise)
    codes[outsider] |= _BIT["outsider"]
    name, name_codes = _noisy_names(rng, pool.name.take(take), noise)
    phone_values, phone_shown, phone_codes = _noisy_phones(rng, pool.phone[idx], pool.known_phones, noise)
    born, born_given, born_codes = _noisy_birth_dates(rng, pool.birth_date[idx], noise)
    codes |= name_codes | phone_codes | born_codes
    # contracts.md: without an identity number a row needs name + phone or name + birth date.
    born_given |= ((codes & _BIT["id_empty"]) != 0) & ~phone_shown

    sex_given = rng.random(n) < noise.sex_given
    chinese = rng.random(n) < noise.sex_chinese
    sex = pick(("F", "M", "女", "男"), pool.male[idx].astype(np.int64) + 2 * chinese)
    columns = {
        "id_number": id_number,
        "name": name,
        "sex": _masked(sex, sex_given),
        "birth_date": _dates(born, born_given),
        "phone": fixed_width_strings(ascii_digits(np.where(phone_shown, phone_values, 0), 11), valid=phone_shown),
        "address": _addresses(rng, city, pool, idx, noise),
    }
    truth = _masked(true_ids, ~outsider)
    return columns, truth, codes


def _noisy_ids(rng: np.random.Generator, true_ids: pa.Array, noise: PersonNoise) -> tuple[pa.Array, np.ndarray]:
    n = len(true_ids)
    names = list(noise.id_number)
    category = sample_pmf(rng, np.array([noise.id_exact, *noise.id_number.values()]), n) if n else np.zeros(0, int)
    codes = np.zeros(n, dtype=np.uint32)
    for i, code in enumerate(names):
        codes[category == i + 1] |= _BIT[code]

    def rows(code: str) -> np.ndarray:
        return np.flatnonzero(category == names.index(code) + 1) if code in names else np.zeros(0, dtype=np.int64)

    chars = _ascii_matrix(true_ids, 18)
    typo = rows("id_typo")
    keep_check = rng.random(typo.size) < noise.id_typo_valid
    # A re-checked typo stays out of the birth date, so the number passes every check (a wrong person).
    pos = np.where(keep_check, _TYPO_VALID_POSITIONS[rng.integers(0, 9, typo.size)], rng.integers(0, 18, typo.size))
    old = chars[typo, pos].astype(np.int64)
    digit = np.where(old == ord("X"), rng.integers(0, 10, typo.size), (old - 48 + rng.integers(1, 10, typo.size)) % 10)
    chars[typo, pos] = digit + 48
    recheck = typo[keep_check]
    chars[recheck, 17] = check_characters_array(chars[recheck, :17].astype(np.int64) - 48)
    codes[recheck] |= _BIT["id_typo_valid"]

    swap = rows("id_transposed")
    sub = chars[swap]
    differs = sub[:, :-1] != sub[:, 1:]
    at = np.argmax(rng.random(differs.shape) * differs, axis=1)
    line = np.arange(swap.size)
    left = sub[line, at].copy()
    sub[line, at] = sub[line, at + 1]
    sub[line, at + 1] = left
    chars[swap] = sub

    formatted = rows("id_format")
    lower = chars[formatted, 17] == ord("X")
    chars[formatted[lower], 17] = ord("x")
    spaced = formatted[~lower]
    spaced_chars = np.full((spaced.size, 20), ord(" "), dtype=np.uint8)
    spaced_chars[:, 0:6] = chars[spaced, 0:6]
    spaced_chars[:, 7:15] = chars[spaced, 6:14]
    spaced_chars[:, 16:20] = chars[spaced, 14:18]

    garbage = rows("id_garbage")
    variant = sample_pmf(rng, np.array(GARBAGE_VARIANTS), garbage.size)
    g = [garbage[variant == v] for v in range(len(GARBAGE_VARIANTS))]
    legacy = np.concatenate([chars[g[2], 0:6], chars[g[2], 8:14], chars[g[2], 14:17]], axis=1)
    empty = rows("id_empty")

    plain = np.ones(n, dtype=bool)
    for part in (spaced, garbage, empty):
        plain[part] = False
    plain_rows = np.flatnonzero(plain)
    parts = [
        (plain_rows, fixed_width_strings(chars[plain_rows])),
        (spaced, fixed_width_strings(spaced_chars)),
        (g[0], fixed_width_strings(chars[g[0], 14:18])),
        (g[1], fixed_width_strings(chars[g[1], :17])),
        (g[2], fixed_width_strings(legacy.reshape(-1, 15))),
        (g[3], pick(_PLACEHOLDERS, rng.integers(0, len(_PLACEHOLDERS), g[3].size))),
        (empty, pa.nulls(empty.size, pa.string())),
    ]
    return _scatter(n, parts), codes


def _noisy_names(rng: np.random.Generator, names: pa.Array, noise: PersonNoise) -> tuple[pa.Array, np.ndarray]:
    points = _cjk_matrix(names, 3)
    n = points.shape[0]
    codes = np.zeros(n, dtype=np.uint32)
    if noise.name_homophone > 0:
        hits = np.isin(points, _HOMO_KEYS)
        chosen = np.flatnonzero(_choose(rng, hits.any(axis=1), noise.name_homophone))
        at = np.argmax(rng.random((chosen.size, 3)) * hits[chosen], axis=1)
        key = np.searchsorted(_HOMO_KEYS, points[chosen, at])
        group = _HOMO_GROUP[key]
        size = _HOMO_SIZES[group]
        other = (_HOMO_PLACE[key] + rng.integers(1, size)) % size
        points[chosen, at] = _HOMO_MEMBERS[group, other]
        codes[chosen] |= _BIT["name_homophone"]
    either = noise.name_drop + noise.name_swap
    if either > 0:
        three = (points[:, 2] > 0) & (points[:, 1] != points[:, 2])
        chosen = np.flatnonzero(_choose(rng, three, either))
        drop = rng.random(chosen.size) < noise.name_drop / either
        dropped, swapped = chosen[drop], chosen[~drop]
        first = rng.random(dropped.size) < 0.5  # leave out the first given-name character, else the second
        points[dropped, 1] = np.where(first, points[dropped, 2], points[dropped, 1])
        points[dropped, 2] = 0
        points[swapped, 1], points[swapped, 2] = points[swapped, 2], points[swapped, 1]
        codes[dropped] |= _BIT["name_drop"]
        codes[swapped] |= _BIT["name_swap"]
    return _cjk_strings(points), codes


def _noisy_phones(
    rng: np.random.Generator, phones: np.ndarray, known: np.ndarray, noise: PersonNoise
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = phones.size
    has = phones >= 0
    names = list(noise.phone)
    pmf = np.array([1.0 - sum(noise.phone.values()), *noise.phone.values()])
    category = np.where(has, sample_pmf(rng, pmf, n), 0) if n else np.zeros(0, dtype=np.int64)
    codes = np.zeros(n, dtype=np.uint32)
    for i, code in enumerate(names):
        codes[category == i + 1] |= _BIT[code]
    out = phones.copy()
    shown = has.copy()
    if "phone_empty" in names:
        shown[category == names.index("phone_empty") + 1] = False
    if "phone_changed" in names:
        changed = np.flatnonzero(category == names.index("phone_changed") + 1)
        out[changed] = _new_phones(rng, changed.size, known)
    if "phone_typo" in names:
        pending = np.flatnonzero(category == names.index("phone_typo") + 1)
        for _ in range(20):  # a typo that hits someone else's number is typed again
            if pending.size == 0:
                break
            power = 10 ** (10 - rng.integers(3, 11, pending.size))  # keep the 3-digit network prefix
            digit = phones[pending] // power % 10
            out[pending] = phones[pending] + ((digit + rng.integers(1, 10, pending.size)) % 10 - digit) * power
            pending = pending[_member(out[pending], known)]
    return out, shown, codes


def _noisy_birth_dates(
    rng: np.random.Generator, born: np.ndarray, noise: PersonNoise
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = born.size
    given = rng.random(n) < noise.birth_date_given
    year, month, day = _ymd(born)
    swap = _choose(rng, given & (day <= 12) & (day != month), noise.birth_date_swap, base=given)
    off = _choose(rng, given & ~swap, noise.birth_date_off, base=given)
    out = born.copy()
    out[swap] = _make_dates(year[swap], day[swap], month[swap])
    step = np.where(rng.random(int(off.sum())) < 0.5, -1, 1)
    out[off] = out[off] + step.astype("timedelta64[D]")
    codes = np.where(swap, _BIT["birth_date_swap"], 0).astype(np.uint32)
    codes |= np.where(off, _BIT["birth_date_off"], 0).astype(np.uint32)
    return out, given, codes


def _addresses(rng: np.random.Generator, city: SynthCity, pool: _Pool, idx: np.ndarray, noise: PersonNoise) -> pa.Array:
    """``花桥小区3栋2单元502`` (or ``花桥3-2-502``) for residents, the home county for outsiders."""
    n = idx.size
    given = rng.random(n) < noise.address_given
    short = rng.random(n) < noise.address_abbreviated
    inside = np.flatnonzero(idx < pool.residents)
    outside = np.flatnonzero(idx >= pool.residents)
    people, places = city.people, city.places
    person = idx[inside]
    compound_names = places.compound_names.take(pa.array(places.building_compound))
    building_names = city.buildings.column("name").combine_chunks()
    full_prefix = join(compound_names, building_names)
    short_prefix = join(pc.utf8_slice_codeunits(compound_names, 0, 2), pc.utf8_slice_codeunits(building_names, 0, -1))
    building = pa.array(people.building[person])
    unit = decimal_strings(people.unit[person])
    room = decimal_strings(people.room[person])
    full = join(full_prefix.take(building), unit, "单元", room)
    abbreviated = join(short_prefix.take(building), "-", unit, "-", room)
    home = pick(list(tables.COUNTY_NAMES.values()), pool.outsider_county[idx[outside] - pool.residents])
    address = _scatter(n, [(inside, pc.if_else(pa.array(short[inside]), abbreviated, full)), (outside, home)])
    return _masked(address, given)


def _choose(rng: np.random.Generator, eligible: np.ndarray, rate: float, base: np.ndarray | None = None) -> np.ndarray:
    """Rows picked among the ``eligible`` so that about ``rate`` of the ``base`` rows (default: all) are."""
    n_base = eligible.size if base is None else int(base.sum())
    n_eligible = int(eligible.sum())
    if rate <= 0 or n_eligible == 0:
        return np.zeros(eligible.size, dtype=bool)
    return eligible & (rng.random(eligible.size) < min(1.0, rate * n_base / n_eligible))


# --- events ---------------------------------------------------------------------------------------


@dataclass
class _Segment:
    """Rows of one kind about ``person`` (pool indexes), numbered ``prefix`` + n in ``when`` order."""

    kind: str
    person: np.ndarray
    body: dict[str, pa.Array]
    when: np.ndarray  # datetime64[s]
    prefix: str
    noise: PersonNoise
    codes: int = 0  # noise bits every row carries (the hard cases)


_KIND_TAG = {"clinic_visits": "CV", "case_reports": "CR", "lab_results": "LR", "travel": "TR"}


def _allocate_kinds(rows: int) -> np.ndarray:
    shares = np.array([KIND_SHARES[k] for k in FEED_KINDS])
    quota = rows * shares / shares.sum()
    counts = np.floor(quota).astype(np.int64)
    counts[np.argsort(-(quota - counts), kind="stable")[: rows - int(counts.sum())]] += 1
    return counts


def _hospitals(city: SynthCity) -> np.ndarray:
    """Venue indexes of the hospitals (any non-gate venue in a city too small to have one)."""
    kind = city.venue_index.kind
    for mask in (kind == VENUE_KINDS.index("hospital"), kind != GATE, np.ones(kind.size, dtype=bool)):
        found = np.flatnonzero(mask)
        if found.size:
            return found
    raise ValueError("the city has no venues")


def _pick_hospitals(rng: np.random.Generator, city: SynthCity, district: np.ndarray) -> np.ndarray:
    """A hospital per row in the row's district where there is one, else anywhere."""
    hospitals = _hospitals(city)
    where = city.places.grid_district[city.venue_index.grid[hospitals]]
    order = np.argsort(where, kind="stable")
    counts = np.bincount(where, minlength=len(tables.DISTRICTS))
    starts = group_starts(counts)
    u = rng.random(district.size)
    local = hospitals[order][
        np.minimum(starts[district] + np.floor(u * counts[district]).astype(np.int64), order.size - 1)
    ]
    anywhere = hospitals[np.floor(u * hospitals.size).astype(np.int64)]
    return np.where(counts[district] > 0, local, anywhere)


def _venue_codes(city: SynthCity, venues: np.ndarray) -> pa.Array:
    return city.venues.column("venue_code").combine_chunks().take(pa.array(venues))


def _lab_codes(residents: int) -> tuple[str, ...]:
    return tuple(f"LAB{i:03d}" for i in range(1, min(40, 3 + residents // 250_000) + 1))


def _clock(rng: np.random.Generator, hours: np.ndarray, n: int) -> np.ndarray:
    """Times of day (timedelta64[s]) with the given hour-of-day weights."""
    return (sample_pmf(rng, hours, n) * 3600 + rng.integers(0, 3600, n)).astype("timedelta64[s]")


def _span(rng: np.random.Generator, lo_hours: float, hi_hours: float, n: int) -> np.ndarray:
    return np.rint(rng.uniform(lo_hours, hi_hours, n) * 3600).astype("timedelta64[s]")


def _temperatures(rng: np.random.Generator, fever: np.ndarray) -> np.ndarray:
    """≥ 37.3 °C (mean ~38.0, up to 41) where ``fever``, else 36.2–37.2, to one decimal."""
    n = fever.size
    high = np.minimum(FEVER_THRESHOLD + rng.gamma(2.0, 0.35, n), 41.0)
    normal = rng.uniform(36.2, 37.249, n)
    return np.round(np.where(fever, high, normal), 1)


def _origins(rng: np.random.Generator, pool: _Pool, idx: np.ndarray) -> np.ndarray:
    """Origin county per arrival: a migrant's or outsider's home county often, else anywhere."""
    home = pool.home_county[idx]
    anywhere = _TRAVEL_ORIGINS[sample_pmf(rng, _TRAVEL_WEIGHTS, idx.size)]
    return np.where((home >= 0) & (rng.random(idx.size) < HOME_ORIGIN_SHARE), home, anywhere)


def _travel_body(rng: np.random.Generator, pool: _Pool, idx: np.ndarray, arrived: np.ndarray) -> dict[str, pa.Array]:
    origin = _origins(rng, pool, idx)
    return {
        "arrived_at": _times(arrived),
        "origin_area_code": pick(_COUNTY_CODES, origin),
        "origin_area_name": pick(list(tables.COUNTY_NAMES.values()), origin),
        "mode": pick(MODES, sample_pmf(rng, np.array(MODE_SHARES), idx.size)),
    }


def _linkage_clinic(
    rng: np.random.Generator, city: SynthCity, pool: _Pool, idx: np.ndarray, day0: np.datetime64
) -> tuple[dict[str, pa.Array], np.ndarray]:
    n = idx.size
    at = _days_back(rng, day0, n) + _clock(rng, _CLINIC_HOURS, n)
    onset = at.astype("datetime64[D]") - rng.integers(1, 8, n).astype("timedelta64[D]")
    body = {
        "hospital_code": _venue_codes(city, _pick_hospitals(rng, city, pool.district[idx])),
        "visited_at": _times(at),
        "temperature": _one_decimal(_temperatures(rng, rng.random(n) < 0.7)),
        "category": pick(CATEGORIES, sample_pmf(rng, np.array([0.55, 0.15, 0.05, 0.25]), n)),
        "onset_date": _dates(onset, rng.random(n) < 0.85),
    }
    return body, at


def _linkage_cases(
    rng: np.random.Generator, city: SynthCity, pool: _Pool, idx: np.ndarray, day0: np.datetime64
) -> tuple[dict[str, pa.Array], np.ndarray]:
    n = idx.size
    kind = sample_pmf(rng, np.array([0.35, 0.08, 0.30, 0.15, 0.10, 0.02]), n)
    diagnosed = _days_back(rng, day0, n) + _clock(rng, _OFFICE_HOURS, n)
    sampled = diagnosed - _span(rng, 2, 36, n)
    onset = diagnosed.astype("datetime64[D]") - rng.integers(2, 13, n).astype("timedelta64[D]")
    has_severity = np.isin(kind, [CLASSIFICATIONS.index(c) for c in ("confirmed", "recovered", "died")])
    body = {
        "classification": pick(CLASSIFICATIONS, kind),
        "onset_date": _dates(onset, kind != CLASSIFICATIONS.index("asymptomatic")),
        "sampled_at": _times(sampled),
        "diagnosed_at": _times(diagnosed),
        "severity": _masked(pick(SEVERITIES, sample_pmf(rng, np.array(SEVERITY_SHARES), n)), has_severity),
        "hospital_code": _venue_codes(city, _pick_hospitals(rng, city, pool.district[idx])),
    }
    return body, diagnosed


def _linkage_labs(
    rng: np.random.Generator, city: SynthCity, pool: _Pool, idx: np.ndarray, day0: np.datetime64
) -> tuple[dict[str, pa.Array], np.ndarray]:
    n = idx.size
    sampled = _days_back(rng, day0, n) + _clock(rng, _LAB_HOURS, n)
    reported = sampled + _span(rng, 4, 12, n)
    result = sample_pmf(rng, np.array([0.08, 0.90, 0.02]), n)
    method = np.where(rng.random(n) < 0.9, 0, 1)
    ct = np.clip(rng.normal(28.0, 4.0, n), 15.0, 38.0)
    labs = _lab_codes(pool.residents)
    body = {
        "sampled_at": _times(sampled),
        "reported_at": _times(reported),
        "lab_code": pick(labs, rng.integers(0, len(labs), n)),
        "method": pick(METHODS, method),
        "result": pick(RESULTS, result),
        "ct_value": _one_decimal(ct, (result == 0) & (method == 0)),
    }
    return body, reported


def _linkage_travel(
    rng: np.random.Generator, city: SynthCity, pool: _Pool, idx: np.ndarray, day0: np.datetime64
) -> tuple[dict[str, pa.Array], np.ndarray]:
    n = idx.size
    arrived = _days_back(rng, day0, n) + _clock(rng, _TRAVEL_HOURS, n)
    return _travel_body(rng, pool, idx, arrived), arrived


_LINKAGE_BODIES = {
    "clinic_visits": _linkage_clinic,
    "case_reports": _linkage_cases,
    "lab_results": _linkage_labs,
    "travel": _linkage_travel,
}


def _days_back(rng: np.random.Generator, day0: np.datetime64, n: int) -> np.ndarray:
    return day0 - (rng.integers(0, LINKAGE_DAYS, n) * 86400).astype("timedelta64[s]")


@dataclass
class _Visits:
    at: np.ndarray
    hospital: np.ndarray
    temperature: np.ndarray
    category: np.ndarray
    onset: np.ndarray

    def take(self, rows: np.ndarray) -> _Visits:
        return _Visits(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))

    def body(self, day: _Day) -> dict[str, pa.Array]:
        return {
            "hospital_code": _venue_codes(day.city, self.hospital),
            "visited_at": _times(self.at),
            "temperature": _one_decimal(self.temperature),
            "category": pick(CATEGORIES, self.category),
            "onset_date": _dates(self.onset),
        }


@dataclass
class _Cases:
    person: np.ndarray
    body: dict[str, pa.Array]
    diagnosed: np.ndarray
    sampled: np.ndarray
    lab_body: dict[str, pa.Array] | None = None
    reported: np.ndarray | None = None


class _Day:
    """The events of one day, drawn from one stream; times are local (Asia/Shanghai)."""

    def __init__(self, rng: np.random.Generator, city: SynthCity, pool: _Pool, date: dt.date) -> None:
        self.rng = rng
        self.city = city
        self.pool = pool
        self.date = date
        self.day0 = np.datetime64(date, "s")
        self.last = self.day0 + _DAY - np.timedelta64(1, "s")
        self.stamp = date.strftime("%Y%m%d")
        self.labs = _lab_codes(pool.residents)

    def segment(
        self, kind: str, person: np.ndarray, body: dict, when: np.ndarray, prefix: str, codes: int = 0
    ) -> _Segment:
        return _Segment(kind, person, body, when, f"{prefix}{self.stamp}-", _CLEAN if codes else DAY_NOISE, codes)

    def hours(self, lo: float, hi: float, n: int) -> np.ndarray:
        return _span(self.rng, lo, hi, n)

    def hospitals(self, person: np.ndarray) -> np.ndarray:
        return _pick_hospitals(self.rng, self.city, self.pool.district[person])

    def visits(self, person: np.ndarray) -> _Visits:
        rng, n = self.rng, person.size
        fever = rng.random(n) < DAY_FEVER_SHARE
        # fever: fever 72 %, suspected 20 %, other 8 %; below 37.3: other 55 %, fever 35 %, suspected 10 %
        category = np.where(
            fever,
            np.array([0, 1, 3])[sample_pmf(rng, np.array([0.72, 0.20, 0.08]), n)],
            np.array([3, 0, 1])[sample_pmf(rng, np.array([0.55, 0.35, 0.10]), n)],
        )
        return _Visits(
            at=self.day0 + _clock(rng, _CLINIC_HOURS, n),
            hospital=self.hospitals(person),
            temperature=_temperatures(rng, fever),
            category=category,
            onset=np.datetime64(self.date, "D") - rng.integers(1, 8, n).astype("timedelta64[D]"),
        )

    def suspected(self, seen: np.ndarray, visit: _Visits, fresh: np.ndarray) -> _Cases:
        """Suspected cases: those marked at today's visit, then others diagnosed elsewhere today."""
        rng, k, m = self.rng, seen.size, fresh.size
        diagnosed = np.concatenate(
            [np.minimum(visit.at + self.hours(1, 4, k), self.last), self.day0 + _clock(rng, _OFFICE_HOURS, m)]
        )
        sampled = np.concatenate([visit.at + self.hours(0.3, 1.5, k), diagnosed[k:] - self.hours(0.5, 3, m)])
        sampled = np.minimum(sampled, diagnosed)
        onset = np.concatenate(
            [visit.onset, np.datetime64(self.date, "D") - rng.integers(1, 8, m).astype("timedelta64[D]")]
        )
        person = np.concatenate([seen, fresh])
        hospital = np.concatenate([visit.hospital, self.hospitals(fresh)])
        body = {
            "classification": pick(CLASSIFICATIONS, np.full(k + m, CLASSIFICATIONS.index("suspected"))),
            "onset_date": _dates(onset),
            "sampled_at": _times(sampled),
            "diagnosed_at": _times(diagnosed),
            "hospital_code": _venue_codes(self.city, hospital),
        }
        return _Cases(person, body, diagnosed, sampled)

    def negative_labs(self, person: np.ndarray, sampled: np.ndarray) -> list[_Segment]:
        """PCR results expected negative (a few invalid), for the samples whose result is out today."""
        rng, n = self.rng, person.size
        reported = sampled + self.hours(4, 12, n)
        result = np.where(rng.random(n) < DAY_INVALID_SHARE, RESULTS.index("invalid"), RESULTS.index("negative"))
        today = reported <= self.last
        body = self._lab_body(sampled[today], reported[today], result[today], np.full(int(today.sum()), np.nan))
        return [self.segment("lab_results", person[today], body, reported[today], "HS")]

    def positive_cases(self, person: np.ndarray, kind: str) -> _Cases:
        """Confirmed or asymptomatic cases diagnosed today, each with its positive PCR result."""
        rng, n = self.rng, person.size
        reported = self.day0 + self.hours(1, 18, n)
        diagnosed = np.minimum(reported + self.hours(1, 5, n), self.last)
        sampled = reported - self.hours(4, 12, n)
        symptoms = kind == "confirmed"
        onset = diagnosed.astype("datetime64[D]") - rng.integers(3, 13, n).astype("timedelta64[D]")
        severity = pick(SEVERITIES, sample_pmf(rng, np.array(SEVERITY_SHARES), n))
        ct = np.clip(rng.normal(26.0, 4.0, n), 15.0, 36.9) if symptoms else np.clip(rng.normal(31.0, 3.0, n), 20.0, 38)
        body = {
            "classification": pick(CLASSIFICATIONS, np.full(n, CLASSIFICATIONS.index(kind))),
            "onset_date": _dates(onset, np.full(n, symptoms)),
            "sampled_at": _times(sampled),
            "diagnosed_at": _times(diagnosed),
            "severity": _masked(severity, np.full(n, symptoms)),
            "hospital_code": _venue_codes(self.city, self.hospitals(person)),
        }
        lab = self._lab_body(sampled, reported, np.full(n, RESULTS.index("positive")), ct)
        return _Cases(person, body, diagnosed, sampled, lab, reported)

    def _lab_body(self, sampled: np.ndarray, reported: np.ndarray, result: np.ndarray, ct: np.ndarray) -> dict:
        n = sampled.size
        return {
            "sampled_at": _times(sampled),
            "reported_at": _times(reported),
            "lab_code": pick(self.labs, self.rng.integers(0, len(self.labs), n)),
            "method": pick(METHODS, np.zeros(n, dtype=np.int64)),
            "result": pick(RESULTS, result),
            "ct_value": _one_decimal(np.nan_to_num(ct), ~np.isnan(ct)),
        }

    def arrival_times(self, n: int) -> np.ndarray:
        return self.day0 + _clock(self.rng, _TRAVEL_HOURS, n)

    def hard_cases(self, hard: np.ndarray, outsiders: np.ndarray) -> list[_Segment]:
        """The rows of HARD_CASES; ``hard`` holds three residents used nowhere else in the day."""
        rng, day0 = self.rng, self.day0
        today = np.datetime64(self.date, "D")
        segments = []

        # (a) confirmed by a hospital in the morning, excluded by the CDC in the evening.
        code = int(_BIT["hard_confirmed_excluded"])
        a = hard[:1]
        confirmed_at = day0 + self.hours(10, 11, 1)
        cdc_sampled = day0 + self.hours(13, 13.5, 1)
        cdc_reported = day0 + self.hours(19, 19.5, 1)
        excluded_at = day0 + self.hours(20, 21, 1)
        onset = _dates(today - np.timedelta64(4, "D") + np.zeros(1, dtype="timedelta64[D]"))
        hospital = _venue_codes(self.city, self.hospitals(a))
        segments.append(
            self.segment(
                "case_reports",
                a,
                {
                    "classification": pick(CLASSIFICATIONS, np.zeros(1, dtype=np.int64)),
                    "onset_date": onset,
                    "sampled_at": _times(day0 - self.hours(9, 10, 1)),
                    "diagnosed_at": _times(confirmed_at),
                    "severity": pick(SEVERITIES, np.zeros(1, dtype=np.int64)),
                    "hospital_code": hospital,
                },
                confirmed_at,
                "BG",
                code,
            )
        )
        segments.append(
            self.segment(
                "case_reports",
                a,
                {
                    "classification": pick(CLASSIFICATIONS, np.array([CLASSIFICATIONS.index("excluded")])),
                    "onset_date": onset,
                    "sampled_at": _times(cdc_sampled),
                    "diagnosed_at": _times(excluded_at),
                },
                excluded_at,
                "CDC",
                code,
            )
        )
        lab = self._lab_body(cdc_sampled, cdc_reported, np.array([RESULTS.index("negative")]), np.full(1, np.nan))
        segments.append(self.segment("lab_results", a, lab, cdc_reported, "HS", code))

        # (b) one fever-clinic visit sent by the hospital system and by the fever-clinic reporting system.
        code = int(_BIT["hard_duplicate_visit"])
        b = hard[1:2]
        visit = self.visits(b)
        visit.at = day0 + self.hours(9, 11, 1)
        visit.temperature = np.array([38.4])
        visit.category = np.array([CATEGORIES.index("fever")])
        for prefix in ("MZ", "FR"):
            segments.append(self.segment("clinic_visits", b, visit.body(self), visit.at, prefix, code))

        # (c) people in no register: a fever-clinic visit with its PCR sample, and an arrival.
        code = int(_BIT["hard_outsider"])
        c = outsiders[:1]
        visit = self.visits(c)
        visit.temperature = np.array([38.6])
        visit.category = np.array([CATEGORIES.index("fever")])
        segments.append(self.segment("clinic_visits", c, visit.body(self), visit.at, "MZ", code))
        sampled = np.minimum(visit.at + self.hours(0.3, 1, 1), self.last - 5 * _HOUR)
        reported = sampled + self.hours(4, 5, 1)
        lab = self._lab_body(sampled, reported, np.array([RESULTS.index("negative")]), np.full(1, np.nan))
        segments.append(self.segment("lab_results", c, lab, reported, "HS", code))
        traveller = outsiders[1:2]
        arrived = self.arrival_times(1)
        body = _travel_body(rng, self.pool, traveller, arrived)
        segments.append(self.segment("travel", traveller, body, arrived, "XC", code))

        # (d) a positive PCR result reported in the morning; the case report follows late in the evening.
        code = int(_BIT["hard_lab_before_case"])
        d = hard[2:3]
        reported = day0 + self.hours(7, 8, 1)
        sampled = reported - self.hours(10, 12, 1)
        diagnosed = day0 + self.hours(21, 22, 1)
        lab = self._lab_body(sampled, reported, np.array([RESULTS.index("positive")]), np.array([24.5]))
        segments.append(self.segment("lab_results", d, lab, reported, "HS", code))
        case = {
            "classification": pick(CLASSIFICATIONS, np.zeros(1, dtype=np.int64)),
            "onset_date": _dates(today - np.timedelta64(5, "D") + np.zeros(1, dtype="timedelta64[D]")),
            "sampled_at": _times(sampled),
            "diagnosed_at": _times(diagnosed),
            "severity": pick(SEVERITIES, np.array([SEVERITIES.index("moderate")])),
            "hospital_code": _venue_codes(self.city, self.hospitals(d)),
        }
        segments.append(self.segment("case_reports", d, case, diagnosed, "BG", code))
        return segments


# --- assembly -------------------------------------------------------------------------------------


def _assemble(rng: np.random.Generator, city: SynthCity, pool: _Pool, segments: list[_Segment]) -> dict[str, pa.Table]:
    """Person columns for every segment, rows in time order, keys numbered per prefix, the truth."""
    out: dict[str, pa.Table] = {}
    truth: list[pa.Table] = []
    for kind in FEED_KINDS:
        parts, true_ids, codes, when, prefix = [], [], [], [], []
        prefixes: list[str] = []
        for segment in (s for s in segments if s.kind == kind):
            columns, true_id, bits = _person_columns(rng, city, pool, segment.person, segment.noise)
            parts.append(_feed_table(kind, {**segment.body, **columns}, segment.person.size))
            true_ids.append(true_id)
            codes.append(bits | np.uint32(segment.codes))
            when.append(segment.when.astype("datetime64[s]"))
            if segment.prefix not in prefixes:
                prefixes.append(segment.prefix)
            prefix.append(np.full(segment.person.size, prefixes.index(segment.prefix)))
        if not parts:
            out[kind] = _feed_table(kind, {}, 0)
            continue
        table = pa.concat_tables(parts)
        n = table.num_rows
        when_all = np.concatenate(when)
        prefix_all = np.concatenate(prefix)
        order = np.lexsort((np.arange(n), prefix_all, when_all))
        by_prefix = order[np.argsort(prefix_all[order], kind="stable")]
        number = np.empty(n, dtype=np.int64)
        number[by_prefix] = rank_of_sorted_keys(prefix_all[by_prefix]) + 1
        width = max(6, len(str(n)))
        keys = join(pick(prefixes, prefix_all), zero_padded(number, width)).take(pa.array(order))
        table = table.take(pa.array(order)).set_column(0, KEY_COLUMNS[kind], keys)
        out[kind] = table
        truth.append(
            pa.table(
                {
                    "kind": pick([kind], np.zeros(n, dtype=np.int64)),
                    "key": keys,
                    "true_id_number": pa.concat_arrays(true_ids).take(pa.array(order)),
                    "noise": _code_strings(np.concatenate(codes)[order]),
                }
            )
        )
    empty = {name: pa.array([], pa.string()) for name in TRUTH_COLUMNS}
    out[TRUTH] = pa.concat_tables(truth) if truth else pa.table(empty)
    return out


def _feed_table(kind: str, columns: Mapping[str, pa.Array], n: int) -> pa.Table:
    """The kind's columns in contract order; absent ones empty; dates as date32, the rest strings."""
    arrays, fields = [], []
    for name in FEED_COLUMNS[kind]:
        kind_type = pa.date32() if name in _DATE_COLUMNS else pa.string()
        value = columns.get(name)
        arrays.append(pa.nulls(n, kind_type) if value is None else value.cast(kind_type))
        fields.append(pa.field(name, kind_type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _code_strings(bits: np.ndarray) -> pa.Array:
    """Noise bit sets as ``;``-separated codes (one string per distinct set, then a take)."""
    distinct, inverse = np.unique(bits, return_inverse=True)
    words = [";".join(code for code, bit in _BIT.items() if int(value) & int(bit)) for value in distinct]
    return pick(words, inverse.reshape(-1))


# --- column helpers -------------------------------------------------------------------------------


def _streams(seed: int, *salt: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence([seed, *salt]).spawn(3)]


def _scatter(n: int, parts: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """One string column of ``n`` rows from (row indexes, values) parts that cover every row once."""
    parts = [(rows, values) for rows, values in parts if rows.size]
    if not parts:
        return pa.nulls(n, pa.string())
    rows = np.concatenate([r for r, _ in parts])
    if rows.size != n:
        raise ValueError("parts must cover every row exactly once")
    values = pa.concat_arrays([v.cast(pa.string()) for _, v in parts])
    position = np.empty(n, dtype=np.int64)
    position[rows] = np.arange(n)
    return values.take(pa.array(position))


def _masked(values: pa.Array, keep: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(keep, dtype=bool)), values, pa.scalar(None, values.type))


def _ascii_matrix(values: pa.Array, width: int) -> np.ndarray:
    """(n, width) writable uint8 copy of a string column whose values are all ``width`` ASCII bytes."""
    n = len(values)
    if n == 0:
        return np.zeros((0, width), dtype=np.uint8)
    if values.null_count:
        raise ValueError("unexpected empty value")
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + n + 1]
    if np.any(np.diff(offsets) != width):
        raise ValueError(f"values must be {width} characters")
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(n, width).copy()


def _cjk_matrix(values: pa.Array, width: int) -> np.ndarray:
    """(n, width) int32 code points of strings of at most ``width`` 3-byte UTF-8 characters; 0 pads."""
    n = len(values)
    out = np.zeros((n, width), dtype=np.int32)
    if n == 0:
        return out
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + n + 1]
    lengths = np.diff(offsets)
    if np.any(lengths % 3) or lengths.max() > 3 * width:
        raise ValueError(f"values must be 1–{width} CJK characters")
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8).astype(np.int32)
    valid = np.arange(width) < (lengths // 3)[:, None]
    at = np.where(valid, offsets[:-1, None] + 3 * np.arange(width), offsets[0])
    lead = data[at]
    if np.any((lead[valid] & 0xF0) != 0xE0):
        raise ValueError("values must be 3-byte UTF-8 characters")
    points = ((lead & 0x0F) << 12) | ((data[at + 1] & 0x3F) << 6) | (data[at + 2] & 0x3F)
    out[valid] = points[valid]
    return out


def _cjk_strings(points: np.ndarray) -> pa.Array:
    """The inverse of ``_cjk_matrix``: zero code points are left out."""
    n = points.shape[0]
    valid = points > 0
    utf8 = np.stack([0xE0 | (points >> 12), 0x80 | ((points >> 6) & 0x3F), 0x80 | (points & 0x3F)], axis=-1)
    data = utf8.astype(np.uint8)[valid].ravel()
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(valid.sum(axis=1) * 3, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))


def _times(at: np.ndarray) -> pa.Array:
    """``2020-02-05T08:30:00+08:00`` for local datetime64 values."""
    at = np.asarray(at).astype("datetime64[s]")
    days = at.astype("datetime64[D]")
    year, month, day = _ymd(days)
    seconds = (at - days).astype(np.int64)
    chars = np.empty((at.size, 25), dtype=np.uint8)
    chars[:, 0:4] = ascii_digits(year, 4)
    chars[:, 5:7] = ascii_digits(month, 2)
    chars[:, 8:10] = ascii_digits(day, 2)
    chars[:, 11:13] = ascii_digits(seconds // 3600, 2)
    chars[:, 14:16] = ascii_digits(seconds // 60 % 60, 2)
    chars[:, 17:19] = ascii_digits(seconds % 60, 2)
    chars[:, [4, 7]] = ord("-")
    chars[:, 10] = ord("T")
    chars[:, [13, 16]] = ord(":")
    chars[:, 19:25] = np.frombuffer(UTC_OFFSET.encode(), dtype=np.uint8)
    return fixed_width_strings(chars)


def _dates(days: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    days = np.asarray(days).astype("datetime64[D]")
    mask = None if given is None else ~np.asarray(given, dtype=bool)
    return pa.array(days, type=pa.date32(), mask=mask)


def _make_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    months = (np.asarray(year) - 1970) * 12 + np.asarray(month) - 1
    return months.astype("datetime64[M]").astype("datetime64[D]") + (np.asarray(day) - 1).astype("timedelta64[D]")


def _one_decimal(values: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    """Non-negative numbers as ``38.5`` (one decimal always written)."""
    tenths = np.rint(np.asarray(values, dtype=np.float64) * 10).astype(np.int64)
    text = join(decimal_strings(tenths // 10), ".", decimal_strings(tenths % 10))
    return text if given is None else _masked(text, given)
