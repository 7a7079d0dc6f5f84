"""XLSX export of one grid of a campaign: coverage by building and the residents still to sample.

Counts come from campaigns.coverage, the same sums as the dashboard, so the totals row of the first
sheet is the grid's row there. People are masked (name, identity number, phone) and every exported
resident is read-logged as an export.
"""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from campaigns import coverage, services
from campaigns.models import Campaign
from core.audit import log_reads
from core.choices import ReadAction
from geo.models import Division
from people.identity import mask_phone
from people.models import Resident

EXPORT_LIMIT = 200_000
PERCENT = "0.0%"


def coverage_headers() -> list[str]:
    """The columns of the dashboard's coverage table."""
    return [
        _("Building"),
        _("Residents"),
        _("Sampled"),
        _("Coverage"),
        _("Still to sample"),
        _("Exempt"),
        _("Held"),
        _("Positive"),
    ]


def coverage_values(row: coverage.Counts) -> list:
    return [
        row.name,
        row.target,
        row.tested,
        row.coverage,
        row.untested,
        row.exempt,
        row.held,
        row.positive,
    ]


def _cells(sheet, values: list, *, bold: bool = False) -> list:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, float):
            cell.number_format = PERCENT
        if bold:
            cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def room_of(person: Resident) -> str:
    household = person.household if person.household_id else None
    if household is None:
        return ""
    return f"{household.unit}-{household.room}" if household.unit else household.room


def grid_workbook(campaign: Campaign, grid: Division, user) -> bytes:
    """The grid's coverage by building (with a totals row) and its residents still to sample."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Coverage")[:31])
    sheet.append([f"{campaign.name} · {grid.name} ({grid.code})"])
    sheet.append(_cells(sheet, coverage_headers(), bold=True))
    for row in coverage.rollup(campaign, "building", user, grid_id=grid.pk):
        sheet.append(_cells(sheet, coverage_values(row)))
    totals = coverage.total(campaign, user, grid_id=grid.pk)
    sheet.append(_cells(sheet, [_("Total"), *coverage_values(totals)[1:]], bold=True))

    people = workbook.create_sheet(title=_("Still to sample")[:31])
    people.append(
        _cells(
            people,
            [
                pgettext("person", "Name"),
                _("Identity number"),
                _("Compound"),
                _("Building"),
                _("Unit-room"),
                _("Phone"),
            ],
            bold=True,
        )
    )
    untested = (
        services.untested_people(campaign, user, grid_id=grid.pk)
        .select_related("compound", "building", "household")
        .order_by("compound__code", "building__code", "household__unit", "household__room", "pk")[:EXPORT_LIMIT]
    )
    ids = []
    for person in untested.iterator(chunk_size=5000):
        ids.append(person.pk)
        people.append(
            [
                person.masked_name,
                person.masked_id_number,
                person.compound.name if person.compound_id else "",
                person.building.name if person.building_id else "",
                room_of(person),
                mask_phone(person.phone),
            ]
        )
    log_reads(user, ReadAction.EXPORT, Resident, ids)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
