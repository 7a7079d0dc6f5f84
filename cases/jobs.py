"""The recurring follow-up sweep: checks past their time (plus the policy's grace) become missed,
and each missed check opens a follow-up task for the answerable grid worker."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import FollowUp, FollowUpStatus
from core.jobs import every, job
from core.moments import parse_moment
from core.policy import policy


@job("cases.sweep_follow_ups")
def sweep_follow_ups(now: str | None = None) -> dict:
    moment = parse_moment(now)
    cutoff = moment - dt.timedelta(hours=float(policy(moment).follow_up_grace_hours))
    missed = list(
        FollowUp.objects.filter(status=FollowUpStatus.DUE, due_at__lt=cutoff).select_related("person")[:10000]
    )
    FollowUp.objects.filter(pk__in=[f.pk for f in missed]).update(status=FollowUpStatus.MISSED)
    from tasks.services import do_open_task

    for follow_up in missed:
        do_open_task(
            "follow_up",
            subject=follow_up.person,
            title=_("Missed check of %(name)s due %(due)s")
            % {"name": follow_up.person.name, "due": timezone.localtime(follow_up.due_at).strftime("%m-%d %H:%M")},
            source=f"follow_up:{follow_up.pk}",
            dedupe_key=f"follow_up:{follow_up.pk}",
        )
    return {"missed": len(missed)}


every(15, "cases.sweep_follow_ups")
