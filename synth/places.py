"""The synthetic city's places: the division tree down to grids, compounds, buildings and rooms.

domain.md §1: city → district → street → community → grid → compound → building → unit/room. Codes
follow the statistical scheme (county 6 + street 3 + community 3 digits, grids 3 more) and Linli's
``<grid>-NN`` / ``<compound>-NN`` codes for compounds and buildings.

How many of each level, for N residents (f = N / 11,000,000; Wuhan's real counts at f = 1):
  streets      ≈ 160 · f^0.40, at least 2 per district
  communities  ≈ 1,400 · f^0.55, at least 2 per street
  grids        ≈ households / 350 (a grid holds ~300–500 households), at least 2 per community
  compounds    ≈ 7,148 · f^0.25, at least 1 per grid and at most one per 40 households
Upper levels grow more slowly than the population, so a small city keeps a complete tree and a city
of a million has a plausible one (~60 streets, ~370 communities, ~1,100 grids, ~3,900 compounds). At
full scale the grid rule gives ~12,000 grids, so there are more compounds than Wuhan's 7,148: the real
figure counts closed-management residential compounds, here every building belongs to one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from synth import tables
from synth.arrays import (
    allocate,
    decimal_strings,
    distinct_pairs,
    join,
    pick,
    rank_in_groups,
    sample_pmf,
    zero_padded,
)

WUHAN_RESIDENTS = 11_000_000
HOUSEHOLDS_PER_GRID = 350
MIN_HOUSEHOLDS_PER_COMPOUND = 40
MAX_PER_PARENT_2DIGIT = 99  # compound and building codes carry a 2-digit sequence


@dataclass(frozen=True)
class LevelCounts:
    """How many streets, communities, grids and compounds a city of this size gets."""

    streets: int
    communities: int
    grids: int
    compounds: int


def level_counts(n_residents: int, n_households: int) -> LevelCounts:
    """The totals of each level for a city of ``n_residents`` (see the module docstring)."""
    f = max(n_residents, 1) / WUHAN_RESIDENTS
    n_districts = len(tables.DISTRICTS)
    streets = max(2 * n_districts, round(160 * f**0.40))
    communities = max(2 * streets, round(1400 * f**0.55))
    grids = max(2 * communities, round(n_households / HOUSEHOLDS_PER_GRID))
    compounds = max(grids, min(round(7148 * f**0.25), n_households // MIN_HOUSEHOLDS_PER_COMPOUND))
    return LevelCounts(streets, communities, grids, compounds)


@dataclass(frozen=True)
class Places:
    """The division tree and housing stock: contract tables plus index arrays for later generators.

    Index arrays point from a child level to its parent by position: ``street_district[i]`` is the
    district (index into ``tables.DISTRICTS``) of street ``i``; likewise ``community_street``,
    ``grid_community``, ``compound_grid`` and ``building_compound``. ``household_building``,
    ``household_unit`` and ``household_room`` place every household (households are numbered in
    compound order).
    """

    divisions: pa.Table
    compounds: pa.Table
    buildings: pa.Table
    street_district: np.ndarray
    community_street: np.ndarray
    grid_community: np.ndarray
    compound_grid: np.ndarray
    building_compound: np.ndarray
    community_names: pa.Array
    grid_codes: pa.Array
    grid_roads: pa.Array  # the road a grid's compounds are numbered on, e.g. 江阳路
    compound_codes: pa.Array
    compound_names: pa.Array
    compound_lat: np.ndarray
    compound_lon: np.ndarray
    compound_households: np.ndarray
    building_codes: pa.Array
    household_building: np.ndarray
    household_unit: np.ndarray
    household_room: np.ndarray

    @property
    def compound_district(self) -> np.ndarray:
        """District index of each compound."""
        return self.street_district[self.community_street[self.grid_community[self.compound_grid]]]

    @property
    def household_compound(self) -> np.ndarray:
        return self.building_compound[self.household_building]

    @property
    def household_district(self) -> np.ndarray:
        return self.compound_district[self.household_compound]

    @property
    def grid_district(self) -> np.ndarray:
        return self.street_district[self.community_street[self.grid_community]]


def _child_weights(rng: np.random.Generator, parent_weight: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Split each parent's weight among its children with lognormal noise (unequal but not wild)."""
    noise = rng.lognormal(0.0, 0.35, parent.size)
    per_parent = np.bincount(parent, weights=noise, minlength=parent_weight.size)
    return parent_weight[parent] * noise / per_parent[parent]


