"""Versioned policy data: every rule reads its windows, thresholds and deadlines from here.

domain.md (preamble): policy values change between plan editions, so they are data with history,
never constants in code. ``DEFAULTS`` holds the 2020 values with their sources; an administrator's
edit writes a new :class:`core.models.PolicyVersion`, and the version in force at a moment is the
newest one whose ``effective_from`` has passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.expiring import Expiring


@dataclass(frozen=True)
class PolicyItem:
    default: Any
    label: str
    source: str
    choices: tuple[Any, ...] = ()  # allowed values (of a dict's values or a list's items, for those)


DEFAULTS: dict[str, PolicyItem] = {
    "fever_threshold_c": PolicyItem(37.3, _("Fever threshold (°C)"), "domain.md §3: Wuhan notice of 20 Feb 2020"),
    "close_contact_quarantine_days": PolicyItem(
        14, _("Quarantine of close contacts (days)"), "domain.md §3: 2020 practice"
    ),
    "secondary_contact_quarantine_days": PolicyItem(
        7, _("Observation of secondary contacts (days)"), "domain.md §3: 7th edition, Sept 2020"
    ),
    "contact_window_days_before_onset": PolicyItem(
        2, _("Contact window before symptom onset (days)"), "domain.md §4: 5th edition, Feb 2020"
    ),
    "contact_window_hours_before_sample": PolicyItem(
        48, _("Contact window before the positive sample, asymptomatic (hours)"), "domain.md §4"
    ),
    "contact_min_overlap_minutes": PolicyItem(
        15, _("Minimum continuous overlap at a venue (minutes)"), "domain.md §4: Linli's computed rule"
    ),
    "follow_up_checks_per_day": PolicyItem(
        2, _("Temperature checks per day under observation"), "issue #3: twice-daily temperature"
    ),
    "follow_up_grace_hours": PolicyItem(2, _("Hours after a missed check before a task opens"), "Linli default"),
    "task_deadline_hours": PolicyItem(
        {
            "notify": 2,
            "transfer": 12,
            "investigate": 24,
            "test": 24,
            "follow_up": 12,
            "verify": 24,
            "review": 24,
            "release": 24,
            "help": 24,
            "refer": 2,
            "recall": 6,
            "home_sample": 24,
            "door_to_door": 24,
            "care_visit": 48,
            "deliver": 24,
            "drive": 2,
            "restock": 24,
            "verify_signal": 24,
            "inspect": 48,
            "unit_review": 24,
        },
        _("Task deadlines by type (hours)"),
        "domain.md §4: report within 2 h, investigation within 24 h (6th edition, March 2020)",
    ),
    "help_deadline_hours": PolicyItem(
        {
            "medicine": 12,
            "groceries": 24,
            "escort": 2,
            "elderly_care": 12,
            "mental_health": 12,
            "report_problem": 48,
            "other": 48,
        },
        _("Help requests: hours to close, by category"),
        "domain.md §9: Beijing's grid closed cases in 6.5 h on average; Linli defaults",
    ),
    "help_page_next_level": PolicyItem(
        {
            "medicine": False,
            "groceries": False,
            "escort": True,
            "elderly_care": False,
            "mental_health": False,
            "report_problem": False,
            "other": False,
        },
        _("Help requests: categories that page the next level up at once"),
        "issue #7 item 2: urgent categories (escort to hospital)",
        choices=(True, False),
    ),
    "help_requests_per_phone_per_hour": PolicyItem(
        5, _("Help requests one phone may file in an hour"), "Linli default: stops flooding from one phone"
    ),
    "help_requests_per_phone_per_day": PolicyItem(
        20, _("Help requests one phone may file in a day"), "Linli default: stops flooding from one phone"
    ),
    "care_visit_days": PolicyItem(
        {"elderly_alone": 7, "chronic": 14, "pregnant": 14, "disabled": 14},
        _("Key-group care: days between visits, by group"),
        "issue #7 item 3; Linli defaults (weekly for elderly living alone)",
    ),
    "dispatch_road_factor": PolicyItem(
        1.3, _("Transport: road distance over great-circle distance"), "Linli default; typical urban detour factor"
    ),
    "dispatch_speed_kmh": PolicyItem(30, _("Transport: average speed in the city (km/h)"), "Linli default"),
    "dispatch_max_wait_hours": PolicyItem(
        4, _("Transport: longest a person should wait for pick-up (hours)"), "Linli default; issue #8 item 3"
    ),
    "dispatch_ride_alone": PolicyItem(
        {"confirmed": False, "asymptomatic": False, "suspected": True, "fever": True, "close_contact": False},
        _("Transport: categories whose people ride alone"),
        "issue #8 item 2: a suspected or fever patient rides alone (domain.md §3: kept apart)",
        choices=(True, False),
    ),
    "dispatch_plan_seconds": PolicyItem(10, _("Transport: solver time per plan (seconds)"), "issue #8: plan ≤ 30 s"),
    "linkage_auto_link_probability": PolicyItem(
        0.99, _("Person linkage: link automatically at or above this match probability"), "issue #3, item 2"
    ),
    "linkage_review_probability": PolicyItem(
        0.5, _("Person linkage: send to review at or above this match probability"), "issue #3, item 2"
    ),
    "escalation_step_hours": PolicyItem(
        4, _("Hours an escalated task waits before going up another level"), "Linli default; GB/T 30428 flow"
    ),
    "containment_hours": PolicyItem(
        24, _("Hours to investigate a case and seal its outbreak point"), "domain.md §4: Wuhan's 2020 goal, 24 h"
    ),
    "risk_fine_level": PolicyItem(
        "compound", _("Finest level a high-risk area is drawn at (building or compound)"), "domain.md §5: 9th edition"
    ),
    "risk_high_to_medium_days": PolicyItem(
        7, _("Days without a new case before a high-risk area goes down to medium"), "domain.md §5: 9th edition"
    ),
    "risk_medium_to_low_days_after_high": PolicyItem(
        3, _("Further days without a new case before it goes down to low"), "domain.md §5: 9th edition"
    ),
    "risk_medium_to_low_days": PolicyItem(
        7, _("Days without a new case before a medium-risk area goes down to low"), "domain.md §5: 9th edition"
    ),
    "risk_county_window_days": PolicyItem(
        14, _("Days counted for new cases and clusters (district and community levels)"), "domain.md §5: 17 Feb 2020"
    ),
    "risk_county_cumulative_threshold": PolicyItem(
        50, _("Cumulative cases above which a district can be high risk"), "domain.md §5: 17 Feb 2020"
    ),
    "risk_cluster_min_cases": PolicyItem(
        2, _("Linked cases within the window that make a cluster"), "domain.md §5: 2+ in 2020, 5+ from the 7th edition"
    ),
    "healthcode_rules": PolicyItem(
        {
            "confirmed": "red",
            "asymptomatic": "red",
            "suspected": "red",
            "central_isolation": "red",
            "close_contact": "red",
            "secondary_contact": "yellow",
            "fever": "yellow",
            "gate_fever": "yellow",
            "declared_symptoms": "yellow",
            "travel_high": "red",
            "travel_medium": "yellow",
            "test_overdue": "yellow",
            "pool_hold": "red",
        },
        _("Health-code colour given by each reason (green, yellow or red)"),
        "domain.md §6: colours in practice; close contacts and high-risk arrivals were quarantined centrally",
        choices=("green", "yellow", "red"),
    ),
    "healthcode_token_minutes": PolicyItem(
        30, _("Minutes a health-code token stays valid"), "Linli default: short, so a screenshot soon stops passing"
    ),
    "healthcode_key_days": PolicyItem(30, _("Days a signing key signs before rotation"), "Linli default"),
    "healthcode_travel_days": PolicyItem(
        14, _("Days after arrival from a risk area that the colour holds"), "domain.md §6; 14-day observation, 2020"
    ),
    "healthcode_fever_hold_hours": PolicyItem(
        72,
        _("Hours a checkpoint fever reading holds the colour, unless a normal reading follows"),
        "domain.md §7: ≥ 37.3 °C refers to a fever clinic",
    ),
    "healthcode_declaration_hours": PolicyItem(
        72,
        _("Hours declared fever or symptoms hold the colour, unless a newer declaration clears them"),
        "Linli default",
    ),
    "campaign_pool_size": PolicyItem(
        10,
        _("People per tube in a new testing campaign (1, 5 or 10)"),
        "domain.md §8: Wuhan 2020 up to 5; later 10-in-1",
        choices=(1, 5, 10),
    ),
    "campaign_pooling_max_prevalence": PolicyItem(
        0.001,
        _("Positive rate above which pooling stops paying (switch to single tubes)"),
        "domain.md §8: national guideline, pooling below 0.1 %",
    ),
    "campaign_positive_category": PolicyItem(
        "asymptomatic",
        _("Category of a person whose own re-swab is positive, until a clinician reports otherwise"),
        "domain.md §8: Wuhan's 2020 screening found 300 asymptomatic infections; §3: tracked beside confirmed",
        choices=("asymptomatic", "confirmed"),
    ),
    "campaign_lab_hours": PolicyItem(
        12, _("Hours a lab has to report a tube after sampling"), "domain.md §4: lab results within 12 h (6th edition)"
    ),
    "ewarn_detectors": PolicyItem(
        {
            "cidars": {"percentile": 90, "min_count": 5},
            "ears_c2": {"min_sigma": 1.0},
            "farrington": {"freq": 365, "b": 3, "alpha": 0.005},
        },
        _("Early-warning detectors that run every day, with their parameters"),
        "early-warning.md: CIDARS P50–P90 by disease; EARS C2; Noufaily 2013 α 0.005 (ears_c1, ears_c3, cusum "
        "also available)",
    ),
    "ewarn_min_detectors": PolicyItem(
        2,
        _("Detectors that must agree on a day before an area's rise becomes an alert"),
        "Linli default: on the demo city's three years, any one detector alone flagged 2–10 % of area-days",
    ),
    "ewarn_levels": PolicyItem(
        ["district", "street"],
        _("Levels whose daily series the temporal detectors judge (communities get the space-time scan)"),
        "early-warning.md: CIDARS judges counties; the scan controls chance across many small areas",
        choices=("community", "street", "district", "city"),
    ),
    "ewarn_scan": PolicyItem(
        {
            "window_days": 28,
            "max_days": 7,
            "replications": 999,
            "max_p": 0.01,
            "max_share": 0.5,
            "max_neighbours": 100,
            "stop_after": 50,
        },
        _(
            "Space-time permutation scan over communities: window, cluster length, replications, p-value, "
            "largest circle, early stop"
        ),
        "early-warning.md: Kulldorff 2005, 999 replications, at most 50 % of cases; stop after 50 replications "
        "beat the cluster (Besag & Clifford 1991: only p ≥ 0.05 is cut short)",
    ),
    "login_max_failures": PolicyItem(
        5,
        _("Failed sign-ins to one account before it is locked"),
        "GB/T 22239-2019 §8.1.4.1 b (level 3): limit illegal login attempts; OWASP ASVS 2.2.1",
    ),
    "login_max_failures_per_address": PolicyItem(
        30, _("Failed sign-ins from one address before it is locked"), "GB/T 22239-2019 §8.1.4.1 b; Linli default"
    ),
    "login_lockout_minutes": PolicyItem(
        15, _("Minutes an account or address stays locked after too many failures"), "Linli default"
    ),
    "login_attempts_keep_days": PolicyItem(
        180,
        _("Days sign-in attempts are kept before they are deleted"),
        "Cybersecurity Law of the PRC art. 21(3): network logs kept at least six months",
    ),
    "ewarn_episode_gap_days": PolicyItem(
        7, _("Days without an alarm after which a new alarm opens a new alert"), "Linli default"
    ),
    "ewarn_recount_days": PolicyItem(
        14, _("Days of signal counts recounted every night (late records)"), "Linli default"
    ),
}


# Checks an app adds for a value whose meaning it owns (e.g. ewarn: the detectors and their
# parameters must exist), registered in AppConfig.ready; each raises ValueError with the reason.
VALIDATORS: dict[str, Callable[[Any], None]] = {}


def register_items(items: dict[str, PolicyItem], validators: dict[str, Callable[[Any], None]] | None = None) -> None:
    """Let an app own its policy items (called from its AppConfig.ready): the rules stay beside the
    code that applies them, and the policy page lists them with the rest."""
    clash = set(items) & set(DEFAULTS)
    if clash:
        raise ValueError(f"policy keys defined twice: {', '.join(sorted(clash))}")
    DEFAULTS.update(items)
    VALIDATORS.update(validators or {})


def _validate(key: str, value: Any) -> Any:
    """Values keep the type of their default; dicts keep their keys' value types; then the owning
    app's check, if it registered one."""
    value = _validate_shape(key, value)
    if key in VALIDATORS:
        VALIDATORS[key](value)
    return value


