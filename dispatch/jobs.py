"""Background work of dispatch: re-plan every 5 minutes when there is something new to plan."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

REPLAN_MINUTES = 5


def worth_planning() -> bool:
    """Someone newly queued, or someone without a destination whose category a facility now has a
    free bed for. People still without any bed for them do not trigger a plan every 5 minutes: a
    plan re-issues the unstarted runs' tasks, so planning for nothing would churn the crews' lists."""
    from django.db.models import F, Q

    from beds.models import CATEGORY_SEPARATOR, Facility
    from dispatch.choices import TransferStatus
    from dispatch.models import Transfer

    if Transfer.objects.filter(status=TransferStatus.QUEUED).exists():
        return True
    stranded = set(
        Transfer.objects.filter(status=TransferStatus.NO_DESTINATION).values_list("category", flat=True).distinct()
    )
    if not stranded:
        return False
    takes = Q()
    for category in stranded:  # categories are ';'-separated: match whole names
        takes |= Q(categories=category) | Q(categories__startswith=f"{category}{CATEGORY_SEPARATOR}")
        takes |= Q(categories__endswith=f"{CATEGORY_SEPARATOR}{category}")
        takes |= Q(categories__contains=f"{CATEGORY_SEPARATOR}{category}{CATEGORY_SEPARATOR}")
    free = Facility.objects.filter(active=True, beds_open__gt=F("beds_occupied") + F("beds_reserved"))
    return free.filter(takes).exists()


@job("dispatch.replan")
def replan() -> dict:
    """Queue newly waiting people and, when :func:`worth_planning`, plan again and publish. An
    unchanged situation changes nothing (crews keep their tasks)."""
    from dispatch.services import do_plan, sync_transfers

    synced = sync_transfers()
    if not worth_planning():
        return {**synced, "plan": None}
    record = do_plan(sync=False)
    return {**synced, "plan": record.pk, **record.summary}


def schedule() -> None:
    if (REPLAN_MINUTES, "dispatch.replan") not in PERIODIC:
        every(REPLAN_MINUTES, "dispatch.replan")
