"""The presence index: stays laid out for the two lookups tracing makes, memory-mapped.

Tracing one case asks two things again and again: "where was this person, when?" and "who was at
this venue around then?". Sorted arrays answer both with binary searches:

- by person: stays sorted by (person, start) with an offset per person (CSR), so a person's stays
  are one slice;
- by venue: stays sorted by (venue, start) under one int64 key ``venue << 32 | start``, so the
  stays at a venue starting in a time range are one ``searchsorted`` pair; with the longest stay
  at each venue known, every stay that can overlap an interval lies in that range.

Each published version is a directory of ``.npy`` files written from the DuckDB store after an
import and switched to by rewriting ``CURRENT`` atomically; readers map the files (the page cache
keeps them in memory where they fit) and never touch the DuckDB file, so imports do not block them.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracing import store

VENUE_SHIFT = 32  # start times are epoch seconds (< 2**32 until 2106)
ARRAYS = (
    "p_ptr",
    "p_venue",
    "p_t0",
    "p_t1",
    "v_key",
    "v_person",
    "v_t0",
    "v_t1",
    "venue_maxdur",
    "hh_of",
    "hh_sorted",
    "hh_person",
    "id_by_pkey",
    "ids_sorted",
    "pkey_of_sorted",
)
KEEP_VERSIONS = 2


@dataclass(frozen=True)
class PresenceIndex:
    version: int
    p_ptr: np.ndarray  # int64[n_persons + 1]: person p's stays are p_*[p_ptr[p]:p_ptr[p + 1]]
    p_venue: np.ndarray  # int32
    p_t0: np.ndarray  # int64 epoch seconds
    p_t1: np.ndarray
    v_key: np.ndarray  # int64 venue << 32 | t0, ascending
    v_person: np.ndarray  # int32
    v_t0: np.ndarray
    v_t1: np.ndarray
    venue_maxdur: np.ndarray  # int64 per venue key: the longest stay there
    hh_of: np.ndarray  # int64 per person: household key or -1
    hh_sorted: np.ndarray  # household keys ascending, aligned with hh_person
    hh_person: np.ndarray  # int32
    id_by_pkey: np.ndarray  # bytes: identity number of each person key
    ids_sorted: np.ndarray  # identity numbers ascending, aligned with pkey_of_sorted
    pkey_of_sorted: np.ndarray

    @property
    def persons(self) -> int:
        return int(self.p_ptr.size - 1)

    @property
    def stays(self) -> int:
        return int(self.p_t0.size)

    def pkeys(self, id_numbers: list[str]) -> np.ndarray:
        """Person keys of identity numbers; -1 for numbers the store has never seen."""
        if not id_numbers:
            return np.zeros(0, dtype=np.int64)
        wanted = np.array([i.encode() for i in id_numbers], dtype=self.ids_sorted.dtype)
        at = np.searchsorted(self.ids_sorted, wanted)
        at = np.minimum(at, max(self.ids_sorted.size - 1, 0))
        if self.ids_sorted.size == 0:
            return np.full(len(id_numbers), -1, dtype=np.int64)
        found = self.ids_sorted[at] == wanted
        return np.where(found, self.pkey_of_sorted[at], -1).astype(np.int64)

    def id_numbers(self, pkeys: np.ndarray) -> list[str]:
        return [b.decode() for b in self.id_by_pkey[np.asarray(pkeys, dtype=np.int64)]]


def empty_index() -> PresenceIndex:
    zero = np.zeros(0, dtype=np.int64)
    return PresenceIndex(
        0,
        np.zeros(1, dtype=np.int64),
        zero.astype(np.int32),
        zero,
        zero,
        zero,
        zero.astype(np.int32),
        zero,
        zero,
        zero,
        zero,
        zero,
        zero.astype(np.int32),
        np.zeros(0, dtype="S18"),
        np.zeros(0, dtype="S18"),
        zero,
    )


def _current_file() -> Path:
    return store.store_dir() / "CURRENT"


def publish() -> int:
    """Build the index of the store's current version and make it the one readers use."""
    with store.connect() as con:
        version = store.version(con)
        arrays = _build(con)
    root = store.store_dir()
    target = root / f"index-{version:08d}"
    scratch = root / f".index-{version:08d}-{os.getpid()}-{time.monotonic_ns()}"
    scratch.mkdir(parents=True)
    for name, array in arrays.items():
        np.save(scratch / f"{name}.npy", array, allow_pickle=False)
    if target.exists():
        shutil.rmtree(target)
    os.replace(scratch, target)
    store.write_manifest(_current_file(), {"version": version, "directory": target.name})
    _prune(root, keep=target.name)
    return version


