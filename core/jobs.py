"""Background jobs: functions registered by name, run by Huey, each run recorded as a core.Job row.

``enqueue("tasks.sweep_overdue", limit=…)`` writes a Job row and hands its id to the queue (Huey on
SQLite embedded, Redis in production, synchronous when LINLI_JOBS_IMMEDIATE is set, as in tests).
Periodic jobs are declared with :func:`every`; ``linli run_huey`` runs the consumer.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from core import metrics

log = logging.getLogger(__name__)
_JOBS: dict[str, Callable[..., Any]] = {}
_OUTSIDE_TRANSACTION: set[str] = set()
PERIODIC: list[tuple[int, str]] = []  # (every n minutes, job name), for the consumer and the demo ticker
CURRENT_JOB: contextvars.ContextVar[int | None] = contextvars.ContextVar("linli_job", default=None)
# A job whose worker died is run once more; a second death fails it (issue #11, faults).
MAX_ATTEMPTS = 2


def job(name: str, *, atomic: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as a job that :func:`enqueue` can run by name.

    A job's database work runs in one transaction (``atomic``), so a worker that dies mid-job
    leaves nothing behind and the retry does the work once. A job that writes outside the
    database (files, DuckDB) passes ``atomic=False`` and must be idempotent instead."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _JOBS[name] = fn
        if not atomic:
            _OUTSIDE_TRANSACTION.add(name)
        return fn

    return register


def _process_started(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a reused pid is not mistaken
    for the worker that had it; empty where /proc is not available."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


WORKER = f"{socket.gethostname()}:{os.getpid()}:{_process_started(os.getpid())}"


def run_job_now(job_id: int) -> Any:
    """Execute a queued Job row in this process, recording timings, result or error.

    The row is claimed (queued → running) in one UPDATE, so a job delivered twice runs once."""
    from core.models import Job, JobStatus

    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, worker=WORKER
    )
    record = Job.objects.get(pk=job_id)
    if not claimed:
        log.warning("job %s #%s is %s, not queued: not run again", record.name, job_id, record.status)
        return record.result
    fn = _JOBS[record.name]
    started = time.perf_counter()
    current = CURRENT_JOB.set(job_id)
    try:
        with nullcontext() if record.name in _OUTSIDE_TRANSACTION else transaction.atomic():
            result = fn(**record.arguments)
    except Exception as exc:
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}",
            log=traceback.format_exc()[-8000:],
        )
        metrics.JOBS.labels(record.name, "failed").inc()
        log.exception("job %s #%s failed", record.name, job_id)
        raise
    finally:
        CURRENT_JOB.reset(current)
    seconds = time.perf_counter() - started
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.DONE,
        finished_at=timezone.now(),
        result=_jsonable(result),
        log=f"finished in {seconds:.3f} s",
    )
    metrics.JOBS.labels(record.name, "done").inc()
    metrics.JOB_DURATION.labels(record.name).observe(seconds)
    return result


def _worker_gone(worker: str, started_at, now, lease: dt.timedelta) -> bool:
    """Whether the worker that claimed a job is dead: on this host by its pid (and that pid's start
    time), elsewhere when the job has run longer than the lease."""
    host, _, rest = worker.partition(":")
    pid_text, _, process_start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return started_at is None or now - started_at > lease
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return bool(process_start) and _process_started(pid) != process_start


def recover_abandoned(now: dt.datetime | None = None) -> dict[str, list[int]]:
    """Jobs left running by a worker that died: queued again if they have an attempt left, failed
    otherwise. Workers call this as they start and every few minutes."""
    from core.models import Job, JobStatus

    now = now or timezone.now()
    lease = dt.timedelta(minutes=int(os.environ.get("LINLI_JOB_LEASE_MINUTES") or 120))
    outcome: dict[str, list[int]] = {"retried": [], "failed": []}
    for record in Job.objects.filter(status=JobStatus.RUNNING).only("id", "name", "worker", "started_at", "attempts"):
        if record.worker == WORKER or not _worker_gone(record.worker, record.started_at, now, lease):
            continue
        if record.attempts < MAX_ATTEMPTS:
            moved = Job.objects.filter(pk=record.pk, status=JobStatus.RUNNING, worker=record.worker).update(
                status=JobStatus.QUEUED,
                log=f"worker {record.worker} died during attempt {record.attempts}; queued again",
            )
            if moved:
                outcome["retried"].append(record.pk)
                metrics.JOBS.labels(record.name, "retried").inc()
                _run_queued(record.pk)
        else:
            moved = Job.objects.filter(pk=record.pk, status=JobStatus.RUNNING, worker=record.worker).update(
                status=JobStatus.FAILED,
                finished_at=now,
                error=f"worker {record.worker} died during attempt {record.attempts}; not retried again",
            )
            if moved:
                outcome["failed"].append(record.pk)
                metrics.JOBS.labels(record.name, "failed").inc()
    if outcome["retried"] or outcome["failed"]:
        log.warning("abandoned jobs: %s", outcome)
    return outcome


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


@db_task()
def _run_queued(job_id: int) -> None:
    run_job_now(job_id)


@HUEY.on_startup()
def _recover_at_start() -> None:
    try:
        recover_abandoned()
    except Exception:  # the database may not be up yet; the periodic sweep will do it
        log.exception("recovering abandoned jobs at start-up failed")


@db_periodic_task(crontab(minute="*/5"), name="recover_abandoned_jobs")
def _recover_periodically() -> None:
    recover_abandoned()


@job("core.canary")
def canary(marker: str, hold_seconds: float = 0.0) -> str:
    """The queue canary: writes one mark, then holds its transaction open for ``hold_seconds`` (a
    stand-in for a long job, so a test or an operator can kill its worker mid-job)."""
    from core.models import CanaryMark, Job

    CanaryMark.objects.create(marker=marker, job=Job.objects.filter(pk=CURRENT_JOB.get()).first())
    time.sleep(max(0.0, min(float(hold_seconds), 600.0)))
    return marker


def enqueue(name: str, user=None, **arguments: Any):
    """Record a job and queue it; returns the Job row (already finished when jobs run immediately)."""
    from core.models import Job

    if name not in _JOBS:
        raise KeyError(f"unknown job {name}")
    record = Job.objects.create(
        name=name, arguments=arguments, user=user if getattr(user, "is_authenticated", False) else None
    )
    _run_queued(record.pk)
    record.refresh_from_db()
    return record


@job("core.prune_login_attempts")
def prune_login_attempts() -> int:
    """Daily: sign-in attempts past their retention (policy ``login_attempts_keep_days``) go."""
    from core.login import prune_attempts

    return prune_attempts()


def every(minutes: int, name: str) -> None:
    """Run job ``name`` every ``minutes`` minutes from the consumer (recorded like any other job).

    Under an hour, ``minutes`` runs on the minute clock; from an hour up it must be whole hours
    (1440 is once a day, at midnight)."""
    if minutes < 60:
        schedule = crontab(minute=f"*/{minutes}")
    elif minutes % 60 == 0 and minutes <= 1440:
        schedule = crontab(minute="0", hour=f"*/{minutes // 60}")
    else:
        raise ValueError(f"{name}: run every 1–59 minutes or every whole number of hours up to a day")

    def tick() -> None:
        from core.models import Job

        run_job_now(Job.objects.create(name=name).pk)

    tick.__name__ = f"periodic_{name.replace('.', '_')}"
    db_periodic_task(schedule, name=tick.__name__)(tick)
    PERIODIC.append((minutes, name))


def start_demo_ticker() -> None:
    """Embedded mode without a consumer process: run jobs inline and the periodic ones from a thread."""
    import threading

    HUEY.immediate = True

    def loop() -> None:
        from core.models import Job

        minute = 0
        while True:
            time.sleep(60)
            minute += 1
            for every_minutes, name in PERIODIC:
                if minute % every_minutes == 0:
                    try:
                        run_job_now(Job.objects.create(name=name).pk)
                    except Exception:  # recorded on the Job row; the ticker keeps going
                        log.exception("periodic job %s failed", name)

    threading.Thread(target=loop, name="linli-ticker", daemon=True).start()


__all__ = ["HUEY", "enqueue", "every", "job", "recover_abandoned", "run_job_now"]
