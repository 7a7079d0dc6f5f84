"""The workforce's policy items (registered with core.policy from WorkforceConfig.ready), each with
its source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.policy import PolicyItem

ITEMS: dict[str, PolicyItem] = {
    "duty_max_consecutive_days": PolicyItem(
        6,
        _("Front-line staff: most consecutive days on duty"),
        "PRC Labour Law (1994) art. 38: at least one day of rest in every week",
    ),
    "duty_max_weekly_hours": PolicyItem(
        40,
        _("Front-line staff: most hours on duty in any 7 days"),
        "State Council Decree No. 174 (1995), Provisions on Working Hours: 8 hours a day, 40 hours a week",
    ),
    "duty_shift_hours": PolicyItem(
        8,
        _("Front-line staff: hours of a planned duty day"),
        "State Council Decree No. 174 (1995): 8 hours a day",
    ),
    "grid_min_staff_on_duty": PolicyItem(
        1,
        _("Front-line staff: fewest workers on duty in each grid every day (a grid may set its own)"),
        "Linli default: every grid keeps someone answerable on duty (domain.md §1, 包保)",
    ),
    "rotation_horizon_days": PolicyItem(
        14, _("Rotation plans: days planned ahead by default"), "Linli default: two weeks"
    ),
    "rotation_solve_seconds": PolicyItem(
        20,
        _("Rotation plans: solver time per plan (seconds)"),
        "Linli default; measured in workforce/bench_rotation.py",
    ),
}


def _whole_between(low: int, high: int):
    def check(value: Any) -> None:
        if not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")

    return check


def _hours(value: Any) -> None:
    if not 1 <= float(value) <= 24:
        raise ValueError("must be between 1 and 24 hours")


VALIDATORS = {
    "duty_max_consecutive_days": _whole_between(1, 13),
    "duty_max_weekly_hours": _whole_between(1, 168),
    "duty_shift_hours": _hours,
    "grid_min_staff_on_duty": _whole_between(0, 50),
    "rotation_horizon_days": _whole_between(1, 42),
    "rotation_solve_seconds": _whole_between(1, 600),
}
