"""``linli restore FILE [--force]``: put an archive of ``linli backup`` back (core.backup; README,
"Backup and restore"). Stop the server and the job worker first."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore an archive written by `linli backup`: checked whole first, then the database and the files "
        "are replaced and the database is migrated if the archive is older than the code."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="a .tar.gz written by `linli backup`")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that already holds data (it is lost)"
        )

    def handle(self, *args, archive: Path, force: bool, verbosity: int = 1, **options) -> None:
        log = self.stdout.write if verbosity >= 2 else (lambda message: None)
        try:
            result = restore_backup(archive, force=force, log=log)
        except BackupError as error:
            raise CommandError(f"cannot restore: {error}") from error
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if verbosity >= 1:
            manifest = result.manifest
            files = len(manifest["files"]) - 1
            migrated = f"; applied {len(result.migrations_applied)} migration(s)" if result.migrations_applied else ""
            self.stdout.write(
                f"restored {archive} (made {manifest['created_at']} by Linli {manifest['linli_version']}): "
                f"the {manifest['database']['vendor']} database and {files} files in {result.seconds:.1f} s{migrated}"
            )
