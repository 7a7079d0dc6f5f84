"""The risk rules as pure functions of a node's case figures, the moment rated and the policy in force.

domain.md §5. Kept apart from the database work (risk.services) so that each rule is tested by
itself. Periods are exact days counted from the identification time (``as_of - last_case_at``); an
area is high while less than ``risk_high_to_medium_days`` have passed, and so on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from risk.choices import FINE_LEVELS, RiskLevel


@dataclass(frozen=True)
class Rating:
    level: str
    reason: str


def days(value) -> dt.timedelta:
    return dt.timedelta(days=float(value))


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def fine_rating(last_case_at: dt.datetime | None, as_of: dt.datetime, pol) -> Rating:
    """9th edition (domain.md §5), for a compound or building where cases live: high while a case was
    identified within the last ``risk_high_to_medium_days`` days; medium for the following
    ``risk_medium_to_low_days_after_high`` days; low after that (and with no case at all)."""
    if last_case_at is None or last_case_at > as_of:
        return Rating(RiskLevel.LOW, _("No case: low risk (9th edition)"))
    quiet = as_of - last_case_at
    high_days, after_high = pol.risk_high_to_medium_days, pol.risk_medium_to_low_days_after_high
    values = {"date": _when(last_case_at), "high": high_days, "more": after_high}
    if quiet < days(high_days):
        return Rating(
            RiskLevel.HIGH,
            _("Last case identified %(date)s, within %(high)s days: high risk (9th edition)") % values,
        )
    if quiet < days(high_days) + days(after_high):
        return Rating(
            RiskLevel.MEDIUM,
            _("No new case since %(date)s for %(high)s days: medium risk for %(more)s more days (9th edition)")
            % values,
        )
    return Rating(
        RiskLevel.LOW,
        _("No new case since %(date)s for %(high)s + %(more)s days: low risk (9th edition)") % values,
    )


def county_rating(cumulative: int, in_window: int, cluster: bool, pol) -> Rating:
    """2020 county rule (17 Feb 2020, domain.md §5), for a community or district: low with no case or
    none new in the window; medium with new cases and a cumulative total not above the threshold,
    or above it without a cluster in the window; high above the threshold with a cluster in the window."""
    window, threshold = pol.risk_county_window_days, pol.risk_county_cumulative_threshold
    values = {
        "window": window,
        "threshold": threshold,
        "new": in_window,
        "total": cumulative,
        "k": pol.risk_cluster_min_cases,
    }
    if cumulative == 0:
        return Rating(RiskLevel.LOW, _("No case: low risk (2020 county rule)"))
    if in_window == 0:
        return Rating(
            RiskLevel.LOW, _("No new case in %(window)s days (%(total)s in all): low risk (2020 county rule)") % values
        )
    if cumulative <= threshold:
        return Rating(
            RiskLevel.MEDIUM,
            _(
                "New cases in %(window)s days: %(new)s; in all: %(total)s (not above %(threshold)s): "
                "medium risk (2020 county rule)"
            )
            % values,
        )
    if not cluster:
        return Rating(
            RiskLevel.MEDIUM,
            _(
                "%(total)s cases in all (above %(threshold)s) but no cluster of %(k)s linked cases in "
                "%(window)s days: medium risk (2020 county rule)"
            )
            % values,
        )
    return Rating(
        RiskLevel.HIGH,
        _(
            "%(total)s cases in all (above %(threshold)s) and a cluster of %(k)s or more linked cases in "
            "%(window)s days: high risk (2020 county rule)"
        )
        % values,
    )


def manual_hold(
    manual_level: str,
    manual_at: dt.datetime,
    node_level: str,
    last_case_at: dt.datetime | None,
    as_of: dt.datetime,
    pol,
) -> str | None:
    """The level a setting made by hand still holds at ``as_of``, or None once the automatic rating
    governs again.

    Linli's rule: a level set by hand holds while no case newer than the setting arrives (a new
    case hands the area back to the automatic rules, which then count from that case). Without a
    new case it decays by the area's own downgrade days counted from the manual change, as if the
    change were a case: at a building or compound, a manual *high* stays high for
    ``risk_high_to_medium_days`` and medium for ``risk_medium_to_low_days_after_high`` more days, a
    manual *medium* stays medium for ``risk_medium_to_low_days``; at a community or district, a
    manual level holds for ``risk_county_window_days``. A manual *low* holds until a new case (old
    cases can only lower an area as time passes, so nothing automatic would raise it again).
    The automatic level is therefore never able to silently undo a raise made after the last case.
    """
    if last_case_at is not None and last_case_at > manual_at:
        return None
    if as_of < manual_at:  # rating a moment before the decision: the decision is not rewritten
        return manual_level
    elapsed = as_of - manual_at
    if manual_level == RiskLevel.LOW:
        return RiskLevel.LOW
    if node_level not in FINE_LEVELS:
        return manual_level if elapsed < days(pol.risk_county_window_days) else None
    if manual_level == RiskLevel.HIGH:
        if elapsed < days(pol.risk_high_to_medium_days):
            return RiskLevel.HIGH
        if elapsed < days(pol.risk_high_to_medium_days) + days(pol.risk_medium_to_low_days_after_high):
            return RiskLevel.MEDIUM
        return None
    return RiskLevel.MEDIUM if elapsed < days(pol.risk_medium_to_low_days) else None


def manual_reason(manual_level: str, level: str, manual_at: dt.datetime, why: str) -> str:
    """Why an area stands at ``level`` because of a setting by hand (which may have decayed since)."""
    return _("Set to %(set)s by hand on %(date)s (%(why)s): %(level)s until a new case or its downgrade days pass") % {
        "set": RiskLevel(manual_level).label,
        "level": RiskLevel(level).label,
        "date": _when(manual_at),
        "why": why,
    }
