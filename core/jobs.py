"""Background jobs: functions registered by name, run by Huey, each run recorded as a core.Job row.

``enqueue("tasks.sweep_overdue", limit=…)`` writes a Job row and hands its id to the queue (Huey on
SQLite embedded, Redis in production, synchronous when LINLI_JOBS_IMMEDIATE is set, as in tests).
Periodic jobs are declared with :func:`every`; ``linli run_huey`` runs the consumer.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

log = logging.getLogger(__name__)
_JOBS: dict[str, Callable[..., Any]] = {}
PERIODIC: list[tuple[int, str]] = []  # (every n minutes, job name), for the consumer and the demo ticker


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as a job that :func:`enqueue` can run by name."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _JOBS[name] = fn
        return fn

    return register


def run_job_now(job_id: int) -> Any:
    """Execute a queued Job row in this process, recording timings, result or error."""
    from core.models import Job, JobStatus

    record = Job.objects.get(pk=job_id)
    fn = _JOBS[record.name]
    Job.objects.filter(pk=job_id).update(status=JobStatus.RUNNING, started_at=timezone.now())
    started = time.perf_counter()
    try:
        result = fn(**record.arguments)
    except Exception as exc:
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}",
            log=traceback.format_exc()[-8000:],
        )
        log.exception("job %s #%s failed", record.name, job_id)
        raise
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.DONE,
        finished_at=timezone.now(),
        result=_jsonable(result),
        log=f"finished in {time.perf_counter() - started:.3f} s",
    )
    return result


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


@db_task()
def _run_queued(job_id: int) -> None:
    run_job_now(job_id)


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


__all__ = ["HUEY", "enqueue", "every", "job", "run_job_now"]
