"""``linli import KIND FILE [--json]``: import one contract file (contracts.md) and print the summary."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.imports.errors import ImportFileError
from core.imports.kinds import all_kinds
from core.imports.reasons import link_method_label, reason_label
from core.imports.runner import run_import


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of one kind: " + ", ".join(all_kinds())

    def add_arguments(self, parser):
        parser.add_argument("kind")
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
        parser.add_argument("--user", help="username the import is attributed to")

    def handle(self, *args, kind: str, file: Path, json: bool = False, user: str | None = None, **options):
        if not file.is_file():
            raise CommandError(_("No such file: %(file)s") % {"file": file})
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(_("No such user: %(user)s") % {"user": user})
        try:
            batch = run_import(kind, file.read_bytes(), filename=file.name, user=actor, source="import", max_bytes=0)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        summary = batch.summary()
        if json:
            self.stdout.write(_dumps(summary))
            return
        self.stdout.write(
            _(
                "%(kind)s: %(rows)s rows, %(inserted)s inserted, %(updated)s updated, %(unchanged)s unchanged, "
                "%(rejected)s rejected (import #%(batch)s)"
            )
            % {**summary, "rejected": sum(summary["rejected"].values())}
        )
        for reason, count in summary["rejected"].items():
            self.stdout.write(f"  {reason}: {count} — {reason_label(reason)}")
        for method, count in summary["linked"].items():
            self.stdout.write(
                "  " + _("linked by %(method)s: %(count)s") % {"method": link_method_label(method), "count": count}
            )


def _dumps(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False)
