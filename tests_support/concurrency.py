"""Racing actions on PostgreSQL: start them at the same instant on their own connections."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def race(*calls: Callable[[], object], refused: type[Exception]) -> list[str]:
    """Run ``calls`` in threads released together; each outcome is "ok", or "refused" when the
    call raises ``refused`` (any other error fails the test). Sorted, so tests compare lists."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call):
        try:
            barrier.wait()
            call()
            outcomes.append("ok")
        except refused:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)
