"""The XLSX of loans disbursed: one sheet each by bank, district and sector (no personal data)."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from relief.choices import Sector


def totals_workbook(found: dict) -> bytes:
    workbook = Workbook(write_only=True)
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    sheets = (
        (_("By bank"), "by_bank", ("bank__code", "bank__name")),
        (_("By district"), "by_district", ("application__district__code", "application__district__name")),
        (_("By sector"), "by_sector", ("application__applicant__sector",)),
    )
    for title, key, columns in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([title, stamp])
        sheet.append([_("Code"), _("Name"), _("Loans"), _("Disbursed (¥)")])
        for row in found[key]:
            code = row[columns[0]]
            name = row[columns[1]] if len(columns) > 1 else str(Sector(code).label) if code in Sector.values else code
            sheet.append([code, name, row["count"], (row["fen"] or 0) / 100])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
