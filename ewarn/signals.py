"""The pre-aggregated daily signal counts (issue #9, item 1), kept set-based.

Every signal is first counted per community and local day from its source records in one
``INSERT … SELECT … GROUP BY``, then rolled up to street, district and city from those rows, so
the levels always agree. A recount replaces the days it covers and nothing else: late records
(a clinic's batch a week late) are picked up by recounting the recent days every night, and the
history loaded from imports stays as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db import transaction

from core.imports.sql import execute, fetch, is_postgres
from core.moments import local_bounds, local_day_sql
from core.policy import policy
from ewarn.choices import PRODUCT_SIGNAL, Signal
from ewarn.models import PharmacySale, SchoolAbsence, SignalCount

TABLE = SignalCount._meta.db_table
ROLLUP_LEVELS = ("street", "district", "city")
LEVELS = ("community", *ROLLUP_LEVELS)


@dataclass(frozen=True)
class Source:
    """How one signal is counted per community and day: a SELECT of (community_id, day, count > 0)
    whose parameters are the period's bounds (timestamps for records, days for imports)."""

    sql: str
    by_day: bool = False  # the source is keyed by calendar day (imports), not by timestamp


def _sources() -> dict[str, Source]:
    fever = float(policy().fever_threshold_c)
    visit_day, event_day = local_day_sql("v.visited_at"), local_day_sql("e.at")
    lab_day, check_day = local_day_sql("r.sampled_at"), local_day_sql("g.at")
    sources = {
        # domain.md §3: a fever-clinic visit is a visit classed fever/suspected or at ≥ the threshold
        Signal.FEVER_CLINIC: Source(
            f"SELECT v.community_id, {visit_day}, COUNT(*) FROM feeds_clinicvisit v "
            "WHERE v.visited_at >= %s AND v.visited_at < %s AND v.community_id IS NOT NULL "
            f"AND (v.category IN ('fever', 'suspected') OR v.temperature >= {fever}) "
            f"GROUP BY v.community_id, {visit_day}"
        ),
        Signal.POSITIVE_TEST: Source(
            f"SELECT r.community_id, {lab_day}, COUNT(DISTINCT r.person_id) FROM feeds_labresult r "
            "WHERE r.sampled_at >= %s AND r.sampled_at < %s AND r.result = 'positive' "
            f"AND r.person_id IS NOT NULL AND r.community_id IS NOT NULL GROUP BY r.community_id, {lab_day}"
        ),
        Signal.GATE_FEVER: Source(
            f"SELECT g.community_id, {check_day}, COUNT(DISTINCT g.person_id) FROM gates_gatecheck g "
            "WHERE g.at >= %s AND g.at < %s AND g.fever AND g.community_id IS NOT NULL "
            f"GROUP BY g.community_id, {check_day}"
        ),
    }
    for signal, category in ((Signal.FEVER_CASE, "fever"), (Signal.SUSPECTED, "suspected")):
        # people newly reported in the category, whether or not a stronger category stood
        sources[signal] = Source(
            f"SELECT e.community_id, {event_day}, COUNT(DISTINCT e.person_id) FROM cases_categoryevent e "
            "WHERE e.at >= %s AND e.at < %s AND e.to_state = 'identified' AND e.outcome IN ('applied', 'noted') "
            f"AND e.category = '{category}' AND e.community_id IS NOT NULL "
            f"GROUP BY e.community_id, {event_day}"
        )
    sales = PharmacySale._meta.db_table
    for product, signal in PRODUCT_SIGNAL.items():
        sources[signal] = Source(
            f"SELECT p.community_id, p.day, SUM(p.units) FROM {sales} p WHERE p.day >= %s AND p.day <= %s "
            f"AND p.product_class = '{product.value}' GROUP BY p.community_id, p.day HAVING SUM(p.units) > 0",
            by_day=True,
        )
    absences = SchoolAbsence._meta.db_table
    for signal, column in ((Signal.SCHOOL_ABSENT, "absent"), (Signal.SCHOOL_FEVER, "absent_fever")):
        sources[signal] = Source(
            f"SELECT a.community_id, a.day, SUM(a.{column}) FROM {absences} a WHERE a.day >= %s AND a.day <= %s "
            f"GROUP BY a.community_id, a.day HAVING SUM(a.{column}) > 0",
            by_day=True,
        )
    return sources


RECORD_SIGNALS = (Signal.FEVER_CLINIC, Signal.FEVER_CASE, Signal.SUSPECTED, Signal.POSITIVE_TEST, Signal.GATE_FEVER)
PHARMACY_SIGNALS = tuple(PRODUCT_SIGNAL.values())
SCHOOL_SIGNALS = (Signal.SCHOOL_ABSENT, Signal.SCHOOL_FEVER)
REPORTED_SIGNALS = frozenset(PHARMACY_SIGNALS + SCHOOL_SIGNALS)  # sent by reporters, not counted from records


