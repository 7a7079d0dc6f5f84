"""Moments and days in the city's time zone (Asia/Shanghai, contracts.md, Times): moments given as
text (job arguments, command options), a run of calendar days as timestamp bounds, and the SQL for a
stored timestamp's calendar day."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone


def parse_moment(value: str | None) -> dt.datetime:
    """The moment ``value`` names; now when it is empty. Raises ValueError for anything else."""
    if not value:
        return timezone.now()
    moment = dt.datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def local_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[first 00:00, last+1 00:00) in the city's time zone, for index-friendly timestamp filters.

    Given in UTC: raw SQL on SQLite compares the stored UTC text with the parameter's text, and a
    bound written as ``…00:00:00+08:00`` would sort after the evening before it (between midnight
    and 08:00 in Wuhan, today's records were counted as yesterday's)."""
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC),
    )


def local_day_sql(column: str) -> str:
    """SQL for the city's calendar day of a stored (UTC) timestamp column."""
    from core.imports.sql import is_postgres

    if is_postgres():
        return f"CAST(({column} AT TIME ZONE '{settings.TIME_ZONE}') AS date)"
    offset = timezone.now().astimezone(timezone.get_current_timezone()).utcoffset()
    return f"date({column}, '{int(offset.total_seconds()) // 3600:+d} hours')"
