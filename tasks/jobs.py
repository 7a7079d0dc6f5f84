"""Background jobs of the task engine (core.jobs)."""

from __future__ import annotations

import datetime as dt

from core.jobs import job
from tasks.escalation import sweep_overdue


@job("tasks.sweep_overdue")
def sweep_overdue_job(now: str | None = None) -> dict:
    """The overdue sweep; ``now`` (ISO 8601, for replays and tests) defaults to the present."""
    return sweep_overdue(dt.datetime.fromisoformat(now) if now else None)
