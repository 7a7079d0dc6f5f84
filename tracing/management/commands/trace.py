"""``linli trace ID_NUMBER [--as-of ISO_TIME] [--json] [--engine duckdb|spark]``: a case's contacts.

An administrator's tool: the JSON carries full identity numbers, so every run is audit-logged as a
read of the case and of every contact in the register (core.ReadLog, action "full identity").
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from core.audit import acting_as, log_reads
from core.choices import ReadAction
from core.moments import parse_moment
from people.models import Resident
from tracing.services import ENGINES, NotACase, trace_cases, trace_json


class Command(BaseCommand):
    help = "Trace the close and secondary contacts of a confirmed case or asymptomatic infection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id_number")
        parser.add_argument("--as-of", dest="as_of", help="trace as of this time (ISO 8601; default now)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
        parser.add_argument("--engine", choices=ENGINES, default="duckdb", help="tracing engine (default duckdb)")

    def handle(self, *args, id_number: str, as_of: str | None, json: bool, engine: str, **options) -> None:
        person = Resident.objects.filter(id_number=id_number.strip().upper(), merged_into__isnull=True).first()
        if person is None:
            raise CommandError(_("No person with identity number %(id)s") % {"id": id_number})
        try:
            moment = parse_moment(as_of)
        except ValueError as error:
            raise CommandError(_("--as-of must be an ISO time like 2020-02-05T08:00:00+08:00")) from error
        started = time.perf_counter()
        try:
            (result,), (window,) = trace_cases([person], moment, engine)
        except NotACase as error:
            raise CommandError(str(error)) from error
        seconds = time.perf_counter() - started
        document = trace_json(result, window)
        ids = [person.id_number, *(c["id_number"] for c in document["close_contacts"] + document["secondary_contacts"])]
        with acting_as(None, "cli", path="linli trace"):
            in_register = Resident.objects.filter(id_number__in=ids).values_list("pk", flat=True)
            log_reads(None, ReadAction.FULL_IDENTITY, Resident, list(in_register))
        if json:
            self.stdout.write(_dumps(document))
            return
        self.stdout.write(
            _("Case %(case)s, window %(start)s → %(end)s (%(rule)s), traced in %(ms).1f ms with %(engine)s")
            % {
                "case": document["case"],
                "start": document["window"]["start"],
                "end": document["window"]["end"],
                "rule": window.rule,
                "ms": seconds * 1000,
                "engine": engine,
            }
        )
        self.stdout.write(_("Close contacts: %(n)s") % {"n": len(document["close_contacts"])})
        for contact in document["close_contacts"]:
            self.stdout.write(f"  {contact['id_number']}  {_describe(contact['reasons'])}")
        self.stdout.write(_("Secondary contacts: %(n)s") % {"n": len(document["secondary_contacts"])})
        for contact in document["secondary_contacts"]:
            self.stdout.write(f"  {contact['id_number']}  ← {contact['via']}  {_describe(contact['reasons'])}")


def _describe(reasons: list[dict]) -> str:
    parts = []
    for reason in reasons[:3]:
        if reason["kind"] == "venue":
            parts.append(f"{reason['venue_code']} {reason['start'][5:16]} {reason['overlap_minutes']}′")
        else:
            parts.append(str(reason["kind"]))
    return "; ".join(parts) + (" …" if len(reasons) > 3 else "")


def _dumps(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False)
