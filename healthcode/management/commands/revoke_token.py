"""``linli revoke_token SERIAL --reason TEXT``: stop one token passing (a lost or shared phone).

The serial is what a verifier shows (``linli verify TOKEN --json``). The revocation is published to
gates with the next revocation list and dropped once the token would have expired anyway.
"""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.audit import acting_as
from healthcode.services import do_revoke_token


class Command(BaseCommand):
    help = "Revoke one health-code token by its serial."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("serial")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, serial: str, reason: str, **options) -> None:
        if not re.fullmatch(r"[0-9a-fA-F]{12}", serial):
            raise CommandError("a serial is 12 hexadecimal digits")
        with acting_as(None, "cli", path="linli revoke_token"):
            revocation = do_revoke_token(serial, reason)
        self.stdout.write(f"revoked {revocation.serial} until {revocation.keep_until:%Y-%m-%d %H:%M}")
