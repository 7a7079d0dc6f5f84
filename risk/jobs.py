"""The risk recompute as a job (core.jobs): periodic, and on demand from the list page and the CLI."""

from __future__ import annotations

from core.jobs import job
from core.moments import parse_moment
from risk.services import recompute_risk_areas

# core.jobs.every builds a crontab on the minute field (``*/N``), so it cannot say "daily"; hourly
# keeps every area within an hour of its rule (the recompute is a few aggregate queries, idempotent).
RECOMPUTE_EVERY_MINUTES = 60


@job("risk.recompute")
def recompute_job(as_of: str | None = None) -> dict:
    """Rate every risk area at ``as_of`` (ISO 8601, for replays and tests; now by default)."""
    return recompute_risk_areas(parse_moment(as_of))
