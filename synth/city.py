"""A synthetic Wuhan-like city, generated in memory and kept as one reusable object.

``generate_city(residents, seed)`` returns a :class:`SynthCity`: the six contract tables
(contracts.md: divisions, compounds, buildings, residents, venues, social_registry) as pyarrow Tables,
plus the numpy arrays behind them (``city.places``, ``city.people``, ``city.venue_index``), so later
generators (noisy agency feeds, venue scans, lab results …) draw from the same population.

Deterministic: the same (residents, seed) gives the same city on the same numpy version. Each phase
draws from its own random stream (``SeedSequence.spawn``), so changing how one phase draws leaves the
others as they were.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from synth.places import Places, build_places
from synth.population import (
    AS_OF,
    People,
    build_people,
    draw_households,
    residents_table,
    social_registry_table,
)
from synth.venues import Venues, build_venues

# The contract kinds the city provides, in import order (parents before children).
KINDS = ("divisions", "compounds", "buildings", "residents", "venues", "social_registry")

_LEVEL_PLURALS = {"district": "districts", "street": "streets", "community": "communities", "grid": "grids"}
_STREAMS = ("households", "places", "people", "venues", "registry")


@dataclass(frozen=True)
class SynthCity:
    """The generated city: contract tables for export and per-entity arrays for further generation.

    ``people`` holds per-resident arrays (id_number, name, male, birth_date, age, phone, household,
    relation, building, unit, room, district, address_code, residence_type, tags); see
    :class:`synth.population.People`. ``places`` holds the division tree's parent indexes and the
    housing stock (:class:`synth.places.Places`); ``venue_index`` the grid, kind and gate compound of
    each venue, in ``venues`` row order.
    """

    seed: int
    as_of: dt.date
    divisions: pa.Table
    compounds: pa.Table
    buildings: pa.Table
    residents: pa.Table
    venues: pa.Table
    social_registry: pa.Table
    places: Places
    people: People
    venue_index: Venues
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    def tables(self) -> dict[str, pa.Table]:
        """The contract tables by kind, in import order."""
        return {kind: getattr(self, kind) for kind in KINDS}

    def counts(self) -> dict[str, int]:
        """Rows per contract kind, plus the levels and households that have no file of their own."""
        levels = self.divisions.column("level").to_numpy(zero_copy_only=False)
        out = {kind: table.num_rows for kind, table in self.tables().items()}
        for level, plural in _LEVEL_PLURALS.items():
            out[plural] = int((levels == level).sum())
        out["households"] = int(self.places.household_building.size)
        return out


def generate_city(residents: int, seed: int) -> SynthCity:
    """Generate a city of exactly ``residents`` people, reproducibly from ``seed``."""
    if residents < 1:
        raise ValueError("a city needs at least one resident")
    streams = dict(
        zip(
            _STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(_STREAMS))),
            strict=True,
        )
    )
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[phase] = now - clock
        clock = now

    households = draw_households(streams["households"], residents)
    lap("households")
    places = build_places(streams["places"], residents, households.count)
    lap("places")
    people = build_people(streams["people"], households, places)
    resident_rows = residents_table(people, places)
    lap("people")
    venues = build_venues(streams["venues"], places, residents)
    lap("venues")
    registry = social_registry_table(streams["registry"], people)
    lap("registry")

    return SynthCity(
        seed=seed,
        as_of=AS_OF,
        divisions=places.divisions,
        compounds=places.compounds,
        buildings=places.buildings,
        residents=resident_rows,
        venues=venues.table,
        social_registry=registry,
        places=places,
        people=people,
        venue_index=venues,
        timings=timings,
    )