def _prune(root: Path, keep: str) -> None:
    versions = sorted(p for p in root.glob("index-*") if p.is_dir())
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def _build(con) -> dict[str, np.ndarray]:
    n_persons = int(con.execute("SELECT coalesce(max(pkey), -1) + 1 FROM persons").fetchall()[0][0])
    stays = con.sql("SELECT pkey, vkey, t0, t1 FROM stays ORDER BY pkey, t0, vkey, t1").to_arrow_table()
    pkey = stays.column("pkey").to_numpy().astype(np.int64)
    p_venue = stays.column("vkey").to_numpy().astype(np.int32)
    p_t0 = stays.column("t0").to_numpy().astype(np.int64)
    p_t1 = stays.column("t1").to_numpy().astype(np.int64)
    p_ptr = np.zeros(n_persons + 1, dtype=np.int64)
    np.cumsum(np.bincount(pkey, minlength=n_persons), out=p_ptr[1:])

    v_key = (p_venue.astype(np.int64) << VENUE_SHIFT) | p_t0
    order = np.argsort(v_key, kind="stable")
    n_venues = int(con.execute("SELECT coalesce(max(vkey), -1) + 1 FROM venues").fetchall()[0][0])
    venue_maxdur = np.zeros(max(n_venues, int(p_venue.max(initial=-1)) + 1), dtype=np.int64)
    for vkey, longest in con.execute("SELECT vkey, max(t1 - t0) FROM stays GROUP BY vkey").fetchall():
        venue_maxdur[vkey] = longest

    households = con.sql("SELECT pkey, hkey FROM households ORDER BY hkey, pkey").to_arrow_table()
    hh_person = households.column("pkey").to_numpy().astype(np.int32)
    hh_sorted = households.column("hkey").to_numpy().astype(np.int64)
    hh_of = np.full(n_persons, -1, dtype=np.int64)
    hh_of[hh_person] = hh_sorted

    persons = con.sql("SELECT id_number FROM persons ORDER BY pkey").to_arrow_table()
    ids = persons.column("id_number").to_pylist()
    width = max((len(i) for i in ids), default=18)
    id_by_pkey = np.array([i.encode() for i in ids], dtype=f"S{max(width, 1)}")
    sorted_order = np.argsort(id_by_pkey, kind="stable")
    return {
        "p_ptr": p_ptr,
        "p_venue": p_venue,
        "p_t0": p_t0,
        "p_t1": p_t1,
        "v_key": v_key[order],
        "v_person": pkey[order].astype(np.int32),
        "v_t0": p_t0[order],
        "v_t1": p_t1[order],
        "venue_maxdur": venue_maxdur,
        "hh_of": hh_of,
        "hh_sorted": hh_sorted,
        "hh_person": hh_person,
        "id_by_pkey": id_by_pkey,
        "ids_sorted": id_by_pkey[sorted_order],
        "pkey_of_sorted": sorted_order.astype(np.int64),
    }


_cache: dict[str, PresenceIndex] = {}
_cache_lock = threading.Lock()


def current() -> PresenceIndex:
    """The published index (mapped once per process and version); an empty one before any scans."""
    path = _current_file()
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        return empty_index()
    directory = store.store_dir() / manifest["directory"]
    key = str(directory)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is None:
            loaded = {name: np.load(directory / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
            cached = PresenceIndex(version=int(manifest["version"]), **loaded)
            _cache.clear()
            _cache[key] = cached
    return cached


def warm(index: PresenceIndex) -> None:
    """Touch every page once so the first traces do not pay for reading the files from disk."""
    for name in ARRAYS:
        array = getattr(index, name)
        if array.size:
            int(array.view(np.uint8)[::4096].sum())
