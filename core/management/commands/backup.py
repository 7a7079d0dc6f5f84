"""``linli backup [--out FILE]``: one archive of this installation (core.backup; README, "Backup and restore")."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write one archive (.tar.gz, owner-only) of the database and the files that are state: the presence "
        "store, uploads, the secret key. Safe while the server runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out",
            type=Path,
            help="the archive to write, or a folder for a new one (default: ./linli-backup-<UTC time>.tar.gz)",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=600,
            metavar="SECONDS",
            help="how long to wait for a presence-store writer (a scans import) to finish (default 600)",
        )

    def handle(self, *args, out: Path | None, wait: float, verbosity: int = 1, **options) -> None:
        log = self.stdout.write if verbosity >= 2 else (lambda message: None)
        try:
            result = create_backup(out, wait_seconds=wait, log=log)
        except BackupError as error:
            raise CommandError(f"backup failed: {error}") from error
        manifest = result.manifest
        for warning in manifest["warnings"]:
            self.stderr.write(f"warning: {warning}")
        if verbosity >= 1:
            files = len(manifest["files"]) - 1
            self.stdout.write(
                f"backed up to {result.path}: the {manifest['database']['vendor']} database and {files} files, "
                f"{result.size / 1e6:.1f} MB in {result.seconds:.1f} s"
            )
