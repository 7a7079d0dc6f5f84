"""``linli verify TOKEN [--json] [--offline KEYS.json [--revocations REVOKED.json]]``: check a token.

Online (default) it uses the server's keys and revocation list. With ``--offline`` it needs only the
published documents (``/api/healthcode/keys`` and ``/api/healthcode/revocations`` saved as files),
as a gate that has lost its network does. Exit code 0 for a valid token, 1 otherwise.
"""

from __future__ import annotations

import json as jsonlib
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from healthcode.choices import Verdict
from healthcode.tokens import verifier_from_document


class Command(BaseCommand):
    help = "Verify a health-code token: valid, expired, revoked, forged, unknown key or malformed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token")
        parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
        parser.add_argument("--offline", metavar="KEYS_JSON", help="verify with this saved key document only")
        parser.add_argument("--revocations", metavar="REVOCATIONS_JSON", help="saved revocation list (offline)")

    def handle(self, *args, token: str, json: bool, offline: str | None, revocations: str | None, **options) -> None:
        if offline:
            keys_doc = _read(offline)
            revoked_doc = _read(revocations) if revocations else {}
            result = verifier_from_document(keys_doc, revoked_doc).verify(token.strip(), int(time.time()))
        else:
            from healthcode.services import VERIFICATION_LOG, verify

            result = verify(token.strip(), channel="cli")
            VERIFICATION_LOG.flush()
        data = result.as_dict() | {"verdict_label": str(Verdict(result.verdict).label), "offline": bool(offline)}
        if json:
            self.stdout.write(_dumps(data))
        else:
            colour = f" · {data['colour']}" if data["colour"] else ""
            self.stdout.write(f"{data['verdict']}{colour} ({data['verdict_label']})")
        if result.verdict != Verdict.VALID:
            raise SystemExit(1)


def _read(path: str) -> dict:
    try:
        return jsonlib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": error}) from error


def _dumps(data: dict) -> str:
    return jsonlib.dumps(data, ensure_ascii=False, sort_keys=True)
