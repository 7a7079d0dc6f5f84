"""How the campaigns app plugs into the others (called from AppConfig.ready)."""

from __future__ import annotations


def connect() -> None:
    from campaigns import jobs
    from campaigns.results import on_lab_results
    from campaigns.rules import pool_hold_reasons
    from core.imports.kinds import AFTER_IMPORT_HOOKS
    from feeds.importers import LAB_RESULT_HANDLERS
    from healthcode.rules import SOURCES
    from people.merge import register_person_reference

    if on_lab_results not in LAB_RESULT_HANDLERS:
        LAB_RESULT_HANDLERS.append(on_lab_results)
    if pool_hold_reasons not in SOURCES:
        SOURCES.append(pool_hold_reasons)
    if refresh_after_residents not in AFTER_IMPORT_HOOKS:
        AFTER_IMPORT_HOOKS.append(refresh_after_residents)
    register_person_reference("campaigns.PoolMember", "person")
    jobs.schedule()


def refresh_after_residents(kind: str) -> None:
    """New or moved residents change the campaigns' targets (the counts of people to sample)."""
    if kind != "residents":
        return
    from campaigns.choices import CampaignStatus
    from campaigns.coverage import refresh_targets
    from campaigns.models import Campaign

    for campaign in Campaign.objects.exclude(status=CampaignStatus.CLOSED):
        refresh_targets(campaign)
