"""Recompute codes when what they rest on changes: categories, travel imports, new residents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from core.policy import policy
from healthcode.choices import ChangeCause


def recompute_people(person_ids: Iterable[int]) -> None:
    """cases.services.ON_STATUS_CHANGED: a category or state changed for these people."""
    from healthcode.services import recompute

    recompute(person_ids, cause=ChangeCause.CASE)


def recompute_after_import(kind: str) -> None:
    """core.imports AFTER_IMPORT_HOOKS: travel records can colour codes; new residents need one."""
    from feeds.models import TravelRecord
    from healthcode.services import recompute

    if kind == "travel":
        start = timezone.now() - dt.timedelta(days=policy().healthcode_travel_days)
        arrived = TravelRecord.objects.filter(arrived_at__gte=start, person_id__isnull=False)
        recompute(arrived.values_list("person_id", flat=True).distinct(), cause=ChangeCause.TRAVEL)
    elif kind == "residents":
        recompute(None, cause=ChangeCause.FIRST)
