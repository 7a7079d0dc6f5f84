"""Moments given as text (job arguments, command options): ISO 8601, a naive one read in the
project's time zone, Asia/Shanghai (contracts.md, Times)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def parse_moment(value: str | None) -> dt.datetime:
    """The moment ``value`` names; now when it is empty. Raises ValueError for anything else."""
    if not value:
        return timezone.now()
    moment = dt.datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
