"""``linli jobs canary [--hold S] [--no-wait] [--timeout S]`` and ``linli jobs recover``.

The canary sends one job through the real queue (Redis in production) and waits for a worker to
run it: the end-to-end check that workers are up, which ``/readyz`` (this process only) cannot
give. ``recover`` queues again, once, the jobs whose worker died mid-run (workers also do this
as they start and every five minutes).
"""

from __future__ import annotations

import time
import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.jobs import enqueue, recover_abandoned
from core.models import CanaryMark, JobStatus


class Command(BaseCommand):
    help = "Check the job queue end to end (canary) or re-queue jobs abandoned by a dead worker (recover)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        canary = actions.add_parser("canary", help="send a job through the queue and wait for a worker to run it")
        canary.add_argument("--hold", type=float, default=0.0, help="seconds the job keeps its transaction open")
        canary.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for it")
        canary.add_argument("--no-wait", action="store_true", help="print the job id and return at once")
        actions.add_parser("recover", help="queue again the jobs whose worker died")

    def handle(self, *args, action: str, **options) -> None:
        if action == "recover":
            outcome = recover_abandoned()
            self.stdout.write(f"retried {outcome['retried']} failed {outcome['failed']}")
            return
        marker = uuid.uuid4().hex
        started = time.perf_counter()
        record = enqueue("core.canary", marker=marker, hold_seconds=options["hold"])
        if options["no_wait"]:
            self.stdout.write(f"{record.pk} {marker}")
            return
        deadline = started + options["timeout"]
        while time.perf_counter() < deadline:
            record.refresh_from_db()
            if record.status in (JobStatus.DONE, JobStatus.FAILED):
                break
            time.sleep(0.1)
        if record.status != JobStatus.DONE:
            raise CommandError(
                f"job #{record.pk} is {record.status} after {options['timeout']:.0f} s: is a worker running?"
            )
        marks = CanaryMark.objects.filter(marker=marker).count()
        seconds = time.perf_counter() - started
        self.stdout.write(f"job #{record.pk} ran on {record.worker} in {seconds:.2f} s ({marks} mark)")
        if marks != 1:
            raise CommandError(f"the canary left {marks} marks, expected 1")
