"""The figures the command centre reports on resident services (issue #7 item 6), for any node and
period: requests asked by category, closed (and within their deadline), hours to close, deliveries of
food and medicine, escorts, satisfaction, what is open and late now, and the same split by the
node's children.

In a period, each thing is counted when it happened: a request when it was asked, a closing when
the task closed, a rating when it was given, a delivery when it was confirmed. Deliveries are the
closed medicine and grocery requests plus the households served by group orders and supply rounds
(care.services.delivery_counts). A few aggregate queries, whatever the number of requests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from assistance.choices import DELIVERY_KIND, HelpCategory, HelpStage
from assistance.models import HelpRequest
from core.scoping import jurisdiction_of, restrict
from people.services import NODE_FIELDS
from tasks.choices import TaskStatus
from tasks.flow import ACTIVE, DONE

# the child column of each level, for the breakdown
CHILD_COLUMN = {
    None: "district_id",
    "city": "district_id",
    "district": "street_id",
    "street": "community_id",
    "community": "grid_id",
    "grid": "compound_id",
    "compound": "building_id",
    "building": None,
}
NODE_COLUMN = NODE_FIELDS  # the place column of each level below the city


PERIOD_DAYS = 7  # the period shown when none is asked for: the last week, today included


def default_period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The days asked for, the missing end today and the missing start a week before the end."""
    end = end or timezone.localdate()
    return start or end - dt.timedelta(days=PERIOD_DAYS - 1), end


@dataclass
class HelpFigures:
    """One node's figures for one period."""

    asked: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    closed_in_time: int = 0
    hours_to_close_median: float | None = None
    hours_to_close_mean: float | None = None
    deliveries: dict[str, int] = field(default_factory=dict)  # food, medicine, other
    escorts: int = 0
    rated: int = 0
    rating_mean: float | None = None
    satisfied: int = 0
    open_now: int = 0
    overdue_now: int = 0
    waiting_verification: int = 0
    children: list[dict] = field(default_factory=list)

    @property
    def asked_total(self) -> int:
        return sum(self.asked.values())

    @property
    def closed_total(self) -> int:
        return sum(self.closed.values())

    @property
    def in_time_share(self) -> float | None:
        return self.closed_in_time / self.closed_total if self.closed_total else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    @property
    def deliveries_total(self) -> int:
        return sum(self.deliveries.values())

    def as_dict(self) -> dict:
        return {
            "asked": self.asked,
            "asked_total": self.asked_total,
            "closed": self.closed,
            "closed_total": self.closed_total,
            "closed_in_time": self.closed_in_time,
            "in_time_share": self.in_time_share,
            "hours_to_close_median": self.hours_to_close_median,
            "hours_to_close_mean": self.hours_to_close_mean,
            "deliveries": self.deliveries,
            "deliveries_total": self.deliveries_total,
            "escorts": self.escorts,
            "rated": self.rated,
            "rating_mean": self.rating_mean,
            "satisfied": self.satisfied,
            "satisfied_share": self.satisfied_share,
            "open_now": self.open_now,
            "overdue_now": self.overdue_now,
            "waiting_verification": self.waiting_verification,
            "children": self.children,
        }


def _scoped(user, level: str | None, node_id: int | None) -> QuerySet:
    qs = HelpRequest.objects.all() if user is None else restrict(user, HelpRequest.objects.all())
    if level in NODE_COLUMN and node_id is not None:
        qs = qs.filter(**{NODE_COLUMN[level]: node_id})
    return qs


