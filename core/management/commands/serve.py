"""``linli serve [--host H] [--port P] [--workers N] [--threads T] [--check]``: the production server.

Granian (a Rust HTTP server) runs ``linli.wsgi:application`` — Django behind the gate fast path —
in N worker processes with T threads each. Configuration comes only from the environment (README,
"Configuration"); it is checked before any worker starts (core.config.production_problems) and
every problem is named at once. ``--check`` checks and exits. Logs are JSON lines with an access
line per request unless configured otherwise; the workers' metrics are pooled for ``/metrics``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the production web server (granian, WSGI) for Linli."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("LINLI_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("LINLI_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("LINLI_WORKERS", os.cpu_count() or 2)))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("LINLI_THREADS", "32")))
        parser.add_argument("--check", action="store_true", help="check the configuration and exit")

    def handle(self, *args, host: str, port: int, workers: int, threads: int, check: bool, **options) -> None:
        from core.config import production_problems

        problems = production_problems()
        for problem in problems:
            self.stderr.write(f"{'error' if problem.fatal else 'warning'}: {problem}")
        if any(problem.fatal for problem in problems):
            raise CommandError("the configuration is not fit for production (see above; README, Configuration)")
        if check:
            self.stdout.write("configuration OK")
            return
        granian = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which("granian")
        if granian is None:
            raise CommandError("granian is not installed (pip install granian)")
        os.environ.setdefault("LINLI_GATE_BATCH_MS", "2")
        os.environ.setdefault("LINLI_WRITE_BEHIND", "true")
        os.environ.setdefault("LINLI_LOG_FORMAT", "json")
        os.environ.setdefault("LINLI_ACCESS_LOG", "true")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_empty_metrics_folder(port))
        argv = [
            granian,
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-access-log",
            "linli.wsgi:application",
        ]
        os.execv(granian, argv)  # noqa: S606 - replaces this process with the server


def _empty_metrics_folder(port: int) -> Path:
    """Where the workers keep their metric files: emptied at each start, since files of dead
    processes would otherwise be summed into the new server's counts."""
    folder = settings.LINLI_HOME / f"metrics-{port}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
