"""Background work: the code batch (every quarter hour, and the full nightly run), key rotation,
pruning revocations whose tokens have expired."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

RECOMPUTE_EVERY_MINUTES = 15


@job("healthcode.recompute")
def recompute_all() -> dict:
    """Every code against the rules now: new residents, reasons that lapsed (a travel window, a
    fever hold) and ones that began (an overdue test)."""
    from healthcode.services import recompute

    return recompute(None).as_dict()


@job("healthcode.nightly")
def nightly() -> dict:
    from healthcode.keys import rotate
    from healthcode.services import prune_revocations, recompute

    key = rotate()
    pruned = prune_revocations()
    return {"signing_key": key.kid, "revocations_pruned": pruned, **recompute(None).as_dict()}


def schedule() -> None:
    if (RECOMPUTE_EVERY_MINUTES, "healthcode.recompute") not in PERIODIC:
        every(RECOMPUTE_EVERY_MINUTES, "healthcode.recompute")
        every(1440, "healthcode.nightly")
