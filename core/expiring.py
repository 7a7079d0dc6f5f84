"""A small per-process cache whose entries expire after a fixed number of seconds.

For hot paths that may read data a second or two old (a gate's closures, which gates a user may
use): every process holds its own copy, so nothing needs a shared cache server, and staleness is
bounded by ``seconds``. Tests clear all of them between tests (``clear_all``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

_ALL: list[Expiring] = []


class Expiring:
    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[Any, float]] = {}
        _ALL.append(self)

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value for ``key``, or ``load()`` (then cached) when absent or expired."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[1] > now:
            return entry[0]
        value = load()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (value, now + self.seconds)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def clear_all() -> None:
    for cache in _ALL:
        cache.clear()
