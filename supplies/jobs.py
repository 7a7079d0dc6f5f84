"""Background work of the supply reserves: the daily re-check of shortfalls."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

DAILY = 1440


@job("supplies.recheck_shortfalls")
def recheck_shortfalls() -> dict:
    """Open the restock task of every stock below its minimum without one, complete those restocked
    (supplies.services.do_recheck_shortfalls; a re-run opens nothing twice)."""
    from supplies.services import do_recheck_shortfalls

    return do_recheck_shortfalls()


def schedule() -> None:
    if (DAILY, "supplies.recheck_shortfalls") not in PERIODIC:
        every(DAILY, "supplies.recheck_shortfalls")