def _two_char_names(rng: np.random.Generator, parent_counts: np.ndarray, suffix: str | pa.Array) -> pa.Array:
    first, second = distinct_pairs(rng, parent_counts, len(tables.PLACE_CHARS))
    return join(pick(tables.PLACE_CHARS, first), pick(tables.PLACE_CHARS, second), suffix)


def _coords(rng: np.random.Generator, centre: np.ndarray, sd: float | np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(centre + rng.normal(0.0, 1.0, centre.size) * sd, lo, hi)


# Building age: share of compounds by year built, 1960–2020 (most housing stock is from 1990–2015).
_BUILT_YEAR_PMF = np.concatenate(
    [np.full(10, 0.5), np.full(10, 0.8), np.full(10, 1.7), np.full(10, 2.5), np.full(10, 2.5), np.full(11, 1.8)]
)
_FIRST_BUILT_YEAR = 1960


def build_places(rng: np.random.Generator, n_residents: int, n_households: int) -> Places:
    """Draw the division tree, compounds and buildings, and give every household a room."""
    counts = level_counts(n_residents, n_households)
    districts = tables.DISTRICTS
    n_districts = len(districts)
    share = np.array([d.share for d in districts])
    county = np.array([int(d.county_code) for d in districts], dtype=np.int64)

    # --- the tree: counts per parent, then parent index per child ----------------------------------
    streets_per_district = allocate(counts.streets, share, 2)
    street_district = np.repeat(np.arange(n_districts), streets_per_district)
    street_weight = _child_weights(rng, share, street_district)
    communities_per_street = allocate(counts.communities, street_weight, 2)
    community_street = np.repeat(np.arange(street_district.size), communities_per_street)
    community_weight = _child_weights(rng, street_weight, community_street)
    grids_per_community = allocate(counts.grids, community_weight, 2)
    grid_community = np.repeat(np.arange(community_street.size), grids_per_community)
    grid_weight = _child_weights(rng, community_weight, grid_community)
    compounds_per_grid = allocate(counts.compounds, grid_weight, 1)
    if compounds_per_grid.max() > MAX_PER_PARENT_2DIGIT:
        raise ValueError("more than 99 compounds in one grid; the 2-digit compound sequence overflows")
    compound_grid = np.repeat(np.arange(grid_community.size), compounds_per_grid)
    compound_weight = _child_weights(rng, grid_weight, compound_grid)
    n_compounds = compound_grid.size
    households_per_compound = allocate(n_households, compound_weight, 1 if n_households >= n_compounds else 0)
    if households_per_compound.sum() != n_households:  # fewer households than compounds
        households_per_compound = allocate(n_households, compound_weight, 0)

    # --- codes: statistical digits, then Linli's compound and building suffixes ----------------------
    street_num = county[street_district] * 1_000_000 + (rank_in_groups(streets_per_district) + 1) * 1000
    community_num = street_num[community_street] + rank_in_groups(communities_per_street) + 1
    grid_num = community_num[grid_community] * 1000 + rank_in_groups(grids_per_community) + 1
    district_codes = pa.array([d.county_code + "000000" for d in districts])
    street_codes = zero_padded(street_num, 12)
    community_codes = zero_padded(community_num, 12)
    grid_codes = zero_padded(grid_num, 15)
    compound_codes = join(
        grid_codes.take(pa.array(compound_grid)), "-", zero_padded(rank_in_groups(compounds_per_grid) + 1, 2)
    )

    # --- names --------------------------------------------------------------------------------------
    street_names = _two_char_names(rng, streets_per_district, "街道")
    community_names = _two_char_names(rng, communities_per_street, "社区")
    grid_names = join("第", decimal_strings(rank_in_groups(grids_per_community) + 1), "网格")
    compound_suffix = pick(tables.COMPOUND_SUFFIXES, rng.integers(0, len(tables.COMPOUND_SUFFIXES), n_compounds))
    compound_names = _two_char_names(rng, compounds_per_grid, compound_suffix)

    divisions = pa.table(
        {
            "code": pa.concat_arrays(
                [pa.array([tables.CITY_CODE]), district_codes, street_codes, community_codes, grid_codes]
            ),
            "name": pa.concat_arrays(
                [
                    pa.array([tables.CITY_NAME]),
                    pa.array([d.name for d in districts]),
                    street_names,
                    community_names,
                    grid_names,
                ]
            ),
            "level": pa.concat_arrays(
                [
                    pa.array(["city"]),
                    pa.array(["district"] * n_districts),
                    pa.array(["street"] * street_num.size),
                    pa.array(["community"] * community_num.size),
                    pa.array(["grid"] * grid_num.size),
                ]
            ),
            "parent_code": pa.concat_arrays(
                [
                    pa.array([""]),
                    pa.array([tables.CITY_CODE] * n_districts),
                    district_codes.take(pa.array(street_district)),
                    street_codes.take(pa.array(community_street)),
                    community_codes.take(pa.array(grid_community)),
                ]
            ),
        }
    )

    # --- where compounds are: clustered street → community → grid → compound -------------------------
    lat_lo, lat_hi = tables.LAT_RANGE
    lon_lo, lon_hi = tables.LON_RANGE
    spread = np.array([d.spread for d in districts])[street_district]
    street_lat = _coords(rng, np.array([d.lat for d in districts])[street_district], spread, lat_lo, lat_hi)
    street_lon = _coords(rng, np.array([d.lon for d in districts])[street_district], spread, lon_lo, lon_hi)
    community_sd = spread[community_street] / 3
    community_lat = _coords(rng, street_lat[community_street], community_sd, lat_lo, lat_hi)
    community_lon = _coords(rng, street_lon[community_street], community_sd, lon_lo, lon_hi)
    grid_lat = _coords(rng, community_lat[grid_community], 0.004, lat_lo, lat_hi)
    grid_lon = _coords(rng, community_lon[grid_community], 0.004, lon_lo, lon_hi)
    compound_lat = np.round(_coords(rng, grid_lat[compound_grid], 0.0015, lat_lo, lat_hi), 6)
    compound_lon = np.round(_coords(rng, grid_lon[compound_grid], 0.0015, lon_lo, lon_hi), 6)

    # --- compound attributes --------------------------------------------------------------------------
    built_year = sample_pmf(rng, _BUILT_YEAR_PMF, n_compounds, _FIRST_BUILT_YEAR)
    newer = built_year >= 2000
    # 3,159 of 7,148 compounds (44 %) had property management in 2020 (domain.md §1); newer ones mostly.
    property_managed = rng.random(n_compounds) < np.where(newer, 0.80, 0.15)
    road_first, road_second = distinct_pairs(rng, np.bincount(grid_community), len(tables.PLACE_CHARS))
    roads = join(
        pick(tables.PLACE_CHARS, road_first),
        pick(tables.PLACE_CHARS, road_second),
        pick(tables.ROAD_SUFFIXES, rng.integers(0, len(tables.ROAD_SUFFIXES), grid_community.size)),
    )
    compound_district = street_district[community_street[grid_community[compound_grid]]]
    address = join(
        pick([d.name for d in districts], compound_district),
        roads.take(pa.array(compound_grid)),
        decimal_strings(rng.integers(1, 400, n_compounds)),
        "号",
    )
    compounds = pa.table(
        {
            "compound_code": compound_codes,
            "name": compound_names,
            "grid_code": grid_codes.take(pa.array(compound_grid)),
            "address": address,
            "lat": compound_lat,
            "lon": compound_lon,
            "property_managed": property_managed,
            "built_year": built_year.astype(np.int16),
        }
    )

    # --- buildings: a typical block per compound, enough of them for its households -------------------
    h = households_per_compound
    floors_c = np.where(
        newer,
        np.where(
            h >= 90,
            rng.integers(18, 34, n_compounds),  # towers
            np.array([6, 7, 9, 11])[sample_pmf(rng, [0.3, 0.2, 0.1, 0.4], n_compounds)],
        ),
        np.array([5, 6, 7, 8])[sample_pmf(rng, [0.10, 0.50, 0.35, 0.05], n_compounds)],  # walk-ups
    )
    units_c = np.where(
        newer,
        sample_pmf(rng, [0.3, 0.4, 0.2, 0.1], n_compounds, 1),
        sample_pmf(rng, [0.10, 0.30, 0.30, 0.20, 0.06, 0.04], n_compounds, 1),
    )
    doors_c = np.where(
        newer, sample_pmf(rng, [0.4, 0.2, 0.4], n_compounds, 2), sample_pmf(rng, [0.8, 0.2], n_compounds, 2)
    )
    occupancy = rng.uniform(0.75, 0.95, n_compounds)
    n_buildings_c = np.maximum(1, np.ceil(h / (occupancy * floors_c * units_c * doors_c))).astype(np.int64)
    crowded = n_buildings_c > 60  # a huge compound is built as towers, not hundreds of walk-ups
    floors_c = np.where(crowded, 32, floors_c)
    units_c = np.where(crowded, 4, units_c)
    doors_c = np.where(crowded, 4, doors_c)
    n_buildings_c = np.maximum(1, np.ceil(h / (occupancy * floors_c * units_c * doors_c))).astype(np.int64)
    if n_buildings_c.max() > MAX_PER_PARENT_2DIGIT:
        raise ValueError("more than 99 buildings in one compound; the 2-digit building sequence overflows")

    building_compound = np.repeat(np.arange(n_compounds), n_buildings_c)
    n_buildings = building_compound.size
    # Units may only grow from the compound's typical block, so its capacity bound still holds.
    b_units = np.minimum(6, units_c[building_compound] + (rng.random(n_buildings) < 0.2))
    b_floors = floors_c[building_compound]
    b_doors = doors_c[building_compound]
    building_seq = rank_in_groups(n_buildings_c) + 1
    building_codes = join(compound_codes.take(pa.array(building_compound)), "-", zero_padded(building_seq, 2))
    buildings = pa.table(
        {
            "building_code": building_codes,
            "compound_code": compound_codes.take(pa.array(building_compound)),
            "name": join(decimal_strings(building_seq), "栋"),
            "units": b_units.astype(np.int8),
            "floors": b_floors.astype(np.int8),
        }
    )

    # --- rooms: each household takes a random free slot (unit, floor, door) in its compound ------------
    capacity = (b_units * b_floors * b_doors).astype(np.int64)
    slot_building = np.repeat(np.arange(n_buildings), capacity)
    slot_compound = building_compound[slot_building]
    slots_per_compound = np.bincount(slot_compound, minlength=n_compounds)
    order = np.argsort(slot_compound + rng.random(slot_building.size), kind="stable")
    taken = order[rank_in_groups(slots_per_compound) < h[slot_compound[order]]]
    taken.sort()  # households are numbered in compound order, rooms in building order
    household_building = slot_building[taken]
    local = taken - np.repeat(np.cumsum(capacity) - capacity, capacity)[taken]
    per_unit = (b_floors * b_doors)[household_building]
    household_unit = local // per_unit + 1
    in_unit = local % per_unit
    doors = b_doors[household_building]
    household_room = (in_unit // doors + 1) * 100 + in_unit % doors + 1

    return Places(
        divisions=divisions,
        compounds=compounds,
        buildings=buildings,
        street_district=street_district,
        community_street=community_street,
        grid_community=grid_community,
        compound_grid=compound_grid,
        building_compound=building_compound,
        community_names=community_names,
        grid_codes=grid_codes,
        grid_roads=roads,
        compound_codes=compound_codes,
        compound_names=compound_names,
        compound_lat=compound_lat,
        compound_lon=compound_lon,
        compound_households=households_per_compound,
        building_codes=building_codes,
        household_building=household_building.astype(np.int32),
        household_unit=household_unit.astype(np.int8),
        household_room=household_room.astype(np.int16),
    )
