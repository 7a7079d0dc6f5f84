"""``linli issue_token USERNAME NAME``: create an API bearer token; the key is printed once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.models import ApiToken


class Command(BaseCommand):
    help = "Issue an API token for a user; only its hash is stored, so copy the key now."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for, e.g. 'hospital HIS feed'")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No such user: %(user)s") % {"user": username})
        _token, key = ApiToken.issue(user, name)
        self.stdout.write(key)
