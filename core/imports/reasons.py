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
    "outside_jurisdiction": _("The row belongs to a place outside your jurisdiction."),
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
    "unknown_venue": _("The venue code %(detail)s is not registered."),
    "person_in_two_tubes": _("This person was already swabbed into tube %(detail)s the same day."),
}


REASON_LABELS: dict[str, str] = {
    "missing_required": _("Required value missing"),
    "invalid_value": _("Value not allowed"),
    "invalid_number": _("Not a number in range"),
    "invalid_date": _("Not a valid date"),
    "invalid_phone": _("Not a valid phone number"),
    "too_long": _("Value too long"),
    "malformed_row": _("Unreadable row"),
    "duplicate_key_in_file": _("Key repeated in the file"),
    "outside_jurisdiction": _("Outside your jurisdiction"),
    "id_number_format": _("Identity number malformed"),
    "id_number_checksum": _("Identity number check character wrong"),
    "id_number_birth_date": _("Identity number birth date impossible"),
    "sex_conflicts_with_id": _("Sex contradicts the identity number"),
    "unknown_parent": _("Unknown parent code"),
    "wrong_parent_level": _("Parent at the wrong level"),
    "bad_code_for_parent": _("Code does not extend its parent's"),
    "name_taken": _("Name already used under the parent"),
    "person_not_found": _("No matching resident"),
    "person_ambiguous": _("Several matching residents"),
    "unknown_venue": _("Unknown venue code"),
    "person_in_two_tubes": _("Person in two tubes the same day"),
}

LINK_METHODS: dict[str, str] = {
    "id_number": _("identity number"),
    "name_phone": _("name and phone"),
    "name_birth_date": _("name and birth date"),
}


def reason_label(code: str) -> str:
    """A short name for a reason, for summaries that count rows by reason."""
    return str(REASON_LABELS.get(code, code))


def link_method_label(method: str) -> str:
    return str(LINK_METHODS.get(method, method))


def _column_label(kind: str | None, column: str) -> str:
    """The column as the reader knows it: its Chinese header in Chinese, else the English name."""
    if not kind or not column or not (translation.get_language() or "").startswith("zh"):
        return column
    from core.imports.kinds import get_kind

    spec = get_kind(kind)
    found = next((c for c in spec.columns if c.name == column), None) if spec else None
    return found.zh if found else column


def reason_sentence(
    code: str, column: str = "", detail: str = "", language: str | None = None, kind: str | None = None
) -> str:
    """The full sentence for one rejected row, in ``language`` or the active one."""
    template = REASONS.get(code)
    if template is None:
        return f"{code}: {column} {detail}".strip()
    with translation.override(language or translation.get_language()):
        return str(template) % {"column": _column_label(kind, column) or "-", "detail": detail or "-"}
