"""Reject reason codes with their human sentences (zh-Hans and English through gettext).

The code is stored with the rejected row; the sentence is rendered in the reader's language, and
exports of rejects carry both languages.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _

REASONS: dict[str, str] = {
    "missing_required": _("Required column %(column)s is empty."),
    "invalid_value": _("Column %(column)s has a value that is not allowed: %(detail)s."),
    "invalid_number": _("Column %(column)s is not a number in the allowed range: %(detail)s."),
    "invalid_date": _("Column %(column)s is not a valid date or time: %(detail)s."),
    "invalid_phone": _("Column %(column)s is not a valid phone number: %(detail)s."),
    "too_long": _("Column %(column)s is longer than allowed: %(detail)s."),
    "malformed_row": _("The row could not be read (wrong number of fields): %(detail)s."),
    "duplicate_key_in_file": _("The same key appears earlier in this file (row %(detail)s)."),
    "id_number_format": _("The identity number does not have 18 characters of the right form."),
    "id_number_checksum": _("The identity number's check character is wrong."),
    "id_number_birth_date": _("The identity number contains an impossible birth date."),
    "sex_conflicts_with_id": _("The sex given contradicts the identity number (%(detail)s)."),
    "unknown_parent": _("The parent code %(detail)s is not known."),
    "wrong_parent_level": _("The parent %(detail)s is not at the level above this one."),
    "bad_code_for_parent": _("The code %(detail)s does not extend its parent's code."),
    "name_taken": _("Another record under the same parent already has the name %(detail)s."),
    "person_not_found": _("No resident matches this row (%(detail)s)."),
    "person_ambiguous": _("More than one resident matches this row (%(detail)s)."),
}


def reason_sentence(code: str, column: str = "", detail: str = "", language: str | None = None) -> str:
    template = REASONS.get(code)
    if template is None:
        return f"{code}: {column} {detail}".strip()
    params = {"column": column or "-", "detail": detail or "-"}
    if language is None:
        return str(template) % params
    with translation.override(language):
        return str(template) % params
