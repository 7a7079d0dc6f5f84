"""Background jobs of the task engine (core.jobs)."""

from __future__ import annotations

from core.jobs import job
from core.moments import parse_moment
from tasks.escalation import sweep_overdue


@job("tasks.sweep_overdue")
def sweep_overdue_job(now: str | None = None) -> dict:
    """The overdue sweep; ``now`` (ISO 8601, for replays and tests) defaults to the present."""
    return sweep_overdue(parse_moment(now))
