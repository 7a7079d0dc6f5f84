"""Years of pharmacy sales for the early-warning tests, with a chosen spike."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ewarn.models import PharmacySale
from ewarn.signals import PHARMACY_SIGNALS, recount
from geo.models import Division

DAY = dt.date(2026, 11, 20)
HISTORY = 4 * 365


def sales_history(spike: dict[dt.date, int] | None = None) -> None:
    """Four years of antipyretic sales in both communities; ``spike`` adds units in 江岸 on days."""
    rng = np.random.default_rng(7)
    communities = {c.code: c for c in Division.objects.filter(level="community")}
    rows = []
    for code, community in communities.items():
        units = rng.poisson(20, HISTORY + 10)
        for i in range(HISTORY + 10):
            day = DAY - dt.timedelta(days=HISTORY - 1) + dt.timedelta(days=i)
            extra = (spike or {}).get(day, 0) if code == "420102001001" else 0
            rows.append(
                PharmacySale(
                    pharmacy_code=f"P{code}",
                    day=day,
                    product_class="antipyretic",
                    units=int(units[i]) + extra,
                    community=community,
                    street_id=community.street_id,
                    district_id=community.district_id,
                )
            )
    PharmacySale.objects.bulk_create(rows)
    recount(DAY - dt.timedelta(days=HISTORY), DAY + dt.timedelta(days=10), PHARMACY_SIGNALS)
