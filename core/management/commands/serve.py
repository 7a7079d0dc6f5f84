"""``linli serve [--host H] [--port P] [--workers N] [--threads T]``: the production server.

Granian (a Rust HTTP server) runs ``linli.wsgi:application`` — Django behind the gate fast path —
in N worker processes with T threads each. Configuration comes from the environment (see
linli/settings.py); production sets LINLI_DATABASE_URL to PostgreSQL and LINLI_REDIS_URL.
"""

from __future__ import annotations

import os
import shutil
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the production web server (granian, WSGI) for Linli."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("LINLI_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("LINLI_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("LINLI_WORKERS", os.cpu_count() or 2)))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("LINLI_THREADS", "32")))

    def handle(self, *args, host: str, port: int, workers: int, threads: int, **options) -> None:
        granian = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which("granian")
        if granian is None:
            raise CommandError("granian is not installed (pip install granian)")
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and workers > 1:
            self.stderr.write("SQLite allows one writer at a time: use PostgreSQL (LINLI_DATABASE_URL) in production")
        os.environ.setdefault("LINLI_GATE_BATCH_MS", "2")
        os.environ.setdefault("LINLI_WRITE_BEHIND", "true")
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
