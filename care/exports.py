"""The volunteers' delivery list of a group order as XLSX: one row per household (dwelling, a
member's masked phone, quantity per item, amount, a column to tick), then the totals."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from care.models import GroupOrder
from care.services import HouseholdLines, item_totals


def _bold(sheet, values: list) -> list:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def delivery_workbook(order: GroupOrder, rows: list[HouseholdLines]) -> bytes:
    """The caller has read-logged the members whose phones appear (masked)."""
    totals = item_totals(order)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Delivery list")[:31])
    sheet.append([f"{order.title} · {order.building.name} · {timezone.localtime():%Y-%m-%d %H:%M}"])
    item_headers = [f"{t['name']} ({t['unit']})" if t["unit"] else t["name"] for t in totals]
    sheet.append(
        _bold(sheet, [_("Unit"), _("Room"), _("Phone"), *item_headers, _("Amount (¥)"), _("Delivered"), _("Signature")])
    )
    for row in rows:
        quantities = {(name, unit): quantity for name, unit, quantity in row.lines}
        done = row.delivery.get_outcome_display() if row.delivery else ""
        sheet.append(
            [
                row.unit,
                row.room,
                row.phone,
                *(quantities.get((t["name"], t["unit"])) for t in totals),
                float(row.amount),
                done,
                "",
            ]
        )
    sheet.append(
        _bold(sheet, [_("Total"), "", "", *(t["quantity"] for t in totals), float(sum(r.amount for r in rows)), "", ""])
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
