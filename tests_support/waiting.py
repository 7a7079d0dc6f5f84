"""Waiting in browser tests for what a live server writes."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import OperationalError


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    """Poll the database while the live server writes to it (SQLite's shared in-memory test
    database answers 'table is locked' while the server thread holds a write)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except OperationalError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)
