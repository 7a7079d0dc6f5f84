"""Refreshing a day's figures (issue #10): every indicator counted per community in one
``INSERT … SELECT … GROUP BY`` per source, then summed up to street, district and city, so the
levels always agree and a page reads a handful of rows instead of counting records.

Figures that have no community (a facility's beds belong to its district; an alert may be about a
whole district) are written at their own level and above. The risk level is the highest below, not
a sum. A refresh replaces the day's rows in one transaction: a reader sees the old figures or the
new ones, never half.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from cases.choices import Category
from core.imports.sql import execute
from core.moments import local_bounds
from dashboard.indicators import FLOW, INDICATORS, MAXIMA
from dashboard.models import Figure, Refresh

TABLE = Figure._meta.db_table
STAGE = "dashboard_stage"
ACTIVE_STATES = ("identified", "notified", "transferred", "placed")
OPEN_TASK = ("reported", "registered", "dispatched", "handling", "fed_back")
RISK_RANK = "CASE r.level WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END"


def _quoted(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _community_sources(day: dt.date, now: dt.datetime) -> list[tuple[str, list]]:
    """(SELECT community_id, indicator, value …, parameters) for each source placed by community."""
    start, end = local_bounds(day, day)
    # a stock is as of the refresh when the day is today, else as of the day's end
    as_of = min(now, end)
    active = _quoted(ACTIVE_STATES)
    sources: list[tuple[str, list]] = [
        (
            "SELECT s.community_id, 'now_' || s.category, COUNT(*) FROM cases_personstatus s "
            f"WHERE s.state IN ({active}) GROUP BY s.community_id, s.category",
            [],
        ),
        (
            "SELECT e.community_id, 'new_' || e.category, COUNT(DISTINCT e.person_id) FROM cases_categoryevent e "
            "WHERE e.at >= %s AND e.at < %s AND e.to_state = 'identified' AND e.outcome = 'applied' "
            "GROUP BY e.community_id, e.category",
            [start, end],
        ),
        (
            "SELECT e.community_id, 'cum_' || e.category, COUNT(DISTINCT e.person_id) FROM cases_categoryevent e "
            "WHERE e.at < %s AND e.to_state = 'identified' AND e.outcome = 'applied' "
            "GROUP BY e.community_id, e.category",
            [end],
        ),
        (
            "SELECT e.community_id, 'contacts_traced', COUNT(DISTINCT e.person_id) FROM cases_categoryevent e "
            "WHERE e.at >= %s AND e.at < %s AND e.to_state = 'identified' AND e.outcome = 'applied' "
            f"AND e.category IN ('{Category.CLOSE_CONTACT.value}', '{Category.SECONDARY_CONTACT.value}') "
            "GROUP BY e.community_id",
            [start, end],
        ),
        (
            "SELECT s.community_id, CASE WHEN s.state = 'placed' THEN 'contacts_placed' "
            "ELSE 'contacts_unplaced' END, COUNT(*) FROM cases_personstatus s "
            f"WHERE s.category = '{Category.CLOSE_CONTACT.value}' AND s.state IN ({active}) "
            "GROUP BY s.community_id, CASE WHEN s.state = 'placed' THEN 'contacts_placed' ELSE 'contacts_unplaced' END",
            [],
        ),
        (
            "SELECT c.community_id, 'containments_open', COUNT(*) FROM tracing_containment c "
            "WHERE c.state = 'open' AND c.started_at < %s GROUP BY c.community_id",
            [as_of],
        ),
        (
            "SELECT c.community_id, 'containments_late', COUNT(*) FROM tracing_containment c "
            "WHERE c.state = 'open' AND c.due_at < %s GROUP BY c.community_id",
            [as_of],
        ),
        (
            "SELECT c.community_id, 'containments_done', COUNT(*) FROM tracing_containment c "
            "WHERE c.state = 'sealed' AND c.sealed_at >= %s AND c.sealed_at < %s GROUP BY c.community_id",
            [start, end],
        ),
        (
            "SELECT r.community_id, 'tests_sampled', COUNT(*) FROM feeds_labresult r "
            "WHERE r.sampled_at >= %s AND r.sampled_at < %s AND r.person_id IS NOT NULL GROUP BY r.community_id",
            [start, end],
        ),
        (
            "SELECT r.community_id, 'tests_positive', COUNT(*) FROM feeds_labresult r "
            "WHERE r.sampled_at >= %s AND r.sampled_at < %s AND r.person_id IS NOT NULL "
            "AND r.result = 'positive' GROUP BY r.community_id",
            [start, end],
        ),
        (
            "SELECT h.community_id, 'help_opened', COUNT(*) FROM assistance_helprequest h "
            "WHERE h.created_at >= %s AND h.created_at < %s GROUP BY h.community_id",
            [start, end],
        ),
        (
            "SELECT h.community_id, 'help_done', COUNT(*) FROM assistance_helprequest h "
            "JOIN tasks_task t ON t.id = h.task_id WHERE t.closed_at >= %s AND t.closed_at < %s "
            "AND t.status IN ('closed', 'evaluated') GROUP BY h.community_id",
            [start, end],
        ),
        (
            "SELECT h.community_id, 'help_open', COUNT(*) FROM assistance_helprequest h "
            f"JOIN tasks_task t ON t.id = h.task_id WHERE t.status IN ({_quoted(OPEN_TASK)}) "
            "AND h.created_at < %s GROUP BY h.community_id",
            [as_of],
        ),
        (
            "SELECT h.community_id, 'help_overdue', COUNT(*) FROM assistance_helprequest h "
            f"JOIN tasks_task t ON t.id = h.task_id WHERE t.status IN ({_quoted(OPEN_TASK)}) "
            "AND t.due_at < %s GROUP BY h.community_id",
            [as_of],
        ),
        (
            "SELECT g.community_id, 'deliveries', COUNT(*) FROM care_householddelivery d "
            "JOIN geo_household g ON g.id = d.household_id WHERE d.outcome = 'delivered' "
            "AND d.recorded_at >= %s AND d.recorded_at < %s GROUP BY g.community_id",
            [start, end],
        ),
        (
            "SELECT t.community_id, 'tasks_open', COUNT(*) FROM tasks_task t "
            f"WHERE t.status IN ({_quoted(OPEN_TASK)}) AND t.opened_at < %s GROUP BY t.community_id",
            [as_of],
        ),
        (
            "SELECT t.community_id, 'tasks_overdue', COUNT(*) FROM tasks_task t "
            f"WHERE t.status IN ({_quoted(OPEN_TASK)}) AND t.due_at < %s GROUP BY t.community_id",
            [as_of],
        ),
        (
            # who is late: the level of the 包保 chain each overdue task sits at (escalation moves it up)
            "SELECT t.community_id, 'overdue_at_' || t.assigned_level, COUNT(*) FROM tasks_task t "
            f"WHERE t.status IN ({_quoted(OPEN_TASK)}) AND t.due_at < %s AND t.assigned_level <> '' "
            "GROUP BY t.community_id, t.assigned_level",
            [as_of],
        ),
        (
            "SELECT t.community_id, 'tasks_closed', COUNT(*) FROM tasks_task t "
            "WHERE t.closed_at >= %s AND t.closed_at < %s AND t.status IN ('closed', 'evaluated') "
            "GROUP BY t.community_id",
            [start, end],
        ),
        (
            "SELECT t.community_id, 'tasks_closed_on_time', COUNT(*) FROM tasks_task t "
            "WHERE t.closed_at >= %s AND t.closed_at < %s AND t.status IN ('closed', 'evaluated') "
            "AND t.closed_at <= t.due_at GROUP BY t.community_id",
            [start, end],
        ),
        (
            "SELECT x.community_id, CASE WHEN x.status IN ('queued', 'no_destination') THEN 'transfers_waiting' "
            "ELSE 'transfers_moving' END, COUNT(*) FROM dispatch_transfer x "
            "WHERE x.status IN ('queued', 'no_destination', 'planned', 'picked_up') "
            "GROUP BY x.community_id, CASE WHEN x.status IN ('queued', 'no_destination') "
            "THEN 'transfers_waiting' ELSE 'transfers_moving' END",
            [],
        ),
        (
            "SELECT v.community_id, 'coverage_target', SUM(v.target) FROM campaigns_coverage v "
            "WHERE v.campaign_id IN (SELECT k.id FROM campaigns_campaign k WHERE k.starts_on <= %s "
            "AND k.ends_on >= %s) GROUP BY v.community_id",
            [day, day],
        ),
        (
            "SELECT v.community_id, 'coverage_tested', SUM(v.tested) FROM campaigns_coverage v "
            "WHERE v.campaign_id IN (SELECT k.id FROM campaigns_campaign k WHERE k.starts_on <= %s "
            "AND k.ends_on >= %s) GROUP BY v.community_id",
            [day, day],
        ),
        (
            f"SELECT r.community_id, 'risk_level', MAX({RISK_RANK}) FROM risk_riskarea r "
            "WHERE r.community_id IS NOT NULL GROUP BY r.community_id",
            [],
        ),
    ]
    return sources


def _level_rows(day: dt.date) -> list[tuple[str, list]]:
    """Figures kept at their own level: (level, division_id, indicator, value) SELECTs."""
    beds = (
        "SELECT f.district_id, '{name}', SUM({expr}) FROM beds_facility f "
        "WHERE f.active AND f.district_id IS NOT NULL GROUP BY f.district_id"
    )
    rows = [
        ("district", beds.format(name="beds_open", expr="f.beds_open"), []),
        ("district", beds.format(name="beds_occupied", expr="f.beds_occupied"), []),
        (
            "district",
            beds.format(
                name="beds_free",
                expr="CASE WHEN f.beds_open > f.beds_occupied + f.beds_reserved "
                "THEN f.beds_open - f.beds_occupied - f.beds_reserved ELSE 0 END",
            ),
            [],
        ),
    ]
    for level in ("district", "street", "community"):
        rows.append(
            (
                level,
                "SELECT a.area_id, 'alerts_open', COUNT(*) FROM ewarn_alert a "
                f"WHERE a.status = 'open' AND a.level = '{level}' AND a.first_day <= %s GROUP BY a.area_id",
                [day],
            )
        )
    return rows


# What a past day can be recounted for: counts bounded by the day's own hours (flows, and the
# cumulative counts up to its end). A state (people in a category, open tasks) is only known as of
# now, so a past day keeps the states its own refreshes recorded.
RECOUNTABLE = tuple(sorted(code for code, i in INDICATORS.items() if i.kind == FLOW or code.startswith("cum_")))


def refresh(day: dt.date | None = None) -> Refresh:
    """Recount ``day``'s figures (default today) for every area; returns the refresh's record. For a
    past day only the RECOUNTABLE figures are recounted."""
    now = timezone.now()
    today = timezone.localdate(now)
    day = day or today
    started = time.perf_counter()
    recountable = _quoted(RECOUNTABLE)

    def only(alias: str = "") -> str:
        return f"{alias}indicator IN ({recountable})" if day < today else "1=1"

    with transaction.atomic():
        execute(f"DROP TABLE IF EXISTS {STAGE}")
        execute(f"CREATE TEMPORARY TABLE {STAGE} (community_id bigint, indicator varchar(32), value bigint)")
        for sql, params in _community_sources(day, now):
            execute(f"INSERT INTO {STAGE} (community_id, indicator, value) SELECT * FROM ({sql}) x", params)
        execute(f"DELETE FROM {STAGE} WHERE community_id IS NULL OR value IS NULL OR value = 0 OR NOT ({only()})")
        execute(f"DELETE FROM {TABLE} WHERE day = %s AND {only()}", [day])
        execute(
            f"INSERT INTO {TABLE} (day, level, division_id, indicator, value) "
            f"SELECT %s, 'community', s.community_id, s.indicator, SUM(s.value) FROM {STAGE} s "
            "JOIN geo_division d ON d.id = s.community_id GROUP BY s.community_id, s.indicator",
            [day],
        )
        maxima = _quoted(MAXIMA)
        for level in ("street", "district", "city"):
            node = "p.parent_id" if level == "city" else f"d.{level}_id"
            join = "JOIN geo_division p ON p.id = d.district_id" if level == "city" else ""
            execute(
                f"INSERT INTO {TABLE} (day, level, division_id, indicator, value) "
                f"SELECT %s, '{level}', {node}, f.indicator, "
                f"CASE WHEN f.indicator IN ({maxima}) THEN MAX(f.value) ELSE SUM(f.value) END "
                f"FROM {TABLE} f JOIN geo_division d ON d.id = f.division_id {join} "
                f"WHERE f.day = %s AND f.level = 'community' AND {node} IS NOT NULL AND {only('f.')} "
                f"GROUP BY {node}, f.indicator",
                [day, day],
            )
        if day >= today:
            _own_levels(day)
            _residents(day)
        execute(f"DROP TABLE IF EXISTS {STAGE}")
        rows = Figure.objects.filter(day=day).count()
        return Refresh.objects.create(day=day, at=now, seconds=time.perf_counter() - started, rows=rows)


def _own_levels(day: dt.date) -> None:
    """Beds (by district) and alerts (by the level they are about), then summed above."""
    own = f"{STAGE}_own"
    execute(f"DROP TABLE IF EXISTS {own}")
    execute(
        f"CREATE TEMPORARY TABLE {own} (level varchar(16), division_id bigint, indicator varchar(32), value bigint)"
    )
    for level, sql, params in _level_rows(day):
        execute(f"INSERT INTO {own} SELECT '{level}', x.* FROM ({sql}) x", params)
    # each own-level row counts at its level and at every level above it
    parents = {
        "community": ("street", "district", "city"),
        "street": ("district", "city"),
        "district": ("city",),
    }
    selects = [f"SELECT o.level, o.division_id, o.indicator, o.value FROM {own} o"]
    for below, aboves in parents.items():
        for above in aboves:
            node = "p.parent_id" if above == "city" else f"d.{above}_id"
            join = "JOIN geo_division p ON p.id = d.district_id" if above == "city" and below != "district" else ""
            if above == "city" and below == "district":
                node = "d.parent_id"
            selects.append(
                f"SELECT '{above}', {node}, o.indicator, o.value FROM {own} o "
                f"JOIN geo_division d ON d.id = o.division_id {join} WHERE o.level = '{below}' AND {node} IS NOT NULL"
            )
    execute(
        f"INSERT INTO {TABLE} (day, level, division_id, indicator, value) "
        f"SELECT %s, u.level, u.division_id, u.indicator, SUM(u.value) FROM ({' UNION ALL '.join(selects)}) u "
        "GROUP BY u.level, u.division_id, u.indicator HAVING SUM(u.value) > 0",
        [day],
    )
    execute(f"DROP TABLE IF EXISTS {own}")


def _residents(day: dt.date) -> None:
    """Residents per area, from the drill-down counts people.rollup keeps."""
    execute(
        f"INSERT INTO {TABLE} (day, level, division_id, indicator, value) "
        "SELECT %s, n.level, n.node_id, 'residents', n.residents FROM people_nodecount n "
        "WHERE n.level IN ('city', 'district', 'street', 'community') AND n.residents > 0",
        [day],
    )


def backfill(days: int, last: dt.date | None = None) -> list[Refresh]:
    """Recount the RECOUNTABLE figures of the ``days`` days before ``last`` (default today), and
    ``last`` in full: what a new installation or a late batch of records needs for the trends."""
    last = last or timezone.localdate()
    return [refresh(last - dt.timedelta(days=n)) for n in range(days, -1, -1)]
