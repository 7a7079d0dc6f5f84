"""The risk recompute as a job (core.jobs): periodic, and on demand from the list page and the CLI."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.jobs import job
from risk.services import recompute_risk_areas

# core.jobs.every builds a crontab on the minute field (``*/N``), so it cannot say "daily"; hourly
# keeps every area within an hour of its rule (the recompute is a few aggregate queries, idempotent).
RECOMPUTE_EVERY_MINUTES = 60


def parse_moment(value: str | None) -> dt.datetime:
    """An ISO 8601 moment (naive ones are read in Asia/Shanghai); now when empty."""
    if not value:
        return timezone.now()
    moment = dt.datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


@job("risk.recompute")
def recompute_job(as_of: str | None = None) -> dict:
    """Rate every risk area at ``as_of`` (ISO 8601, for replays and tests; now by default)."""
    return recompute_risk_areas(parse_moment(as_of))
