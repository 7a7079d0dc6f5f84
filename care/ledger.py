"""The care columns of the key-group ledgers (people.services.LedgerColumns): each person's last
visit, how many days the next one is overdue, and the needs recorded at the last visit. Added from
care's AppConfig.ready, so people does not import care."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from care.choices import VISITED_GROUPS
from care.models import need_labels
from care.visits import day_number, with_visit_columns
from people.models import Resident
from people.services import LedgerColumns


def headers() -> list[str]:
    return [_("Last visit"), _("Days overdue"), _("Needs at the last visit")]


def cells(resident: Resident, today: dt.date | None = None) -> list:
    """Read off the annotations of :func:`care.visits.with_visit_columns`: no query."""
    today = today or timezone.localdate()
    last = resident.care_last_visit_at
    due_day = resident.care_due_day
    overdue = day_number(today) - due_day if due_day is not None else 0
    return [
        timezone.localtime(last).date() if last else None,
        overdue if overdue > 0 else None,
        "; ".join(need_labels(resident.care_last_needs)),
    ]


CARE_COLUMNS = LedgerColumns(
    groups=frozenset(VISITED_GROUPS), headers=headers, annotate=with_visit_columns, cells=cells
)
