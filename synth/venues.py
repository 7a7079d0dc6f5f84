"""Venues with a scan code (场所码): one gate per compound plus about one venue per 130 residents.

Codes are ``V`` + the district's 6-digit county code + a 6-digit sequence within the district, e.g.
``V420102000123``. Venues sit near the compounds of their grid, so scans drawn from where people live
look local.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth import tables
from synth.arrays import join, pick, rank_of_sorted_keys, sample_pmf, zero_padded
from synth.places import Places

KINDS = (*(k for k, *_ in tables.VENUE_KINDS), tables.GATE_KIND)
GATE = len(KINDS) - 1
EXPLICIT_DWELL_SHARE = 0.05  # most venues leave dwell_minutes empty: the default by kind applies


@dataclass(frozen=True)
class Venues:
    """The ``venues`` contract table and, per venue, its grid, kind and (for gates) compound index."""

    table: pa.Table
    grid: np.ndarray  # index into the grids (Places.grid_codes)
    kind: np.ndarray  # index into KINDS
    compound: np.ndarray  # the compound a gate belongs to, -1 for other venues


def build_venues(rng: np.random.Generator, places: Places, n_residents: int) -> Venues:
    """Place venues in grids in proportion to the grid's households, and a gate at every compound."""
    n_grids = len(places.grid_codes)
    n_compounds = places.compound_grid.size
    per_grid = places.compound_grid
    grid_households = np.bincount(per_grid, weights=places.compound_households, minlength=n_grids)
    grid_compounds = np.bincount(per_grid, minlength=n_grids)
    grid_lat = np.bincount(per_grid, weights=places.compound_lat, minlength=n_grids) / grid_compounds
    grid_lon = np.bincount(per_grid, weights=places.compound_lon, minlength=n_grids) / grid_compounds

    n_other = max(1, round(n_residents / tables.RESIDENTS_PER_VENUE))
    weights = grid_households + 1.0  # a grid with no households still gets the odd shop
    other_grid = sample_pmf(rng, weights, n_other)
    shares = np.array([share for _, share, *_ in tables.VENUE_KINDS])
    other_kind = sample_pmf(rng, shares, n_other)

    # Names: a place word + a kind word (热干面馆, 中百超市 …); the place word is the community's
    # name, the grid's road or a fresh two-character name. Gates: the compound's name + 门.
    suffix_lists = [suffixes for *_, suffixes, _ in tables.VENUE_KINDS]
    suffix_words = [w for words in suffix_lists for w in words]
    suffix_sizes = np.array([len(words) for words in suffix_lists])
    suffix_starts = np.concatenate([[0], np.cumsum(suffix_sizes)[:-1]])
    suffix = suffix_starts[other_kind] + np.floor(rng.random(n_other) * suffix_sizes[other_kind]).astype(np.int64)
    community_stem = _stems(places.community_names).take(pa.array(places.grid_community[other_grid]))
    road = places.grid_roads.take(pa.array(other_grid))
    n_chars = len(tables.PLACE_CHARS)
    first_char = rng.integers(0, n_chars, n_other)
    second_char = (first_char + rng.integers(1, n_chars, n_other)) % n_chars  # never 台台
    fresh = join(pick(tables.PLACE_CHARS, first_char), pick(tables.PLACE_CHARS, second_char))
    stem_choice = rng.random(n_other)
    stem = pc.if_else(pa.array(stem_choice < 0.4), community_stem, pc.if_else(pa.array(stem_choice < 0.7), road, fresh))
    other_names = join(stem, pick(suffix_words, suffix))
    gate_suffix = np.where(rng.random(n_compounds) < 0.6, 0, rng.integers(1, len(tables.GATE_SUFFIXES), n_compounds))
    gate_names = join(places.compound_names, pick(tables.GATE_SUFFIXES, gate_suffix))

    other_lat = grid_lat[other_grid] + rng.normal(0.0, 0.003, n_other)
    other_lon = grid_lon[other_grid] + rng.normal(0.0, 0.003, n_other)
    gate_lat = places.compound_lat + rng.normal(0.0, 0.0003, n_compounds)
    gate_lon = places.compound_lon + rng.normal(0.0, 0.0003, n_compounds)

    dwell_choices = np.array([choices for *_, choices in tables.VENUE_KINDS])
    explicit = rng.random(n_other) < EXPLICIT_DWELL_SHARE
    dwell = dwell_choices[other_kind, rng.integers(0, dwell_choices.shape[1], n_other)]

    grid = np.concatenate([places.compound_grid, other_grid])
    kind = np.concatenate([np.full(n_compounds, GATE), other_kind])
    compound = np.concatenate([np.arange(n_compounds), np.full(n_other, -1)])
    names = pa.concat_arrays([gate_names, other_names])
    lat = np.concatenate([gate_lat, other_lat])
    lon = np.concatenate([gate_lon, other_lon])
    dwell_all = pa.array(
        np.concatenate([np.zeros(n_compounds, dtype=np.int64), dwell]),
        mask=np.concatenate([np.ones(n_compounds, dtype=bool), ~explicit]),
        type=pa.int16(),
    )

    # Number venues within their district, grid by grid (gates of a grid first).
    district = places.grid_district[grid]
    order = np.lexsort((np.arange(grid.size), kind != GATE, grid, district))
    sequence = np.empty(grid.size, dtype=np.int64)
    sequence[order] = rank_of_sorted_keys(district[order]) + 1
    if sequence.max(initial=0) > 999_999:
        raise ValueError("more than 999,999 venues in one district; the venue sequence overflows")
    county = np.array([int(d.county_code) for d in tables.DISTRICTS], dtype=np.int64)
    codes = join("V", zero_padded(county[district] * 1_000_000 + sequence, 12))

    lat_lo, lat_hi = tables.LAT_RANGE
    lon_lo, lon_hi = tables.LON_RANGE
    take = pa.array(order)
    table = pa.table(
        {
            "venue_code": codes.take(take),
            "name": names.take(take),
            "kind": pick(KINDS, kind[order]),
            "lat": np.round(np.clip(lat, lat_lo, lat_hi), 6)[order],
            "lon": np.round(np.clip(lon, lon_lo, lon_hi), 6)[order],
            "grid_code": places.grid_codes.take(pa.array(grid[order])),
            "dwell_minutes": dwell_all.take(take),
        }
    )
    return Venues(table=table, grid=grid[order], kind=kind[order], compound=compound[order])


def _stems(names: pa.Array) -> pa.Array:
    """``花桥社区`` → ``花桥``."""
    return pc.utf8_slice_codeunits(names, 0, -2)
