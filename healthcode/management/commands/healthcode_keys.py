"""``linli healthcode_keys [--rotate] [--json]``: the signing keys, and rotation by hand."""

from __future__ import annotations

import json as jsonlib

from django.core.management.base import BaseCommand, CommandParser

from healthcode import keys as signing_keys


class Command(BaseCommand):
    help = "List the health-code signing keys still verifying; --rotate makes a new signing key now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rotate", action="store_true", help="retire the signer and make a new one")
        parser.add_argument("--json", action="store_true", help="print the published key document")

    def handle(self, *args, rotate: bool, json: bool, **options) -> None:
        if rotate:
            key = signing_keys.rotate(force=True)
            self.stderr.write(f"new signing key {key.kid}")
        keys = signing_keys.published_keys()
        if json:
            self.stdout.write(jsonlib.dumps({"algorithm": "Ed25519", "keys": keys}))
            return
        for key in keys:
            state = "signing" if key["signs_until"] is None else f"verifies until {key['verify_until']}"
            self.stdout.write(f"{key['kid']}  {state}")
