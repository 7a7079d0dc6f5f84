"""Facilities, vehicles and a day of transfer requests for a generated city (issue #8 item 5), as
tables for ``linli synth --transport``: ``facilities.csv`` (import kind ``facilities``),
``vehicles.csv`` and ``transfer_requests.csv`` (the planner's inputs, as benchmarks/bench_dispatch.py
uses them), placed within the city's own compounds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from beds.synth import facilities_for
from dispatch.synth import transfers_day, vehicles_for
from synth.city import SynthCity

TRANSFERS = 500


def _table(rows: list[dict]) -> pa.Table:
    """Lists (categories taken or carried) become ';'-separated, as the contracts write them."""
    flat = [{k: ";".join(v) if isinstance(v, list | tuple) else v for k, v in row.items()} for row in rows]
    return pa.Table.from_pylist(flat)


def generate_transport(city: SynthCity, seed: int, transfers: int = TRANSFERS) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed + 8)  # issue #8: its own stream, so the city stays the same
    compounds = city.compounds.to_pylist()
    facilities = facilities_for(city.divisions, rng, compounds)
    lat = np.array([c["lat"] for c in compounds if c.get("lat") is not None], dtype=float)
    lon = np.array([c["lon"] for c in compounds if c.get("lon") is not None], dtype=float)
    districts = []
    for d in city.divisions.to_pylist():
        if d["level"] != "district":
            continue
        near = [c for c in compounds if str(c.get("grid_code", "")).startswith(d["code"][:6]) and c.get("lat")]
        if near:
            districts.append(
                {
                    "code": d["code"],
                    "lat": float(np.mean([c["lat"] for c in near])),
                    "lon": float(np.mean([c["lon"] for c in near])),
                }
            )
    vehicles = vehicles_for(districts, rng)
    for vehicle in vehicles:
        vehicle.pop("district", None)
    box = (float(lat.min()), float(lat.max()), float(lon.min()), float(lon.max())) if len(lat) else None
    requests = transfers_day(transfers, rng, box) if box else []
    return {
        "facilities": _table(facilities),
        "vehicles": _table(vehicles),
        "transfer_requests": _table(requests),
    }
