"""Background work of reopening: the outbreak sweep over open units' compounds."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

SWEEP_MINUTES = 15


@job("reopening.sweep_outbreaks")
def sweep_outbreaks() -> dict:
    """Open a review of every open unit whose compound has a newly confirmed case
    (reopening.services.do_sweep_outbreaks; each case is read by one sweep only)."""
    from reopening.services import do_sweep_outbreaks

    return do_sweep_outbreaks()


def schedule() -> None:
    if (SWEEP_MINUTES, "reopening.sweep_outbreaks") not in PERIODIC:
        every(SWEEP_MINUTES, "reopening.sweep_outbreaks")