def recount(first: dt.date, last: dt.date, signals: Iterable[str] = Signal.values) -> int:
    """Replace the counts of ``signals`` for the days ``first``..``last`` at every level, from the
    source records; all or nothing. Returns the community rows written."""
    signals = [Signal(s) for s in signals]
    if not signals or last < first:
        return 0
    sources = _sources()
    start, end = local_bounds(first, last)
    written = 0
    with transaction.atomic():
        placeholders = ", ".join(["%s"] * len(signals))
        execute(
            f"DELETE FROM {TABLE} WHERE signal IN ({placeholders}) AND day >= %s AND day <= %s",
            [*[s.value for s in signals], first, last],
        )
        for signal in signals:
            source = sources[signal]
            bounds = [first, last] if source.by_day else [start, end]
            written += execute(
                f"INSERT INTO {TABLE} (signal, level, division_id, day, count) "
                f"SELECT '{signal.value}', 'community', x.* FROM ({source.sql}) x",
                bounds,
            )
        _roll_up(signals, first, last)
    return written


def _roll_up(signals: list[Signal], first: dt.date, last: dt.date) -> None:
    """Street, district and city rows as sums of the community rows (the city is a district's parent)."""
    placeholders = ", ".join(["%s"] * len(signals))
    values = [s.value for s in signals]
    for level in ROLLUP_LEVELS:
        node = "parent.parent_id" if level == "city" else f"d.{level}_id"
        join = "JOIN geo_division parent ON parent.id = d.district_id" if level == "city" else ""
        execute(
            f"INSERT INTO {TABLE} (signal, level, division_id, day, count) "
            f"SELECT c.signal, '{level}', {node}, c.day, SUM(c.count) FROM {TABLE} c "
            f"JOIN geo_division d ON d.id = c.division_id {join} "
            f"WHERE c.level = 'community' AND c.signal IN ({placeholders}) AND c.day >= %s AND c.day <= %s "
            f"AND {node} IS NOT NULL GROUP BY c.signal, {node}, c.day",
            [*values, first, last],
        )


@dataclass(frozen=True)
class Series:
    """Daily counts of one signal for every area of one level: rows are ``division_ids``, columns the
    days from ``first``. Days before the signal's first data anywhere are NaN (not yet collected),
    the others 0 when nothing was counted."""

    signal: str
    level: str
    first: dt.date
    division_ids: np.ndarray
    counts: np.ndarray

    @property
    def days(self) -> int:
        return self.counts.shape[1]

    def day(self, index: int) -> dt.date:
        return self.first + dt.timedelta(days=int(index))


def data_since(signal: str) -> dt.date | None:
    """The first day the signal has any count anywhere: before it the source was not collected."""
    rows = fetch(f"SELECT MIN(day) FROM {TABLE} WHERE signal = %s AND level = 'city'", [signal])
    value = rows[0][0] if rows else None
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _days_since_sql() -> str:
    """SQL for a count row's day as days after a given first day (the one parameter)."""
    return "(day - CAST(%s AS date))" if is_postgres() else "CAST(julianday(day) - julianday(%s) AS integer)"


def read_series(signal: str, level: str, first: dt.date, last: dt.date, division_ids: np.ndarray) -> Series:
    """The ``signal``'s counts for ``division_ids`` (sorted ids of the areas of ``level``) from
    ``first`` to ``last``: one range read, placed into the matrix with numpy, not row by row."""
    days = (last - first).days + 1
    counts = np.zeros((len(division_ids), days), dtype=float)
    since = data_since(signal)
    if since is None or since > last:
        counts[:] = np.nan
        return Series(signal, level, first, division_ids, counts)
    offset = _days_since_sql()
    rows = fetch(
        f"SELECT division_id, {offset}, count FROM {TABLE} "
        "WHERE signal = %s AND level = %s AND day >= %s AND day <= %s",
        [first, signal, level, first, last],
    )
    if rows:
        table = np.array(rows, dtype=np.int64)
        where = np.searchsorted(division_ids, table[:, 0])
        known = (where < len(division_ids)) & (division_ids[np.minimum(where, len(division_ids) - 1)] == table[:, 0])
        np.add.at(counts, (where[known], table[known, 1]), table[known, 2])
    if since > first:
        counts[:, : (since - first).days] = np.nan
    if signal in REPORTED_SIGNALS:
        counts[:, ~_reporting_days(signal, first, last)] = np.nan
    return Series(signal, level, first, division_ids, counts)


def _reporting_days(signal: str, first: dt.date, last: dt.date) -> np.ndarray:
    """Days on which anyone reported the signal: a day without a single pharmacy's sales or a
    school's roll call (a weekend, a holiday) is missing, not a day of zero."""
    offset = _days_since_sql()
    rows = fetch(
        f"SELECT {offset} FROM {TABLE} WHERE signal = %s AND level = 'city' AND day >= %s AND day <= %s",
        [first, signal, first, last],
    )
    reported = np.zeros((last - first).days + 1, dtype=bool)
    reported[np.array([r[0] for r in rows], dtype=np.int64)] = True
    return reported
