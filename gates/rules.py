"""The health-code reason the gates contribute (healthcode.rules.SOURCES)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db.models import Exists, OuterRef

from core.policy import Policy
from healthcode.choices import Rule
from healthcode.rules import Reason


def gate_fever_reasons(now: dt.datetime, rules: Policy, only: Sequence[int] | None) -> Iterable[Reason]:
    """domain.md §6–7: a checkpoint reading at or above the fever threshold within
    ``healthcode_fever_hold_hours``, with no normal reading after it, makes the code yellow."""
    from gates.models import GateCheck

    threshold = rules.fever_threshold_c
    start = now - dt.timedelta(hours=rules.healthcode_fever_hold_hours)
    normal_later = GateCheck.objects.filter(
        person_id=OuterRef("person_id"), at__gt=OuterRef("at"), temperature__lt=threshold
    )
    feverish = GateCheck.objects.filter(temperature__gte=threshold, at__gte=start, at__lte=now)
    if only is not None:
        feverish = feverish.filter(person_id__in=only)
    rows = feverish.exclude(Exists(normal_later)).values_list("person_id", "at", "temperature", "gate__name")
    for person_id, at, temperature, gate_name in rows:
        yield Reason(person_id, Rule.GATE_FEVER, at, f"{temperature} °C, {gate_name}")
