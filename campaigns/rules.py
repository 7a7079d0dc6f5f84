"""The health-code reason a testing campaign gives: held by a positive pooled tube (domain.md §8)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from campaigns.choices import ParticipantStatus, TubeStatus
from core.policy import Policy
from healthcode.choices import Rule
from healthcode.rules import Reason


def pool_hold_reasons(now: dt.datetime, rules: Policy, only: Sequence[int] | None) -> Iterable[Reason]:
    """Everyone held by a positive tube until their own re-swab decides."""
    from campaigns.models import Participant

    # held: still following a positive tube of several (found through the few positive tubes)
    held = Participant.objects.filter(
        tube__status=TubeStatus.POSITIVE, tube__members__gt=1, status=ParticipantStatus.SAMPLED
    )
    if only is not None:
        held = held.filter(person_id__in=only)
    for person_id, since, tube in held.values_list("person_id", "tube__reported_at", "tube__code"):
        yield Reason(person_id, Rule.POOL_HOLD, since or now, tube or "")
