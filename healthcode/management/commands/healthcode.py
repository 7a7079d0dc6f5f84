"""``linli healthcode ID_NUMBER [--json] [--svg FILE]``: a person's colour, reasons and a fresh token.

The health query and code generation of GB/T 38963 for an operator. The read is audit-logged like a
staff read of the record; the token holds no personal data, and ``--svg`` writes its QR code.
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path

import segno
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from core.audit import acting_as, log_reads
from core.choices import ReadAction
from healthcode.choices import Colour
from healthcode.services import code_for, mint, reason_label
from people.identity import normalise_id_number
from people.models import Resident


class Command(BaseCommand):
    help = "Show a person's health-code colour with its reasons, and a fresh signed token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id_number")
        parser.add_argument("--json", action="store_true", help="print as JSON")
        parser.add_argument("--svg", metavar="FILE", help="also write the token's QR code as SVG")

    def handle(self, *args, id_number: str, json: bool, svg: str | None, **options) -> None:
        person = Resident.objects.filter(id_number=normalise_id_number(id_number), merged_into__isnull=True).first()
        if person is None:
            raise CommandError(_("No person with identity number %(id)s") % {"id": id_number})
        with acting_as(None, "cli", path="linli healthcode"):
            log_reads(None, ReadAction.VIEW, Resident, [person.pk])
        code = code_for(person)
        token, claims = mint(code)
        data = {
            "person": {"id": person.pk, "name": person.masked_name, "id_number": person.masked_id_number},
            "colour": code.colour,
            "colour_label": str(Colour(code.colour).label),
            "since": code.since.isoformat(timespec="seconds"),
            "reasons": [reason | {"label": reason_label(reason["rule"])} for reason in code.reasons],
            "token": token,
            "kid": claims.kid,
            "issued_at": claims.issued_at,
            "expires_at": claims.expires_at,
        }
        if svg:
            segno.make(token, error="m").save(Path(svg), kind="svg", scale=4)
        if json:
            self.stdout.write(jsonlib.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(f"{data['person']['name']} {data['person']['id_number']}: {data['colour_label']}")
        for reason in data["reasons"]:
            self.stdout.write(f"  - {reason['label']} ({reason['since']}) {reason['detail']}")
        self.stdout.write(token)
