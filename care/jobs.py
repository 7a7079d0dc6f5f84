"""Background work of key-group care: overdue visits become tasks, once a day."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

DAILY = 1440


@job("care.overdue_visits")
def overdue_visits() -> dict:
    """Open a care_visit task for every resident whose visit is overdue (a re-run opens nothing
    twice: care.visits.do_open_overdue_visits)."""
    from care.visits import do_open_overdue_visits

    return {"opened": do_open_overdue_visits()}


def schedule() -> None:
    if (DAILY, "care.overdue_visits") not in PERIODIC:
        every(DAILY, "care.overdue_visits")
