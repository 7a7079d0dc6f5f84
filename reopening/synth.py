"""Synthetic schools and enterprises for a generated city, and a month of their reopening.

``generate_units(divisions, compounds, venues, seed, as_of)`` takes the city's contract tables (a
:class:`synth.city.SynthCity`'s, or the same columns read back from the database) and returns the
``units`` table; ``generate_history(units, seed, as_of)`` the ``unit_status`` and ``staff_back``
tables of the 30 days up to ``as_of``. Deterministic for a seed. :func:`write_units` writes them as
CSV in the contract format (synth.writer).

CSV columns (the import kinds of reopening.importers):

- ``units.csv``: code, name, kind (school/enterprise), sector (a school's stage or an enterprise's
  sector), compound_code (enterprises), venue_code (schools: the city's school venues), staff,
  pupils (schools), registered_on (``YYYY-MM-DD``).
- ``unit_status.csv``: unit_code, at (ISO 8601, +08:00), status (open/suspended), reason.
- ``staff_back.csv``: unit_code, day (``YYYY-MM-DD``), staff_back.

Schools are the city's venues of kind school; their stage follows the name (小学, 中学, 幼儿园).
Enterprises: two to eight per community, at one of its compounds, sectors weighted like a Wuhan
district's small firms, staff drawn log-normally by sector. Reopening follows 2020's order: firms
first (logistics, finance and factories ahead of catering), then senior secondary schools (Wuhan's
final-year pupils returned on 6 May 2020), then the lower stages; kindergartens mostly stay shut.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa

from reopening.choices import Sector, UnitKind

HISTORY_DAYS = 30
REGISTERED_BEFORE = 40  # units are on the register before the month of history starts

ENTERPRISE_SECTORS: dict[str, tuple[float, int, float, tuple[str, ...]]] = {
    # sector: (share of firms, median staff, share reopened within the month, name suffixes)
    Sector.MANUFACTURING: (0.18, 120, 0.85, ("机械厂", "电子厂", "制衣厂", "食品厂")),
    Sector.CONSTRUCTION: (0.10, 80, 0.85, ("建筑公司", "建设工程公司")),
    Sector.RETAIL: (0.22, 15, 0.75, ("超市", "便利店", "商行")),
    Sector.CATERING: (0.15, 12, 0.5, ("餐馆", "面馆", "酒楼")),
    Sector.LOGISTICS: (0.10, 40, 0.9, ("物流公司", "快递站")),
    Sector.SERVICES: (0.15, 20, 0.6, ("家政服务部", "维修部", "理发店")),
    Sector.FINANCE: (0.04, 60, 0.95, ("银行支行", "保险营业部")),
    Sector.OTHER: (0.06, 20, 0.6, ("文化公司", "科技公司")),
}
SCHOOL_STAGES: dict[str, tuple[int, int, int, float]] = {
    # stage: (pupils low, high, pupils per staff member, share reopened within the month)
    Sector.KINDERGARTEN: (100, 400, 8, 0.05),
    Sector.PRIMARY: (400, 2000, 17, 0.4),
    Sector.JUNIOR_SECONDARY: (500, 1800, 13, 0.7),
    Sector.SENIOR_SECONDARY: (600, 2500, 12, 0.9),
    Sector.VOCATIONAL: (500, 3000, 15, 0.6),
}
SUSPENDED_SHARE = 0.03
SCHOOL_REASON = "区教育局复学名单 / district education bureau reopening list"
FIRM_REASON = "区经信局复工复产名单 / district economy bureau resumption list"
SUSPEND_REASON = "所在小区出现确诊病例 / confirmed case in the compound"


def _column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()


def _stage_of(name: str, rng: np.random.Generator) -> str:
    if name.endswith("幼儿园"):
        return Sector.KINDERGARTEN
    if name.endswith("小学"):
        return Sector.PRIMARY
    if name.endswith("中学"):
        return (Sector.JUNIOR_SECONDARY, Sector.SENIOR_SECONDARY, Sector.VOCATIONAL)[
            int(rng.choice(3, p=[0.5, 0.4, 0.1]))
        ]
    return Sector.PRIMARY


def generate_units(divisions: pa.Table, compounds: pa.Table, venues: pa.Table, seed: int, as_of: dt.date) -> pa.Table:
    """The ``units`` table: one school per school venue, a few enterprises per community."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 12001]))
    registered = (as_of - dt.timedelta(days=REGISTERED_BEFORE)).isoformat()
    rows: list[dict] = []
    kinds = _column(venues, "kind")
    for code, name, kind in zip(_column(venues, "venue_code"), _column(venues, "name"), kinds, strict=True):
        if kind != "school":
            continue
        stage = _stage_of(name, rng)
        low, high, ratio, _share = SCHOOL_STAGES[stage]
        pupils = int(rng.integers(low, high + 1))
        rows.append(
            {
                "code": "S" + code.removeprefix("V"),
                "name": name,
                "kind": UnitKind.SCHOOL.value,
                "sector": str(stage),
                "compound_code": "",
                "venue_code": code,
                "staff": max(5, round(pupils / ratio)),
                "pupils": pupils,
                "registered_on": registered,
            }
        )
    by_community: dict[str, list[str]] = {}
    for compound, grid in zip(_column(compounds, "compound_code"), _column(compounds, "grid_code"), strict=True):
        by_community.setdefault(str(grid)[:12], []).append(compound)
    names = dict(zip(_column(divisions, "code"), _column(divisions, "name"), strict=True))
    sectors = list(ENTERPRISE_SECTORS)
    shares = np.array([ENTERPRISE_SECTORS[s][0] for s in sectors])
    for community in sorted(by_community):
        stem = str(names.get(community, "")).removesuffix("社区") or "江城"
        places = sorted(by_community[community])
        for n in range(int(min(8, 2 + rng.poisson(3)))):
            sector = sectors[int(rng.choice(len(sectors), p=shares / shares.sum()))]
            _share, median, _open, suffixes = ENTERPRISE_SECTORS[sector]
            rows.append(
                {
                    "code": f"E{community}{n + 1:02d}",
                    "name": f"{stem}{suffixes[int(rng.integers(len(suffixes)))]}{n + 1}",
                    "kind": UnitKind.ENTERPRISE.value,
                    "sector": str(sector),
                    "compound_code": places[int(rng.integers(len(places)))],
                    "venue_code": "",
                    "staff": max(3, round(median * float(rng.lognormal(0.0, 0.8)))),
                    "pupils": None,
                    "registered_on": registered,
                }
            )
    schema = pa.schema(
        [
            ("code", pa.string()),
            ("name", pa.string()),
            ("kind", pa.string()),
            ("sector", pa.string()),
            ("compound_code", pa.string()),
            ("venue_code", pa.string()),
            ("staff", pa.int64()),
            ("pupils", pa.int64()),
            ("registered_on", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _reopen_share(kind: str, sector: str) -> float:
    return SCHOOL_STAGES[sector][3] if kind == UnitKind.SCHOOL else ENTERPRISE_SECTORS[sector][2]


def generate_history(
    units: pa.Table, seed: int, as_of: dt.date, keep_closed: tuple[str, ...] = ()
) -> tuple[pa.Table, pa.Table]:
    """``unit_status`` and ``staff_back`` over the ``HISTORY_DAYS`` up to ``as_of``; the units of
    ``keep_closed`` never reopen (the demo's school applies through Linli instead)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 12002]))
    first = as_of - dt.timedelta(days=HISTORY_DAYS - 1)
    status_rows: list[dict] = []
    staff_rows: list[dict] = []
    for code, kind, sector, staff in zip(
        _column(units, "code"), _column(units, "kind"), _column(units, "sector"), _column(units, "staff"), strict=True
    ):
        draw = rng.random(4)
        if code in keep_closed or draw[0] >= _reopen_share(kind, sector):
            continue
        # firms front-loaded, schools later in the month (2020: work resumed before classes)
        shape = (1.5, 2.5) if kind == UnitKind.ENTERPRISE else (3.0, 2.0)
        opened = first + dt.timedelta(days=int((HISTORY_DAYS - 1) * rng.beta(*shape)))
        status_rows.append(
            {
                "unit_code": code,
                "at": f"{opened.isoformat()}T08:{int(draw[1] * 60):02d}:00+08:00",
                "status": "open",
                "reason": SCHOOL_REASON if kind == UnitKind.SCHOOL else FIRM_REASON,
            }
        )
        last = as_of
        if draw[2] < SUSPENDED_SHARE and (as_of - opened).days > 3:
            last = opened + dt.timedelta(days=int(rng.integers(3, (as_of - opened).days + 1)))
            status_rows.append(
                {
                    "unit_code": code,
                    "at": f"{last.isoformat()}T18:00:00+08:00",
                    "status": "suspended",
                    "reason": SUSPEND_REASON,
                }
            )
        days = (last - opened).days + 1
        share = np.minimum(0.97, 0.45 + 0.05 * np.arange(days) + rng.normal(0, 0.04, days)).clip(0.1, 1.0)
        for i, value in enumerate(share):
            staff_rows.append(
                {
                    "unit_code": code,
                    "day": (opened + dt.timedelta(days=i)).isoformat(),
                    "staff_back": min(int(staff), round(float(staff) * float(value))),
                }
            )
    status = pa.Table.from_pylist(
        status_rows,
        schema=pa.schema(
            [("unit_code", pa.string()), ("at", pa.string()), ("status", pa.string()), ("reason", pa.string())]
        ),
    )
    back = pa.Table.from_pylist(
        staff_rows, schema=pa.schema([("unit_code", pa.string()), ("day", pa.string()), ("staff_back", pa.int64())])
    )
    return status, back


def for_city(city, seed: int, as_of: dt.date | None = None) -> dict[str, pa.Table]:
    """The three tables for a :class:`synth.city.SynthCity`."""
    day = as_of or city.as_of
    units = generate_units(city.divisions, city.compounds, city.venues, seed, day)
    status, back = generate_history(units, seed, day)
    return {"units": units, "unit_status": status, "staff_back": back}


def write_units(tables: Mapping[str, pa.Table], out_dir: Path | str) -> dict[str, Path]:
    """Write ``units.csv``, ``unit_status.csv`` and ``staff_back.csv`` (synth.writer's format)."""
    from synth.writer import write_tables

    return write_tables(tables, out_dir)
