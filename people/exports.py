"""XLSX exports of ledgers: streamed with openpyxl's write-only mode, read-logged set-based."""

from __future__ import annotations

import io
from collections.abc import Sequence

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook

from core.audit import log_reads_of_queryset
from core.choices import ReadAction
from people.identity import mask_id_number, mask_phone
from people.services import LedgerColumns

EXPORT_LIMIT = 200_000


def ledger_workbook(
    user, queryset: QuerySet, title: str, full_identity: bool = False, extra: Sequence[LedgerColumns] = ()
) -> bytes:
    """The ledger as an XLSX file; identity and phone numbers masked unless ``full_identity``;
    ``extra`` columns (people.services.LedgerColumns) after the register's own."""
    today = timezone.localdate()
    queryset = queryset[:EXPORT_LIMIT]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "ledger")
    sheet.append(
        [
            pgettext("person", "Name"),
            _("Identity number"),
            _("Sex"),
            _("Age"),
            _("Phone"),
            _("Compound"),
            _("Building"),
            _("Unit"),
            _("Room"),
            _("Residence type"),
            _("Tags"),
            *(header for c in extra for header in c.headers()),
        ]
    )
    ids = []
    for r in queryset.iterator(chunk_size=5000):
        ids.append(r.pk)
        sheet.append(
            [
                r.name,
                r.id_number if full_identity else mask_id_number(r.id_number),
                r.get_sex_display(),
                r.age_on(today),
                r.phone if full_identity else mask_phone(r.phone),
                r.compound.name if r.compound else "",
                r.building.name if r.building else "",
                r.household.unit if r.household else "",
                r.household.room if r.household else "",
                r.get_residence_type_display(),
                "; ".join(r.tag_list),
                *(cell for c in extra for cell in c.cells(r)),
            ]
        )
    log_reads_of_queryset(user, ReadAction.EXPORT, queryset.model.objects.filter(pk__in=ids))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
