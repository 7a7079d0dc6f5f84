"""The help-request columns of the key-group ledgers (people.services.LedgerColumns): how many of a
person's requests are still open, and when medicine last reached them (issue #7 item 4: chronic
patients' medicine tracked to delivery). Registered from AssistanceConfig.ready."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from assistance.choices import HelpCategory, HelpStage
from assistance.models import HelpRequest
from people.models import Resident
from people.services import LedgerColumns
from tasks.flow import DONE, OPEN

GROUPS = frozenset({"elderly_alone", "chronic", "pregnant", "disabled", "low_income", "special_care"})


def headers() -> list[str]:
    return [_("Open help requests"), _("Medicine last delivered")]


def annotate(residents: QuerySet) -> QuerySet:
    """Two correlated subqueries of the same query, over the requests' resident index."""
    mine = HelpRequest.objects.filter(resident_id=OuterRef("pk")).order_by()
    open_count = (
        mine.exclude(stage=HelpStage.REJECTED)
        .filter(task__status__in=OPEN)
        .values("resident_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    medicine = (
        mine.filter(category=HelpCategory.MEDICINE, task__status__in=DONE)
        .values("resident_id")
        .annotate(last=Max("task__closed_at"))
        .values("last")
    )
    return residents.annotate(
        help_open=Coalesce(Subquery(open_count, output_field=IntegerField()), 0),
        help_medicine_at=Subquery(medicine),
    )


def cells(resident: Resident) -> list:
    delivered: dt.datetime | None = resident.help_medicine_at
    return [resident.help_open or None, timezone.localtime(delivered).date() if delivered else None]


HELP_COLUMNS = LedgerColumns(groups=GROUPS, headers=headers, annotate=annotate, cells=cells)
