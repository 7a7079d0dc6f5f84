"""Rejected rows are kept whole as sent, so they hold identity numbers and phones: lists show them
masked (domain.md §2), like every other page; the row's own correction page shows them in full to
those who correct it, and that read is logged."""

from __future__ import annotations

from core.imports.columns import IdNumber, LenientIdNumber, Phone
from core.imports.kinds import get_kind


def personal_headers(kind_name: str) -> dict[str, str]:
    """{header as sent, lower case: 'id' or 'phone'} for the kind's identity and phone columns."""
    kind = get_kind(kind_name)
    headers: dict[str, str] = {}
    for column in kind.columns if kind else ():
        what = "id" if isinstance(column.parser, IdNumber | LenientIdNumber) else None
        what = "phone" if isinstance(column.parser, Phone) else what
        if what:
            headers[column.name.lower()] = what
            headers[column.zh.lower()] = what
    return headers


def masked_row(kind_name: str, data: dict) -> dict:
    """The row with its identity numbers and phones masked."""
    from people.identity import mask_id_number, mask_phone

    personal = personal_headers(kind_name)
    mask = {"id": mask_id_number, "phone": mask_phone}
    return {
        header: mask[personal[header.strip().lower()]](value) if header.strip().lower() in personal and value else value
        for header, value in data.items()
    }