def _validate_shape(key: str, value: Any) -> Any:
    item = DEFAULTS[key]
    default = item.default
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ValueError(f"{key}: expected a list")
        return [_checked(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ValueError(f"{key}: expected an object")
        sample = next(iter(default.values()))
        return {
            k: _checked(item, _number_like(default.get(k, sample), v, f"{key}.{k}"), f"{key}.{k}")
            for k, v in value.items()
        }
    return _checked(item, _number_like(default, value, key), key)


def _checked(item: PolicyItem, value: Any, where: str) -> Any:
    if item.choices and value not in item.choices:
        raise ValueError(f"{where}: must be one of {', '.join(str(c) for c in item.choices)}")
    return value


def _number_like(default: Any, value: Any, where: str) -> Any:
    if isinstance(default, bool) or not isinstance(default, int | float):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: expected a number, got {value!r}") from exc
    if number < 0:
        raise ValueError(f"{where}: must not be negative")
    return int(number) if isinstance(default, int) and number.is_integer() else number


class Policy:
    """The values of one policy version, read as attributes: ``policy().fever_threshold_c``."""

    def __init__(self, values: dict[str, Any], version: int | None):
        self._values = {key: item.default for key, item in DEFAULTS.items()} | values
        self.version = version

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError as exc:
            raise AttributeError(key) from exc

    def deadline_hours(self, task_type: str) -> float:
        table = self._values["task_deadline_hours"]
        return float(table.get(task_type, table.get("review", 24)))

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def policy(at: dt.datetime | None = None) -> Policy:
    """The policy in force at ``at`` (now by default)."""
    from core.models import PolicyVersion

    at = at or timezone.now()
    version = PolicyVersion.objects.filter(effective_from__lte=at).order_by("-effective_from", "-number").first()
    if version is None:
        return Policy({}, None)
    return Policy(version.values, version.number)


_RECENT = Expiring(1.0, max_entries=1)


def recent_policy() -> Policy:
    """The policy now, as read at most a second ago: for hot paths (gate checks) that would
    otherwise read it on every request. Other processes see an edit within a second."""
    return _RECENT.get("now", policy)


def do_update_policy(changes: dict[str, Any], user, note: str, effective_from: dt.datetime | None = None):
    """Write a new version: the current values with ``changes`` applied. Raises ValueError on bad values."""
    from core.models import PolicyVersion

    unknown = set(changes) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
    cleaned = {key: _validate(key, value) for key, value in changes.items()}
    with transaction.atomic():
        latest = PolicyVersion.objects.select_for_update().order_by("-number").first()
        base = policy().as_dict()
        _RECENT.clear()
        return PolicyVersion.objects.create(
            number=(latest.number + 1) if latest else 1,
            effective_from=effective_from or timezone.now(),
            values=base | cleaned,
            note=note,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
