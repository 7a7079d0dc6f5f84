"""Errors that make a whole file unusable; nothing is written when one is raised."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ImportFileError(Exception):
    """The file cannot be imported at all (unreadable, wrong kind, required columns missing)."""

    def __init__(self, message, **params):
        self.message = message
        self.params = params
        super().__init__(str(message) % params if params else str(message))

    def __str__(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)


UNKNOWN_KIND = _("Unknown import kind %(kind)s; known kinds: %(known)s.")
EMPTY_FILE = _("The file is empty.")
TOO_LARGE = _("The file is %(size)s bytes; the limit is %(limit)s bytes.")
UNREADABLE_ENCODING = _("The file is neither UTF-8 nor GB18030 text.")
UNREADABLE_XLSX = _("The spreadsheet could not be read: %(error)s")
UNREADABLE_CSV = _("The CSV file could not be read: %(error)s")
NO_HEADER = _("The file has no header row.")
DUPLICATE_HEADER = _("The header names column %(column)s twice.")
MISSING_COLUMNS = _("Required columns are missing: %(columns)s. Is this a %(kind)s file?")
CITYWIDE_KIND = _(
    "A %(kind)s file concerns the whole city; only staff whose jurisdiction is the whole city may import it."
)
