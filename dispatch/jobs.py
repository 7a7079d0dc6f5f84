"""Background work of dispatch: re-plan every 5 minutes when there is something new to plan."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

REPLAN_MINUTES = 5


@job("dispatch.replan")
def replan() -> dict:
    """Queue newly waiting people; when anyone is queued or waits without a destination (beds may
    have freed up), plan again and publish. An unchanged situation changes nothing (crews keep
    their tasks)."""
    from dispatch.choices import TransferStatus
    from dispatch.models import Transfer
    from dispatch.services import do_plan, sync_transfers

    synced = sync_transfers()
    pending = Transfer.objects.filter(status__in=(TransferStatus.QUEUED, TransferStatus.NO_DESTINATION)).exists()
    if not pending:
        return {**synced, "plan": None}
    record = do_plan(sync=False)
    return {**synced, "plan": record.pk, **record.summary}


def schedule() -> None:
    if (REPLAN_MINUTES, "dispatch.replan") not in PERIODIC:
        every(REPLAN_MINUTES, "dispatch.replan")