def help_figures(
    user,
    level: str | None,
    node_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
) -> HelpFigures:
    """The figures of one node (``level`` None or "city": everything ``user`` may see; ``user``
    None: no jurisdiction limit, for jobs and reports) for ``start <= t < end``."""
    now = now or timezone.now()
    qs = _scoped(user, level, node_id)
    figures = HelpFigures(asked=dict.fromkeys(HelpCategory.values, 0), closed=dict.fromkeys(HelpCategory.values, 0))
    for category, n in (
        qs.filter(created_at__gte=start, created_at__lt=end).values_list("category").annotate(n=Count("id")).order_by()
    ):
        figures.asked[category] = n
    closed = qs.filter(task__closed_at__gte=start, task__closed_at__lt=end, task__status__in=DONE)
    for category, n, in_time in (
        closed.values_list("category")
        .annotate(n=Count("id"), in_time=Count("id", filter=Q(task__closed_at__lte=F("task__due_at"))))
        .order_by()
    ):
        figures.closed[category] = n
        figures.closed_in_time += in_time
    pairs = np.array(
        [(a.timestamp(), c.timestamp()) for a, c in closed.values_list("created_at", "task__closed_at")], dtype=float
    ).reshape(-1, 2)
    if len(pairs):
        hours = (pairs[:, 1] - pairs[:, 0]) / 3600
        figures.hours_to_close_median = round(float(np.median(hours)), 2)
        figures.hours_to_close_mean = round(float(hours.mean()), 2)
    figures.escorts = figures.closed.get(HelpCategory.ESCORT, 0)
    figures.deliveries = {"food": 0, "medicine": 0, "other": 0}
    for category, kind in DELIVERY_KIND.items():
        figures.deliveries[kind] += figures.closed.get(category, 0)
    for kind, n in _supply_deliveries(user, level, node_id, start, end).items():
        figures.deliveries[kind] = figures.deliveries.get(kind, 0) + n
    rated = qs.filter(rated_at__gte=start, rated_at__lt=end).aggregate(
        n=Count("id"), satisfied=Count("id", filter=Q(rating__gte=3)), total=Count("rating")
    )
    figures.rated, figures.satisfied = rated["n"], rated["satisfied"]
    if figures.rated:
        stars = qs.filter(rated_at__gte=start, rated_at__lt=end).values_list("rating", flat=True)
        figures.rating_mean = round(float(np.mean(np.fromiter(stars, dtype=float))), 2)
    live = qs.exclude(stage=HelpStage.REJECTED)
    now_counts = live.aggregate(
        open_now=Count(
            "id", filter=Q(task__status__in=ACTIVE) | Q(task__status=TaskStatus.FED_BACK) | Q(task__isnull=True)
        ),
        overdue_now=Count("id", filter=Q(task__status__in=ACTIVE, task__due_at__lt=now)),
        waiting=Count("id", filter=Q(stage__in=(HelpStage.VERIFYING, HelpStage.UNPLACED))),
    )
    figures.open_now, figures.overdue_now = now_counts["open_now"], now_counts["overdue_now"]
    figures.waiting_verification = now_counts["waiting"]
    figures.children = _children(qs, level, start, end, now)
    return figures


def _supply_deliveries(
    user, level: str | None, node_id: int | None, start: dt.datetime, end: dt.datetime
) -> dict[str, int]:
    """Households served by group orders and supply rounds: under the node (which callers have
    checked is in the user's jurisdiction), else summed over the user's jurisdiction nodes."""
    from care.services import delivery_counts

    if level in NODE_COLUMN and node_id is not None:
        return delivery_counts({NODE_COLUMN[level]: node_id}, start, end).get(None, {})
    jurisdiction = jurisdiction_of(user) if user is not None else None
    if jurisdiction is None or jurisdiction.everything:
        return delivery_counts({}, start, end).get(None, {})
    totals: dict[str, int] = {}
    for kind, ids in jurisdiction.nodes.items():  # a handful of nodes per person
        for node in ids:
            for delivery_kind, n in delivery_counts({NODE_COLUMN[kind]: node}, start, end).get(None, {}).items():
                totals[delivery_kind] = totals.get(delivery_kind, 0) + n
    return totals


def _children(qs: QuerySet, level: str | None, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[dict]:
    column = CHILD_COLUMN.get(level)
    if column is None:
        return []
    rows = (
        qs.exclude(**{f"{column}__isnull": True})
        .values_list(column)
        .annotate(
            asked=Count("id", filter=Q(created_at__gte=start, created_at__lt=end)),
            closed=Count("id", filter=Q(task__closed_at__gte=start, task__closed_at__lt=end, task__status__in=DONE)),
            overdue=Count("id", filter=Q(task__status__in=ACTIVE, task__due_at__lt=now)),
        )
        .order_by()
    )
    return [
        {"node_id": node, "asked": asked, "closed": closed, "overdue": overdue}
        for node, asked, closed, overdue in rows
        if asked or closed or overdue
    ]
