"""The health-code reason a testing campaign gives: held by a positive pooled tube (domain.md §8)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from campaigns.choices import ParticipantStatus
from core.policy import Policy
from healthcode.choices import Rule
from healthcode.rules import Reason


def pool_hold_reasons(now: dt.datetime, rules: Policy, only: Sequence[int] | None) -> Iterable[Reason]:
    """Everyone held by a positive tube until their own re-swab decides."""
    from campaigns.models import Participant

    held = Participant.objects.filter(status=ParticipantStatus.HELD)
    if only is not None:
        held = held.filter(person_id__in=only)
    for person_id, held_at, tube in held.values_list("person_id", "held_at", "tube__code"):
        yield Reason(person_id, Rule.POOL_HOLD, held_at or now, tube or "")
