"""Years of daily early-warning signals for a synthetic city, with one seeded outbreak (issue #9,
item 6): ``pharmacy_sales`` (one pharmacy per community, three product classes) and
``school_absence`` (every school venue's roll call on school days).

Baselines are negative-binomial around a winter-peaking season and a weekly rhythm, so the
detectors see a realistic year. The outbreak is placed around the community of one school and its
nearest neighbours: over its last days antipyretic and cough sales climb to several times their
usual level and the school sends pupils home with fever, which is what the demo's detectors find.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth.city import SynthCity

SIGNAL_DAYS = 3 * 365 + 60  # enough history for CIDARS and Farrington (three past years) to judge
OUTBREAK_DAYS = 6
OUTBREAK_COMMUNITIES = 3
# usual units per pharmacy and day, and how strongly each class follows the winter season
PRODUCTS = {"antipyretic": (10.0, 0.45), "cough": (8.0, 0.5), "antiviral": (1.5, 0.3)}
# an outbreak's extra sales as multiples of the usual level, over its days (last day last)
OUTBREAK_RAMP = np.array([0.4, 0.9, 1.6, 2.4, 3.2, 4.0])
SIZE = 12.0  # negative-binomial size: variance = mean + mean² / SIZE


@dataclass(frozen=True)
class SignalHistory:
    pharmacy_sales: pa.Table
    school_absence: pa.Table
    outbreak_communities: list[str]
    outbreak_first_day: dt.date
    outbreak_last_day: dt.date

    def tables(self) -> dict[str, pa.Table]:
        return {"pharmacy_sales": self.pharmacy_sales, "school_absence": self.school_absence}


def _community_codes(city: SynthCity) -> np.ndarray:
    levels = city.divisions.column("level")
    return np.asarray(city.divisions.filter(pc.equal(levels, "community")).column("code").to_pylist())


def _community_centres(city: SynthCity, n: int) -> np.ndarray:
    places = city.places
    community_of_compound = places.grid_community[places.compound_grid]
    count = np.bincount(community_of_compound, minlength=n).astype(float)
    lat = np.bincount(community_of_compound, weights=places.compound_lat, minlength=n)
    lon = np.bincount(community_of_compound, weights=places.compound_lon, minlength=n)
    with np.errstate(invalid="ignore"):
        return np.column_stack([lat / count, lon / count])


def _season(days: np.ndarray, strength: float) -> np.ndarray:
    """1 + strength at mid-January, 1 − strength at mid-July; weekends a little busier."""
    day_of_year = np.array([d.timetuple().tm_yday for d in days])
    weekend = np.array([d.weekday() >= 5 for d in days])
    return (1 + strength * np.cos(2 * np.pi * (day_of_year - 15) / 365.25)) * np.where(weekend, 1.15, 1.0)


def _school_day(day: dt.date) -> bool:
    """Weekdays outside the winter (20 Jan–15 Feb) and summer (10 Jul–31 Aug) holidays."""
    if day.weekday() >= 5:
        return False
    md = (day.month, day.day)
    return not ((1, 20) <= md <= (2, 15) or (7, 10) <= md <= (8, 31))


def _negative_binomial(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    return rng.negative_binomial(SIZE, SIZE / (SIZE + np.maximum(mean, 1e-9)))


def generate_signal_history(
    city: SynthCity,
    *,
    end: dt.date,
    seed: int,
    days: int = SIGNAL_DAYS,
    outbreak_days: int = OUTBREAK_DAYS,
    district: str | None = None,
) -> SignalHistory:
    """``days`` days of pharmacy sales and school roll calls ending on ``end``, the outbreak in the
    last ``outbreak_days`` of them, around a school of ``district`` (a code) when it has one."""
    if days < outbreak_days or outbreak_days > len(OUTBREAK_RAMP) or outbreak_days < 1:
        raise ValueError(f"need 1 ≤ outbreak days ≤ {len(OUTBREAK_RAMP)} and at least that many days")
    rng = np.random.default_rng([seed, 9])
    calendar = np.array([end - dt.timedelta(days=days - 1 - i) for i in range(days)])
    codes = _community_codes(city)
    centres = _community_centres(city, len(codes))
    venues = city.venue_index
    kinds = np.asarray(city.venues.column("kind").to_pylist())
    schools = np.flatnonzero(kinds == "school")
    school_community = city.places.grid_community[venues.grid[schools]]

    placed = np.flatnonzero(~np.isnan(centres[:, 0]))
    candidates = school_community
    if district is not None and len(schools):
        inside = np.char.startswith(codes[school_community].astype(str), district[:6])
        candidates = school_community[inside] if inside.any() else school_community
    centre = candidates[rng.integers(len(candidates))] if len(candidates) else placed[rng.integers(len(placed))]
    distance = np.hypot(*(centres[placed] - centres[centre]).T)
    cluster = placed[np.argsort(distance)[:OUTBREAK_COMMUNITIES]]
    ramp = np.zeros(days)
    ramp[days - outbreak_days :] = OUTBREAK_RAMP[len(OUTBREAK_RAMP) - outbreak_days :]

    sales = []
    for product, (usual, strength) in PRODUCTS.items():
        mean = np.outer(rng.gamma(8.0, 1 / 8.0, len(codes)) * usual, _season(calendar, strength))
        if product != "antiviral":
            mean[cluster] *= 1 + ramp
        units = _negative_binomial(rng, mean)
        sales.append(
            pa.table(
                {
                    "pharmacy_code": np.repeat([f"YD{c}" for c in codes], days),
                    "date": np.tile([d.isoformat() for d in calendar], len(codes)),
                    "product_class": np.full(len(codes) * days, product),
                    "units": units.reshape(-1),
                    "area_code": np.repeat(codes, days),
                }
            )
        )

    term = np.array([_school_day(d) for d in calendar])
    enrolled = rng.integers(600, 1500, len(schools))
    absence_rate = 0.02 * _season(calendar[term], 0.4)
    absent = rng.binomial(enrolled[:, None], np.minimum(absence_rate[None, :], 0.5))
    fever = rng.binomial(absent, 0.25)
    in_cluster = np.isin(school_community, cluster)
    extra = rng.poisson(np.outer(in_cluster, ramp[term] * 6.0))
    fever, absent = fever + extra, np.minimum(absent + extra, enrolled[:, None])
    fever = np.minimum(fever, absent)
    school_codes = np.asarray(city.venues.column("venue_code").to_pylist())[schools]
    n_term = int(term.sum())
    absence = pa.table(
        {
            "school_code": pa.array(np.repeat(school_codes, n_term), pa.string()),
            "date": pa.array(np.tile([d.isoformat() for d in calendar[term]], len(schools)), pa.string()),
            "enrolled": pa.array(np.repeat(enrolled, n_term), pa.int64()),
            "absent": pa.array(absent.reshape(-1), pa.int64()),
            "absent_fever": pa.array(fever.reshape(-1), pa.int64()),
        }
    )
    return SignalHistory(
        pharmacy_sales=pa.concat_tables(sales),
        school_absence=absence,
        outbreak_communities=[str(codes[i]) for i in cluster],
        outbreak_first_day=end - dt.timedelta(days=outbreak_days - 1),
        outbreak_last_day=end,
    )
