"""Synthetic facilities for a generated city: contract rows of the ``facilities`` import kind.

Per district (domain.md §3, where each category is placed): one designated hospital, one shelter
hospital (方舱), one central isolation site, one or two quarantine hotels and one fever clinic, placed
near the district's compounds, with bed counts in the ranges Wuhan's early 2020 facilities had
(designated hospitals 200–800 beds, shelter hospitals 500–2,000, hotels 100–300). Some approved beds
are not open yet, as in Wuhan's own count (59,120 approved, 43,179 opened).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from beds.choices import FacilityKind

WUHAN_CENTRE = (30.593, 114.305)  # used when a district has no compound with coordinates
COORD_SD = 0.012  # about 1.3 km: a facility lies among the district's compounds, not on one

# kind -> (code tag, name suffix, approved beds low/high, share of approved beds open low/high)
PLAN: dict[str, tuple[str, str, int, int, float, float]] = {
    FacilityKind.DESIGNATED_HOSPITAL: ("DH", "定点医院", 200, 800, 0.7, 1.0),
    FacilityKind.SHELTER_HOSPITAL: ("FC", "方舱医院", 500, 2000, 0.5, 1.0),
    FacilityKind.CENTRAL_ISOLATION: ("CI", "集中隔离点", 80, 300, 0.8, 1.0),
    FacilityKind.QUARANTINE_HOTEL: ("QH", "隔离酒店", 100, 300, 0.8, 1.0),
    FacilityKind.FEVER_CLINIC: ("FV", "发热门诊", 20, 60, 1.0, 1.0),
}
HOTEL_NAMES = ("如家", "汉庭", "锦江之星", "7天", "维也纳", "格林豪泰")


def _rows(table: Any) -> list[dict]:
    """Rows of a pyarrow table or an iterable of dicts."""
    if table is None:
        return []
    if hasattr(table, "to_pylist"):
        return table.to_pylist()
    return list(table)


def _district_of(code: str) -> str:
    """A street, community or grid code's district (its first six digits, domain.md §1)."""
    return f"{code[:6]}000000"


def facilities_for(
    divisions: Iterable[dict] | Any, rng: np.random.Generator, compounds: Iterable[dict] | Any = None
) -> list[dict]:
    """``facilities`` rows for every district of ``divisions`` (a contract table: code, name,
    level), placed near that district's ``compounds`` (grid_code, lat, lon) when given."""
    districts = [d for d in _rows(divisions) if d.get("level") == "district"]
    near: dict[str, list[tuple[float, float]]] = {}
    for c in _rows(compounds):
        if c.get("lat") is not None and c.get("lon") is not None and c.get("grid_code"):
            near.setdefault(_district_of(str(c["grid_code"])), []).append((float(c["lat"]), float(c["lon"])))
    rows: list[dict] = []
    for district in sorted(districts, key=lambda d: d["code"]):
        points = near.get(district["code"]) or [WUHAN_CENTRE]
        short = str(district["name"]).removesuffix("区") or str(district["name"])
        hotels = int(rng.integers(1, 3))
        kinds = [
            FacilityKind.DESIGNATED_HOSPITAL,
            FacilityKind.SHELTER_HOSPITAL,
            FacilityKind.CENTRAL_ISOLATION,
            *[FacilityKind.QUARANTINE_HOTEL] * hotels,
            FacilityKind.FEVER_CLINIC,
        ]
        seen: dict[str, int] = {}
        for kind in kinds:
            tag, suffix, low, high, open_low, open_high = PLAN[kind]
            seen[tag] = seen.get(tag, 0) + 1
            lat, lon = points[int(rng.integers(len(points)))]
            approved = int(rng.integers(low, high + 1))
            opened = min(approved, round(approved * float(rng.uniform(open_low, open_high))))
            if kind == FacilityKind.QUARANTINE_HOTEL:
                name = f"{short}{HOTEL_NAMES[int(rng.integers(len(HOTEL_NAMES)))]}酒店（{suffix}{seen[tag]}）"
            else:
                name = f"{short}{suffix}"
            rows.append(
                {
                    "code": f"{tag}{district['code'][:6]}{seen[tag]:02d}",
                    "name": name,
                    "kind": str(kind),
                    "categories": "",  # the kind's defaults (beds.choices.DEFAULT_CATEGORIES)
                    "district_code": district["code"],
                    "address": f"{district['name']}{int(rng.integers(1, 900))}号",
                    "lat": round(lat + float(rng.normal(0, COORD_SD)), 6),
                    "lon": round(lon + float(rng.normal(0, COORD_SD)), 6),
                    "beds_approved": approved,
                    "beds_open": opened,
                }
            )
    return rows
