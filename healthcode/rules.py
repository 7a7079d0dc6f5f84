"""Why a person's code has its colour: each source lists the reasons in force, set-based.

A reason is ``(person_id, rule, since, detail)``. The colour a rule gives is policy
(``healthcode_rules``, domain.md §6); a person's colour is the most severe of their reasons, and
green without any. Other apps add sources (the gates app adds checkpoint fever readings) by
appending to :data:`SOURCES` in their ``AppConfig.ready``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from cases.choices import CLOSED_STATES, CaseState, Category, PlacementKind
from core.policy import Policy
from healthcode.choices import CATEGORY_RULES, SEVERITY, Colour, Rule


@dataclass(frozen=True)
class Reason:
    person_id: int
    rule: str
    since: dt.datetime
    detail: str = ""
    basis: str = ""  # category reasons: the legal basis of the category (cases.choices.Basis)

    def as_json(self) -> dict:
        found = {"rule": self.rule, "since": self.since.isoformat(timespec="seconds"), "detail": self.detail}
        if self.basis:
            found["basis"] = self.basis
        return found


# A source answers: which reasons hold at ``now`` under ``rules`` for people in ``only`` (None: all).
Source = Callable[[dt.datetime, Policy, Sequence[int] | None], Iterable[Reason]]
SOURCES: list[Source] = []


def _only(queryset: QuerySet, only: Sequence[int] | None, field: str = "person_id") -> QuerySet:
    return queryset if only is None else queryset.filter(**{f"{field}__in": only})


_CATEGORY_RULE = {
    Category.CONFIRMED: Rule.CONFIRMED,
    Category.ASYMPTOMATIC: Rule.ASYMPTOMATIC,
    Category.SUSPECTED: Rule.SUSPECTED,
    Category.FEVER: Rule.FEVER,
    Category.CLOSE_CONTACT: Rule.CLOSE_CONTACT,
    Category.SECONDARY_CONTACT: Rule.SECONDARY_CONTACT,
}
_CENTRAL_PLACEMENTS = {kind for kind in PlacementKind.values if kind != PlacementKind.HOME}


def category_reasons(now: dt.datetime, rules: Policy, only: Sequence[int] | None) -> Iterable[Reason]:
    """domain.md §6: red for confirmed or suspected or under central isolation/quarantine; the
    category's own rule while its episode is open (not released, discharged, excluded, died). Each
    carries the legal basis the category was recorded with (issue #11), which the resident sees."""
    from cases.models import PersonStatus

    rows = _only(PersonStatus.objects.exclude(state__in=CLOSED_STATES), only).values_list(
        "person_id", "category", "state", "since", "isolated_at", "placement_kind", "placement_name", "basis"
    )
    for person_id, category, state, since, isolated_at, placement_kind, placement_name, basis in rows:
        yield Reason(person_id, _CATEGORY_RULE[category], since, state, basis)
        if state == CaseState.PLACED and placement_kind in _CENTRAL_PLACEMENTS:
            place = placement_name or placement_kind
            yield Reason(person_id, Rule.CENTRAL_ISOLATION, isolated_at or since, place, basis)


def travel_reasons(now: dt.datetime, rules: Policy, only: Sequence[int] | None) -> Iterable[Reason]:
    """An arrival (travel feed or trip declaration) within ``healthcode_travel_days`` from an area
    that was at medium or high risk when the person arrived."""
    from feeds.models import TravelRecord
    from healthcode.models import TravelRiskArea, TravelRiskLevel, TripDeclaration

    window_start = now - dt.timedelta(days=rules.healthcode_travel_days)
    areas = TravelRiskArea.objects.filter(valid_from__lte=now).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=window_start)
    )
    for area in areas:
        rule = Rule.TRAVEL_HIGH if area.level == TravelRiskLevel.HIGH else Rule.TRAVEL_MEDIUM
        start = max(window_start, area.valid_from)
        end = min(now, area.valid_until) if area.valid_until else now
        for model in (TravelRecord, TripDeclaration):
            arrivals = model.objects.filter(
                person_id__isnull=False,
                origin_area_code__startswith=area.area_code,
                arrived_at__gte=start,
                arrived_at__lte=end,
            )
            for person_id, arrived_at in _only(arrivals, only).values_list("person_id", "arrived_at"):
                yield Reason(person_id, rule, arrived_at, area.name)


