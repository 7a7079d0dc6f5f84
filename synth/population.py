"""The synthetic population: households, ages, identity numbers, names, phones, tags, civil-affairs lists.

Households are drawn first, from a small table of household kinds (single, couple, couple with
children, three generations, migrant flat-shares …); members' ages come from the kind (children from
their parents' ages, grandparents from theirs), so the age pyramid is an outcome. The shares are tuned
so a large city comes out near China's 2020 figures (7th census): ~2.6 people per household, ~18 % aged
60+, ~13.5 % 65+, ~18 % under 15, and about 27 % migrants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from people.identity import check_characters_array
from synth import tables
from synth.arrays import (
    ascii_digits,
    decimal_strings,
    fixed_width_strings,
    join,
    pick,
    rank_in_groups,
    rank_of_sorted_keys,
    sample_pmf,
)
from synth.places import Places

AS_OF = dt.date(2020, 1, 23)  # ages and registry dates are as of the day Wuhan closed its outbound routes

# Who a member is in the household: a column of the per-household age table.
FATHER, MOTHER, CHILD1, CHILD2, GRANDFATHER, GRANDMOTHER, OTHER1, OTHER2, OTHER3 = range(9)
RELATIONS = ("father", "mother", "child", "child", "grandfather", "grandmother", "other", "other", "other")
_N_SLOTS = 9

REGISTERED, RESIDENT, MIGRANT = 0, 1, 2
RESIDENCE_TYPES = ("registered", "resident", "migrant")

# Tags as bits; the order here is the order they are written in (contracts.md `residents`).
TAGS = ("elderly_alone", "chronic", "pregnant", "disabled", "low_income", "child")
ELDERLY_ALONE, CHRONIC, PREGNANT, DISABLED, LOW_INCOME, CHILD = (1 << i for i in range(len(TAGS)))

PROGRAMS = ("elderly_alone", "low_income", "disabled", "special_care")


class HouseholdKind(NamedTuple):
    """One kind of household: its share of households, members (slots) and chance of being migrant."""

    name: str
    share: float
    members: tuple[int, ...]
    migrant: float


# Sizes come out 1: 25 %, 2: 30 %, 3: 21 %, 4: 14.5 %, 5: 5.5 %, 6: 4 %, mean 2.58 (7th census: 2.62).
HOUSEHOLD_KINDS: tuple[HouseholdKind, ...] = (
    HouseholdKind("single_adult", 0.195, (OTHER1,), 0.48),
    HouseholdKind("single_elder", 0.055, (OTHER1,), 0.02),
    HouseholdKind("young_couple", 0.08, (FATHER, MOTHER), 0.42),
    HouseholdKind("older_couple", 0.13, (FATHER, MOTHER), 0.04),
    HouseholdKind("single_parent", 0.03, (MOTHER, CHILD1), 0.15),
    HouseholdKind("flat_share_2", 0.06, (OTHER1, OTHER2), 1.0),
    HouseholdKind("couple_1child", 0.16, (FATHER, MOTHER, CHILD1), 0.28),
    HouseholdKind("flat_share_3", 0.02, (OTHER1, OTHER2, OTHER3), 1.0),
    HouseholdKind("grandparents_grandchild", 0.03, (GRANDFATHER, GRANDMOTHER, CHILD1), 0.05),
    HouseholdKind("couple_2children", 0.085, (FATHER, MOTHER, CHILD1, CHILD2), 0.25),
    HouseholdKind("three_gen_4", 0.06, (FATHER, MOTHER, CHILD1, GRANDMOTHER), 0.12),
    HouseholdKind("three_gen_5", 0.055, (FATHER, MOTHER, CHILD1, GRANDFATHER, GRANDMOTHER), 0.10),
    HouseholdKind("three_gen_6", 0.04, (FATHER, MOTHER, CHILD1, CHILD2, GRANDFATHER, GRANDMOTHER), 0.10),
)
_KIND = {k.name: i for i, k in enumerate(HOUSEHOLD_KINDS)}
_FILLER_BY_SIZE = {1: "single_adult", 2: "young_couple", 3: "couple_1child", 4: "couple_2children", 5: "three_gen_5"}


def _pmf(pieces: list[tuple[int, int, float]]) -> tuple[np.ndarray, int]:
    """A probability table over ages from (first, last, weight) pieces; returns (pmf, first age)."""
    first = pieces[0][0]
    pmf = np.zeros(pieces[-1][1] - first + 1)
    for lo, hi, weight in pieces:
        pmf[lo - first : hi - first + 1] = weight
    return pmf, first


_CHILD_AGE = _pmf([(0, 14, 1.0), (15, 17, 0.7), (18, 22, 0.35), (23, 30, 0.12)])
_MOTHER_GAP = _pmf([(21, 23, 0.5), (24, 30, 1.0), (31, 34, 0.6), (35, 40, 0.2)])  # mother's age at birth
_GENERATION_GAP = _pmf([(22, 24, 0.5), (25, 30, 1.0), (31, 34, 0.5)])
_YOUNG_COUPLE = _pmf([(21, 24, 0.5), (25, 32, 1.0), (33, 39, 0.4)])
_OLDER_COUPLE = _pmf([(45, 54, 1.0), (55, 64, 1.1), (65, 74, 0.6), (75, 84, 0.22), (85, 92, 0.04)])
_SINGLE_ADULT = _pmf([(18, 21, 0.5), (22, 34, 1.0), (35, 49, 0.55), (50, 64, 0.6)])
_SINGLE_ELDER = _pmf([(65, 74, 1.0), (75, 84, 0.75), (85, 94, 0.25), (95, 100, 0.03)])
_FLAT_SHARE = _pmf([(18, 19, 0.4), (20, 30, 1.0), (31, 45, 0.35)])
_GRANDCHILD = _pmf([(0, 15, 1.0)])
_GRANDPARENT_GAP = _pmf([(48, 65, 1.0)])  # grandmother's age above the grandchild


@dataclass(frozen=True)
class Households:
    """Households and their members before they are housed: kind, ages, sexes, relations."""

    kind: np.ndarray  # per household, index into HOUSEHOLD_KINDS
    size: np.ndarray  # per household
    member_household: np.ndarray  # per member
    member_slot: np.ndarray  # per member: FATHER … OTHER3
    age: np.ndarray  # per member, whole years at AS_OF
    male: np.ndarray  # per member
    paternal: np.ndarray  # per household: the grandparents are the father's parents

    @property
    def count(self) -> int:
        return int(self.kind.size)


def _draw_kinds(rng: np.random.Generator, n_residents: int) -> np.ndarray:
    """Household kinds whose sizes add up to exactly ``n_residents``."""
    shares = np.array([k.share for k in HOUSEHOLD_KINDS])
    sizes = np.array([len(k.members) for k in HOUSEHOLD_KINDS])
    mean = float((shares * sizes).sum() / shares.sum())
    batch = int(n_residents / mean * 1.05) + 16
    kinds = sample_pmf(rng, shares, batch)
    while sizes[kinds].sum() < n_residents:  # rare: only for tiny cities; a few passes at most
        kinds = np.concatenate([kinds, sample_pmf(rng, shares, batch)])
    total = np.cumsum(sizes[kinds])
    keep = int(np.searchsorted(total, n_residents, side="right"))
    kinds = kinds[:keep]
    short = n_residents - (int(total[keep - 1]) if keep else 0)
    if short:
        kinds = np.append(kinds, _KIND[_FILLER_BY_SIZE[short]])
    return kinds


def draw_households(rng: np.random.Generator, n_residents: int) -> Households:
    """Draw households of plausible kinds and ages for exactly ``n_residents`` people."""
    kinds = _draw_kinds(rng, n_residents)
    n = kinds.size
    ages = np.zeros((n, _N_SLOTS), dtype=np.int64)

    def fill(slot: int, mask: np.ndarray, values: np.ndarray) -> None:
        ages[mask, slot] = values

    def draw(table: tuple[np.ndarray, int], count: int) -> np.ndarray:
        return sample_pmf(rng, table[0], count, table[1])

    family = np.isin(
        kinds,
        [
            _KIND[k]
            for k in ("single_parent", "couple_1child", "couple_2children", "three_gen_4", "three_gen_5", "three_gen_6")
        ],
    )
    nf = int(family.sum())
    fill(CHILD1, family, draw(_CHILD_AGE, nf))
    fill(MOTHER, family, ages[family, CHILD1] + draw(_MOTHER_GAP, nf))
    young = kinds == _KIND["young_couple"]
    fill(MOTHER, young, draw(_YOUNG_COUPLE, int(young.sum())))
    older = kinds == _KIND["older_couple"]
    fill(MOTHER, older, draw(_OLDER_COUPLE, int(older.sum())))
    ages[:, FATHER] = ages[:, MOTHER] + np.rint(rng.normal(2.0, 2.5, n)).astype(np.int64)
    ages[:, FATHER] = np.maximum(ages[:, FATHER], 20)
    ages[:, CHILD2] = np.maximum(ages[:, CHILD1] - rng.integers(1, 9, n), 0)

    # Grandparents: the parents of the father or of the mother; or, with a grandchild alone, by age gap.
    paternal = rng.random(n) < 0.6
    parent_age = np.where(paternal, ages[:, FATHER], ages[:, MOTHER])
    ages[:, GRANDMOTHER] = parent_age + draw(_GENERATION_GAP, n)
    skipped = kinds == _KIND["grandparents_grandchild"]
    ns = int(skipped.sum())
    fill(CHILD1, skipped, draw(_GRANDCHILD, ns))
    fill(GRANDMOTHER, skipped, ages[skipped, CHILD1] + draw(_GRANDPARENT_GAP, ns))
    ages[:, GRANDFATHER] = ages[:, GRANDMOTHER] + np.rint(rng.normal(2.0, 2.5, n)).astype(np.int64)

    single = kinds == _KIND["single_adult"]
    fill(OTHER1, single, draw(_SINGLE_ADULT, int(single.sum())))
    elder = kinds == _KIND["single_elder"]
    fill(OTHER1, elder, draw(_SINGLE_ELDER, int(elder.sum())))
    sharing = np.isin(kinds, [_KIND["flat_share_2"], _KIND["flat_share_3"]])
    for slot in (OTHER1, OTHER2, OTHER3):
        fill(slot, sharing, draw(_FLAT_SHARE, int(sharing.sum())))
    np.clip(ages, 0, 100, out=ages)

    # Sex: fixed by relation, random for children and others; flat-sharers share a sex; more widows.
    male = np.zeros((n, _N_SLOTS), dtype=bool)
    male[:, FATHER] = male[:, GRANDFATHER] = True
    male[:, CHILD1] = rng.random(n) < 0.52
    male[:, CHILD2] = rng.random(n) < 0.52
    other_male = rng.random(n) < np.where(elder, 0.38, 0.55)
    for slot in (OTHER1, OTHER2, OTHER3):
        male[:, slot] = other_male

    member_table = np.full((len(HOUSEHOLD_KINDS), 6), -1, dtype=np.int64)
    for i, kind in enumerate(HOUSEHOLD_KINDS):
        member_table[i, : len(kind.members)] = kind.members
    sizes = np.array([len(k.members) for k in HOUSEHOLD_KINDS])[kinds]
    member_household = np.repeat(np.arange(n), sizes)
    member_slot = member_table[kinds[member_household], rank_in_groups(sizes)]
    return Households(
        kind=kinds,
        size=sizes,
        member_household=member_household,
        member_slot=member_slot,
        age=ages[member_household, member_slot],
        male=male[member_household, member_slot],
        paternal=paternal,
    )


@dataclass(frozen=True)
class People:
    """One entry per resident, in residents.csv order (by compound, building, room, household).

    Arrays are numpy unless noted; indexes point into the places' tables by position.
      id_number      pa.StringArray, 18-character GB 11643 numbers, unique
      name           pa.StringArray, Chinese name (surname + 1–2 characters)
      male           bool; sex "M" when True (agrees with the ID's sequence digit)
      birth_date     datetime64[D] (agrees with the ID)
      age            int16, whole years at AS_OF
      phone          pa.StringArray, 11-digit mobile or null; unique where present
      household      int32, household number (households are numbered in compound order)
      relation       int8, FATHER … OTHER3 (see RELATIONS)
      building       int32, index into the buildings table; unit int8; room int16 (floor·100 + door)
      district       int8, index into tables.DISTRICTS
      address_code   int32, the ID's 6-digit address code (the district, or the origin county)
      residence_type int8, REGISTERED / RESIDENT / MIGRANT (see RESIDENCE_TYPES)
      tags           uint8 bit set of ELDERLY_ALONE, CHRONIC, PREGNANT, DISABLED, LOW_INCOME, CHILD
    """

    id_number: pa.Array
    name: pa.Array
    male: np.ndarray
    birth_date: np.ndarray
    age: np.ndarray
    phone: pa.Array
    household: np.ndarray
    relation: np.ndarray
    building: np.ndarray
    unit: np.ndarray
    room: np.ndarray
    district: np.ndarray
    address_code: np.ndarray
    residence_type: np.ndarray
    tags: np.ndarray

    @property
    def count(self) -> int:
        return int(self.male.size)

    @property
    def sex(self) -> np.ndarray:
        """ "M" / "F" per resident, as written in residents.csv."""
        return np.where(self.male, "M", "F")

    def has(self, tag: int) -> np.ndarray:
        """Which residents carry a tag bit (e.g. ``people.has(ELDERLY_ALONE)``)."""
        return (self.tags & tag) != 0


def _birth_dates(rng: np.random.Generator, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Birth dates for the given ages at AS_OF, and the ages recomputed from them (they agree)."""
    days_back = np.floor((age + rng.random(age.size)) * 365.2425).astype(np.int64)
    born = np.datetime64(AS_OF, "D") - days_back.astype("timedelta64[D]")
    year, month, day = _ymd(born)
    exact = AS_OF.year - year - ((month * 100 + day) > (AS_OF.month * 100 + AS_OF.day))
    return born, exact


def _ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (dates - months).astype(np.int64) + 1
    return year, month, day


def _id_numbers(
    rng: np.random.Generator, address_code: np.ndarray, birth_date: np.ndarray, male: np.ndarray
) -> pa.Array:
    """GB 11643 numbers, unique: sequence numbers are ranked within (address, birth date, sex)."""
    year, month, day = _ymd(birth_date)
    ymd = year * 10000 + month * 100 + day
    key = address_code.astype(np.int64) * 10**10 + ymd * 10 + male
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    rank = rank_of_sorted_keys(sorted_key)
    group = np.cumsum(rank == 0) - 1
    group_size = np.bincount(group)[group]
    # Odd sequence numbers 001–999 for men (500 of them), even 002–998 for women (499).
    room = np.where(male[order], 500, 499)
    if np.any(group_size > room):
        raise ValueError("more than 499 people share an address code, birth date and sex")
    start = np.floor(rng.random(int(group[-1]) + 1 if group.size else 0)[group] * (room - group_size + 1))
    k = start.astype(np.int64) + rank
    sequence = np.empty_like(k)
    sequence[order] = np.where(male[order], 2 * k + 1, 2 * k + 2)

    digits = np.empty((address_code.size, 18), dtype=np.uint8)
    digits[:, 0:6] = ascii_digits(address_code, 6)
    digits[:, 6:14] = ascii_digits(ymd, 8)
    digits[:, 14:17] = ascii_digits(sequence, 3)
    digits[:, 17] = check_characters_array(digits[:, :17] - ord("0"))
    return fixed_width_strings(digits)


_PHONE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        134,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        173,
        176,
        177,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ],
    dtype=np.int64,
)
_PHONE_WEIGHTS = np.array(
    [3, 3, 3, 3, 3, 4, 4, 4, 5, 5, 3, 3, 2, 2, 2, 2, 2, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1],
    dtype=np.float64,
)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique 11-digit mobile numbers; collisions are redrawn (a handful of passes, not per person)."""

    def draw(count: int) -> np.ndarray:
        prefix = _PHONE_PREFIXES[sample_pmf(rng, _PHONE_WEIGHTS, count)]
        return prefix * 10**8 + rng.integers(0, 10**8, count)

    numbers = draw(n)
    while True:
        _, first = np.unique(numbers, return_index=True)
        if first.size == n:
            return numbers
        again = np.ones(n, dtype=bool)
        again[first] = False
        numbers[again] = draw(int(again.sum()))


def _names(rng: np.random.Generator, households: Households, birth_year: np.ndarray) -> pa.Array:
    """Chinese names: surnames by frequency and passed down the father's line.

    Children take the father's surname (a single mother's child its absent father's), a wife keeps
    her own, and a grandfather carries the surname of the parent he is the father of.
    """
    weights = np.array([w for _, w in tables.SURNAMES])
    n = households.age.size
    hh = households.member_household
    family = sample_pmf(rng, weights, households.count)[hh]
    mother = sample_pmf(rng, weights, households.count)[hh]
    own = sample_pmf(rng, weights, n)
    slot = households.member_slot
    child = ((slot == CHILD1) | (slot == CHILD2)) & (households.kind[hh] != _KIND["single_parent"])
    grandfather = slot == GRANDFATHER
    paternal = households.paternal[hh]
    surname = np.where((slot == FATHER) | child | (grandfather & paternal), family, own)
    surname = np.where((slot == MOTHER) | (grandfather & ~paternal), mother, surname)

    sets = (tables.GIVEN_MALE_OLDER, tables.GIVEN_FEMALE_OLDER, tables.GIVEN_MALE_YOUNG, tables.GIVEN_FEMALE_YOUNG)
    chars = [c for s in sets for c in s] + [""]
    sizes = np.array([len(s) for s in sets])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lead = np.array([0, 0, tables.YOUNG_LEAD, tables.YOUNG_LEAD])  # chars that never close a name
    which = (birth_year >= tables.YOUNG_NAME_FROM_YEAR) * 2 + ~households.male
    first = starts[which] + np.floor(rng.random(n) * sizes[which]).astype(np.int64)
    closing = sizes[which] - lead[which]
    last = starts[which] + lead[which] + np.floor(rng.random(n) * closing).astype(np.int64)
    first = np.where(rng.random(n) < 0.25, len(chars) - 1, first)  # a quarter have one-character names
    return join(pick([s for s, _ in tables.SURNAMES], surname), pick(chars, first), pick(chars, last))


def build_people(rng: np.random.Generator, households: Households, places: Places) -> People:
    """Give housed households identities, names, phones, residence types and tags."""
    hh = households.member_household
    n = hh.size
    district = places.household_district[hh]
    county = np.array([int(d.county_code) for d in tables.DISTRICTS], dtype=np.int64)

    # Residence type per household: migrants by kind; the rest mostly registered (户籍), some 常住.
    migrant_share = np.array([k.migrant for k in HOUSEHOLD_KINDS])[households.kind]
    u = rng.random(households.count)
    h_type = np.where(u < migrant_share, MIGRANT, np.where(rng.random(households.count) < 0.8, REGISTERED, RESIDENT))
    origin_codes = np.array([int(c) for c, _ in tables.ORIGIN_COUNTIES], dtype=np.int64)
    origin_weights = np.array([w for _, w in tables.ORIGIN_COUNTIES])
    h_origin = origin_codes[sample_pmf(rng, origin_weights, households.count)]
    residence_type = h_type[hh]
    address_code = np.where(residence_type == MIGRANT, h_origin[hh], county[district])

    birth_date, age = _birth_dates(rng, households.age)
    id_number = _id_numbers(rng, address_code, birth_date, households.male)
    name = _names(rng, households, _ymd(birth_date)[0])

    # Phones: ~5 % of children and elderly have none on file (domain brief); the rest are unique.
    no_phone = ((age < 14) | (age >= 65)) & (rng.random(n) < 0.05)
    phone_chars = ascii_digits(_phones(rng, n), 11)
    phone = fixed_width_strings(phone_chars, valid=~no_phone)

    # Tags (contracts.md `residents`): shares from the brief, chronic illness and disability by age.
    alone = households.size[hh] == 1
    female = ~households.male
    r = rng.random((4, n))
    tags = np.zeros(n, dtype=np.uint8)
    tags |= np.where((age >= 65) & alone, ELDERLY_ALONE, 0).astype(np.uint8)
    chronic_p = np.where(age >= 60, 0.30, np.where(age >= 18, 0.05, 0.005))
    tags |= np.where(r[0] < chronic_p, CHRONIC, 0).astype(np.uint8)
    pregnant_p = np.where(households.member_slot == MOTHER, 0.024, 0.004)
    tags |= np.where(female & (age >= 20) & (age <= 40) & (r[1] < pregnant_p), PREGNANT, 0).astype(np.uint8)
    disabled_p = np.where(age >= 60, 0.17, np.where(age >= 18, 0.04, 0.02))
    tags |= np.where(r[2] < disabled_p, DISABLED, 0).astype(np.uint8)
    poor_kind = np.isin(households.kind, [_KIND["single_elder"], _KIND["single_parent"]])
    poor = rng.random(households.count) < np.where(poor_kind, 0.06, 0.017)
    tags |= np.where(poor[hh], LOW_INCOME, 0).astype(np.uint8)
    tags |= np.where(age < 14, CHILD, 0).astype(np.uint8)

    return People(
        id_number=id_number,
        name=name,
        male=households.male,
        birth_date=birth_date,
        age=age.astype(np.int16),
        phone=phone,
        household=hh.astype(np.int32),
        relation=households.member_slot.astype(np.int8),
        building=places.household_building[hh],
        unit=places.household_unit[hh],
        room=places.household_room[hh],
        district=district.astype(np.int8),
        address_code=address_code.astype(np.int32),
        residence_type=residence_type.astype(np.int8),
        tags=tags,
    )


def _tag_strings() -> list[str]:
    return [";".join(t for i, t in enumerate(TAGS) if mask >> i & 1) for mask in range(1 << len(TAGS))]


def residents_table(people: People, places: Places) -> pa.Table:
    """The ``residents`` contract table."""
    return pa.table(
        {
            "id_number": people.id_number,
            "name": people.name,
            "sex": pick(["F", "M"], people.male.astype(np.int64)),
            "phone": people.phone,
            "building_code": places.building_codes.take(pa.array(people.building)),
            "unit": people.unit,
            "room": decimal_strings(people.room),
            "residence_type": pick(RESIDENCE_TYPES, people.residence_type),
            "tags": pick(_tag_strings(), people.tags),
        }
    )


def _dates_between(rng: np.random.Generator, lo: np.ndarray, hi: np.datetime64) -> np.ndarray:
    span = np.maximum((hi - lo).astype(np.int64), 0)
    return lo + np.floor(rng.random(lo.size) * (span + 1)).astype("timedelta64[D]")


def social_registry_table(rng: np.random.Generator, people: People) -> pa.Table:
    """Civil-affairs programme lists: mostly the tagged people, a few missing, a few extra.

    Real registries disagree with the street's own lists a little (a spouse died, a certificate
    lapsed, a family moved in with their children), so the importer and the reports see both sides.
    """
    n = people.count
    as_of = np.datetime64(AS_OF, "D")
    born = people.birth_date
    r = rng.random((5, n))

    def years_after(years: int) -> np.ndarray:
        return born + np.rint(years * 365.2425).astype("timedelta64[D]")

    rows = []
    chosen = [
        (people.has(ELDERLY_ALONE) & (r[0] < 0.90)) | (~people.has(ELDERLY_ALONE) & (people.age >= 65) & (r[0] < 0.01)),
        (people.has(LOW_INCOME) & (r[1] < 0.95)) | (~people.has(LOW_INCOME) & (r[1] < 0.002)),
        (people.has(DISABLED) & (r[2] < 0.85)) | (~people.has(DISABLED) & (r[2] < 0.003)),
        (people.age >= 40) & (r[3] < 0.006),  # 优抚对象: veterans and martyrs' families, no resident tag
    ]
    earliest = [
        np.maximum(years_after(65), np.datetime64("2000-01-01")),
        np.maximum(born, np.datetime64("2010-01-01")),
        np.maximum(born, np.datetime64("2005-01-01")),
        np.maximum(years_after(18), np.datetime64("1990-01-01")),
    ]
    for program, mask, lo in zip(PROGRAMS, chosen, earliest, strict=True):
        index = np.flatnonzero(mask)
        since = _dates_between(rng, np.minimum(lo[index], as_of), as_of)
        rows.append((index, np.full(index.size, PROGRAMS.index(program)), since))
    index = np.concatenate([x[0] for x in rows])
    program = np.concatenate([x[1] for x in rows])
    since = np.concatenate([x[2] for x in rows])
    return pa.table(
        {
            "id_number": people.id_number.take(pa.array(index)),
            "program": pick(PROGRAMS, program),
            "since": pa.array(since, type=pa.date32()),
        }
    )
