"""The XLSX ledger of one depot: a stock sheet (the reserve list against its minimums) and a
movements sheet (the history), streamed with openpyxl's write-only mode."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from supplies.models import Depot, Movement, Stock

EXPORT_LIMIT = 200_000


def ledger_workbook(depot: Depot) -> bytes:
    """Two sheets in one query each; no personal data, so nothing is read-logged."""
    workbook = Workbook(write_only=True)
    stock_sheet = workbook.create_sheet(title=_("Stock")[:31])
    stock_sheet.append([depot.name, depot.get_tier_display(), timezone.localtime().strftime("%Y-%m-%d %H:%M")])
    stock_sheet.append(
        [_("Item code"), _("Item"), _("Category"), _("Unit"), _("Quantity"), _("Minimum level"), _("Shortfall")]
    )
    for stock in Stock.objects.filter(depot=depot).select_related("item").order_by("item__category", "item__code"):
        stock_sheet.append(
            [
                stock.item.code,
                stock.item.name,
                stock.item.get_category_display(),
                stock.item.unit,
                stock.quantity,
                stock.minimum,
                stock.shortfall,
            ]
        )
    moves = workbook.create_sheet(title=_("Movements")[:31])
    moves.append(
        [
            _("Date"),
            _("Item code"),
            _("Item"),
            _("Unit"),
            _("Kind"),
            _("Change"),
            _("Balance after"),
            _("Reference"),
            _("Counterpart depot"),
            _("By"),
            _("Note"),
        ]
    )
    rows = (
        Movement.objects.filter(stock__depot=depot)
        .select_related("stock__item", "user", "counterpart__stock__depot")
        .order_by("at", "id")[:EXPORT_LIMIT]
    )
    for m in rows.iterator(chunk_size=5000):
        moves.append(
            [
                timezone.localtime(m.at).strftime("%Y-%m-%d %H:%M"),
                m.stock.item.code,
                m.stock.item.name,
                m.stock.item.unit,
                m.get_kind_display(),
                m.change,
                m.balance,
                m.reference,
                m.counterpart.stock.depot.name if m.counterpart_id else "",
                m.user.username if m.user_id else "",
                m.note,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
