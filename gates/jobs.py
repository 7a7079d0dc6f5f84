"""Background work of the gates: feed new checks into the presence store for tracing."""

from __future__ import annotations

from core.jobs import PERIODIC, every, job

PRESENCE_EVERY_MINUTES = 1


@job("gates.to_presence", atomic=False)  # writes the presence store (DuckDB); idempotent by its watermark
def to_presence() -> dict:
    from gates.presence import push_new_checks

    return push_new_checks()


def schedule() -> None:
    if (PRESENCE_EVERY_MINUTES, "gates.to_presence") not in PERIODIC:
        every(PRESENCE_EVERY_MINUTES, "gates.to_presence")
