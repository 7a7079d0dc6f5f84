"""Synthetic vehicles, facilities and a day of transfer requests (plain dicts, no database), for the
demo, the tests and benchmarks/bench_dispatch.py.

Proportions are Linli's assumptions, loosely after Wuhan in February 2020: close contacts far
outnumber cases; most confirmed cases are mild (≈ 80 %, the share sent to shelter hospitals), a
fifth severe or critical.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dispatch.planning import Destination, PendingTransfer, PlanParams, Problem, VehicleState

# lat/lon box of central Wuhan (issue #8: a Wuhan-sized box)
WUHAN_BOX = (30.4, 30.8, 114.0, 114.6)
CATEGORY_SHARES = {
    "close_contact": 0.55,
    "confirmed": 0.20,
    "fever": 0.12,
    "suspected": 0.08,
    "asymptomatic": 0.05,
}
CONFIRMED_SEVERITY = {"mild": 0.8, "severe": 0.15, "critical": 0.05}
INFECTIOUS = ("confirmed", "asymptomatic", "suspected", "fever")
# kind, seats, categories (Vehicle.categories), share of the fleet
FLEET = (
    ("negative_pressure", 1, INFECTIOUS, 0.25),
    ("ambulance", 2, INFECTIOUS, 0.35),
    ("bus", 20, ("close_contact", "secondary_contact"), 0.25),
    ("bus", 15, ("confirmed", "asymptomatic"), 0.15),
)
# kind, categories, share of the facilities, free beds (low, high)
FACILITY_MIX = (
    ("designated_hospital", ("confirmed", "asymptomatic"), 0.2, (2, 7)),
    ("shelter_hospital", ("confirmed", "asymptomatic"), 0.2, (6, 16)),
    ("central_isolation", ("suspected", "fever"), 0.25, (5, 15)),
    ("quarantine_hotel", ("close_contact", "secondary_contact"), 0.35, (10, 30)),
)


def _point(rng: np.random.Generator, box: tuple[float, float, float, float], n: int) -> tuple[np.ndarray, np.ndarray]:
    lat0, lat1, lon0, lon1 = box
    return rng.uniform(lat0, lat1, n), rng.uniform(lon0, lon1, n)


def vehicles_for(districts: Sequence[dict], rng: np.random.Generator, total: int | None = None) -> list[dict]:
    """A fleet spread over ``districts`` (dicts with ``id``/``code``, ``lat``, ``lon``): every kind of
    FLEET in its share, based near the district's centre. ``total`` defaults to 4 per district."""
    if not districts:
        return []
    total = total or 4 * len(districts)
    kinds = []
    for kind, seats, categories, share in FLEET:
        kinds += [(kind, seats, categories)] * max(round(total * share), 1)
    kinds = kinds[:total]
    out = []
    for i, (kind, seats, categories) in enumerate(kinds):
        district = districts[i % len(districts)]
        out.append(
            {
                "code": f"V{i + 1:03d}",
                "kind": kind,
                "seats": seats,
                "categories": list(categories),
                "district": district.get("id"),
                "district_code": district.get("code", ""),
                "lat": float(district["lat"]) + float(rng.normal(0, 0.01)),
                "lon": float(district["lon"]) + float(rng.normal(0, 0.01)),
            }
        )
    return out


def facilities(n: int, rng: np.random.Generator, box: tuple[float, float, float, float] = WUHAN_BOX) -> list[dict]:
    """``n`` facilities of the four kinds in FACILITY_MIX, with a few free beds each (some fill)."""
    lat, lon = _point(rng, box, n)
    out = []
    counts = [max(round(n * share), 1) for *_x, share, _b in FACILITY_MIX]
    counts[-1] = n - sum(counts[:-1])
    i = 0
    for (kind, categories, _share, (low, high)), count in zip(FACILITY_MIX, counts, strict=True):
        for _ in range(count):
            out.append(
                {
                    "code": f"F{i + 1:03d}",
                    "kind": kind,
                    "categories": list(categories),
                    "lat": float(lat[i]),
                    "lon": float(lon[i]),
                    "beds_free": int(rng.integers(low, high + 1)),
                }
            )
            i += 1
    return out


def transfers_day(
    n: int,
    rng: np.random.Generator,
    box: tuple[float, float, float, float] = WUHAN_BOX,
    waited_minutes: tuple[int, int] = (0, 60),
) -> list[dict]:
    """``n`` people waiting for a ride: category in CATEGORY_SHARES, severity for confirmed cases,
    pick-up point in ``box``, waiting since 0–60 minutes ago (``waiting_since_s`` ≤ 0)."""
    categories = rng.choice(list(CATEGORY_SHARES), size=n, p=list(CATEGORY_SHARES.values()))
    severities = rng.choice(list(CONFIRMED_SEVERITY), size=n, p=list(CONFIRMED_SEVERITY.values()))
    lat, lon = _point(rng, box, n)
    waited = rng.integers(waited_minutes[0] * 60, waited_minutes[1] * 60 + 1, size=n)
    return [
        {
            "id": i + 1,
            "category": str(categories[i]),
            "severity": str(severities[i]) if categories[i] == "confirmed" else "mild",
            "lat": float(lat[i]),
            "lon": float(lon[i]),
            "waiting_since_s": -int(waited[i]),
        }
        for i in range(n)
    ]


def problem(
    transfers: int = 500,
    vehicles: int = 60,
    destinations: int = 40,
    seed: int = 0,
    params: PlanParams | None = None,
    box: tuple[float, float, float, float] = WUHAN_BOX,
) -> Problem:
    """A seeded planning instance (the benchmark's, and the tests' at small sizes)."""
    rng = np.random.default_rng(seed)
    lat, lon = _point(rng, box, 13)  # Wuhan has 13 districts
    districts = [{"id": i + 1, "code": f"D{i + 1:02d}", "lat": lat[i], "lon": lon[i]} for i in range(13)]
    fleet = vehicles_for(districts, rng, total=vehicles)
    return Problem(
        transfers=[PendingTransfer(**row) for row in transfers_day(transfers, rng, box)],
        vehicles=[
            VehicleState(v["code"], v["kind"], v["seats"], v["lat"], v["lon"], frozenset(v["categories"]))
            for v in fleet
        ],
        destinations=[
            Destination(f["code"], f["kind"], frozenset(f["categories"]), f["lat"], f["lon"], f["beds_free"])
            for f in facilities(destinations, rng, box)
        ],
        params=params or PlanParams(),
    )