def declaration_reasons(now: dt.datetime, rules: Policy, only: Sequence[int] | None) -> Iterable[Reason]:
    """The newest health declaration within ``healthcode_declaration_hours``, if it declares a
    temperature at or above the fever threshold or any symptom (a newer clean one clears it)."""
    from healthcode.models import HealthDeclaration

    start = now - dt.timedelta(hours=rules.healthcode_declaration_hours)
    newer = HealthDeclaration.objects.filter(person_id=OuterRef("person_id"), at__gt=OuterRef("at"))
    latest = _only(HealthDeclaration.objects.filter(at__gte=start, at__lte=now), only).exclude(Exists(newer))
    flagged = latest.filter(Q(temperature__gte=rules.fever_threshold_c) | ~Q(symptoms=[]))
    for person_id, at, temperature in flagged.values_list("person_id", "at", "temperature"):
        yield Reason(person_id, Rule.DECLARED_SYMPTOMS, at, f"{temperature}" if temperature is not None else "")


def test_overdue_reasons(now: dt.datetime, rules: Policy, only: Sequence[int] | None) -> Iterable[Reason]:
    """A test task about the person still open past its deadline."""
    from tasks.choices import TaskType
    from tasks.flow import ACTIVE
    from tasks.models import Task

    overdue = Task.objects.filter(task_type=TaskType.TEST, resident_id__isnull=False, status__in=ACTIVE, due_at__lt=now)
    for person_id, due_at, pk in _only(overdue, only, "resident_id").values_list("resident_id", "due_at", "pk"):
        yield Reason(person_id, Rule.TEST_OVERDUE, due_at, f"#{pk}")


# Reasons are listed most severe first, then in the order of Rule (the case before its placement).
_ORDER = {rule: n for n, rule in enumerate(Rule.values)}

SOURCES.extend([category_reasons, travel_reasons, declaration_reasons, test_overdue_reasons])


def collect(now: dt.datetime, rules: Policy, only: Sequence[int] | None = None) -> dict[int, list[Reason]]:
    """Every reason in force for the people in ``only`` (all when None), without withdrawn ones,
    one per rule per person (the earliest ``since``), in order of severity."""
    from healthcode.models import ReasonWithdrawal

    found: dict[int, dict[str, Reason]] = defaultdict(dict)
    for source in SOURCES:
        for reason in source(now, rules, only):
            held = found[reason.person_id].get(reason.rule)
            if held is None or reason.since < held.since:
                found[reason.person_id][reason.rule] = reason
    if found:
        withdrawn = _only(ReasonWithdrawal.objects.all(), only).values_list("person_id", "rule", "up_to")
        for person_id, rule, up_to in withdrawn:
            held = found.get(person_id, {}).get(rule)
            if held is not None and rule not in CATEGORY_RULES and held.since <= up_to:
                del found[person_id][rule]
    table = rules.healthcode_rules
    return {
        person_id: sorted(by_rule.values(), key=lambda r: (-SEVERITY[table.get(r.rule, Colour.YELLOW)], _ORDER[r.rule]))
        for person_id, by_rule in found.items()
        if by_rule
    }


def colour_of(reasons: Iterable[Reason | dict], rules: Policy) -> str:
    table = rules.healthcode_rules
    colour = Colour.GREEN
    for reason in reasons:
        rule = reason["rule"] if isinstance(reason, dict) else reason.rule
        candidate = table.get(rule, Colour.YELLOW)
        if SEVERITY[candidate] > SEVERITY[colour]:
            colour = candidate
    return str(colour)
