"""Group commit for gate checks: concurrent requests share one set-based write.

Each request's records wait (a few milliseconds at most) for the batch the worker thread is
collecting, then :func:`gates.services.record_checks` records the whole batch in one transaction,
and every request is answered only after that commit: batching trades no durability for speed.
With ``LINLI_GATE_BATCH_MS`` = 0 (the tests' default) records are written in the calling thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger(__name__)


@dataclass
class _Submission:
    user: object
    records: list[dict]
    future: Future
    ip: str | None = None


class CheckBatcher:
    MAX_RECORDS = 400

    def __init__(self, wait_ms: float) -> None:
        self.wait = wait_ms / 1000
        self._queue: queue.Queue[_Submission | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, user, records: list[dict], timeout: float = 30.0, ip: str | None = None) -> list:
        """Record ``records`` as ``user`` (from ``ip``); returns their outcomes once committed."""
        if self.wait <= 0:
            return _record(records, user, ip)
        self._ensure_thread()
        submission = _Submission(user, records, Future(), ip)
        self._queue.put(submission)
        return submission.future.result(timeout=timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="linli-gate-batcher", daemon=True)
                    self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """End the writer thread after what is queued (it closes its database connection)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                connection.close()
                return
            batch = [first]
            size = len(batch[0].records)
            deadline = time.monotonic() + self.wait
            while size < self.MAX_RECORDS:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    submission = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if submission is None:  # stop: write this batch first
                    self._queue.put(None)
                    break
                batch.append(submission)
                size += len(submission.records)
            self._write(batch)

    def _write(self, batch: list[_Submission]) -> None:
        by_sender: dict[tuple, list[_Submission]] = {}
        for submission in batch:
            by_sender.setdefault((getattr(submission.user, "pk", None), submission.ip), []).append(submission)
        for group in by_sender.values():
            records = [record for submission in group for record in submission.records]
            try:
                outcomes = _record(records, group[0].user, group[0].ip)
            except Exception as error:  # the requests answer 503; devices resend (idempotent)
                log.exception("gate batch of %d records failed", len(records))
                close_old_connections()
                for submission in group:
                    submission.future.set_exception(error)
                continue
            start = 0
            for submission in group:
                submission.future.set_result(outcomes[start : start + len(submission.records)])
                start += len(submission.records)


def _record(records: list[dict], user, ip: str | None) -> list:
    """record_checks attributed to the device's user and address: this may run in the batcher's
    thread, which does not see the request's audit context."""
    from core.audit import acting_as
    from core.choices import ChangeSource
    from gates.services import record_checks

    with acting_as(user, ChangeSource.API, path=CHECKS_PATH, ip=ip):
        return record_checks(records, user)


CHECKS_PATH = "/api/gates/checks"
BATCHER = CheckBatcher(float(settings.LINLI_GATE_BATCH_MS))
