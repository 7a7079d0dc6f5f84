"""Background work of testing campaigns: the nightly check of the kept counts."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

NIGHTLY = 1440


@job("campaigns.nightly")
def nightly() -> dict:
    """For every campaign not closed: residents per building counted again (people move and are
    registered) and the kept counts rebuilt from the participants, reporting how many buildings the
    incremental path had got wrong (it should be none)."""
    from campaigns import coverage
    from campaigns.choices import CampaignStatus
    from campaigns.models import Campaign

    repaired = {}
    for campaign in Campaign.objects.exclude(status=CampaignStatus.CLOSED):
        coverage.refresh_targets(campaign)
        before = coverage.stored_counts(campaign)
        coverage.recount(campaign)
        repaired[campaign.code] = coverage.differing_buildings(before, coverage.stored_counts(campaign))
    return {"campaigns": len(repaired), "buildings_repaired": repaired}


def schedule() -> None:
    if (NIGHTLY, "campaigns.nightly") not in PERIODIC:
        every(NIGHTLY, "campaigns.nightly")
