"""The command centre's figures, refreshed every five minutes (issue #10)."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

EVERY_MINUTES = 5


@job("dashboard.refresh")
def refresh_figures(day: str | None = None) -> dict:
    """Recount today's figures (or ``day``'s, ISO) for every area."""
    import datetime as dt

    from dashboard.refresh import refresh

    done = refresh(dt.date.fromisoformat(day) if day else None)
    return {"day": done.day.isoformat(), "rows": done.rows, "seconds": round(done.seconds, 3)}


def schedule() -> None:
    if (EVERY_MINUTES, "dashboard.refresh") not in PERIODIC:
        every(EVERY_MINUTES, "dashboard.refresh")
