"""The standing early-warning run, once a day after midnight (issue #9, item 2)."""

from __future__ import annotations

import datetime as dt

from core.jobs import PERIODIC, every, job

DAILY = 1440


@job("ewarn.daily")
def daily(day: str | None = None) -> dict:
    """Recount the recent days of the record signals (late records), then judge yesterday and any day
    the job missed; ``day`` (ISO) judges that one day instead."""
    from django.utils import timezone

    from core.policy import policy
    from ewarn.services import days_to_judge, do_run_day
    from ewarn.signals import RECORD_SIGNALS, recount

    today = timezone.localdate()
    recount(today - dt.timedelta(days=int(policy().ewarn_recount_days)), today, RECORD_SIGNALS)
    days = [dt.date.fromisoformat(day)] if day else days_to_judge(today)
    runs = [do_run_day(d) for d in days]
    return {
        "days": [r.day.isoformat() for r in runs],
        "alarms": sum(r.alarms for r in runs),
        "alerts_opened": sum(r.alerts_opened for r in runs),
    }


def schedule() -> None:
    if (DAILY, "ewarn.daily") not in PERIODIC:
        every(DAILY, "ewarn.daily")
