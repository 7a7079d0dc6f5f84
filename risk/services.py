"""Risk-area actions: the recompute from cases, the immediate raise on a confirmed case, a level set by hand.

domain.md §5. The figures of every node come from a handful of aggregate queries over the infected
cases' identification events (never a loop over residents); the rules (risk.rules) rate each node;
only areas whose figures or level differ are written, and every level change writes a
:class:`RiskLevelChange`, so running the recompute twice for the same moment changes nothing.

What counts as a case: a person's *first* applied identification as confirmed or asymptomatic
(cases.services.INFECTED) up to the moment rated, placed where the person lived then (the place
columns the event copied from the resident). A later reclassification of the same person
(asymptomatic → confirmed) is not a new case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import CaseState, EventOutcome
from cases.models import CategoryEvent
from cases.services import INFECTED
from core.policy import policy
from geo.models import Building, Compound, Division
from people.models import Resident
from risk.choices import FINE_LEVELS, NodeLevel, RiskChangeSource, RiskLevel, RiskRule
from risk.models import RiskArea, RiskLevelChange
from risk.rules import Rating, county_rating, days, fine_rating, manual_hold, manual_reason

Key = tuple[str, int]  # (node level, node id)
NODE_COLUMN = {
    NodeLevel.BUILDING: "building",
    NodeLevel.COMPOUND: "compound",
    NodeLevel.COMMUNITY: "division",
    NodeLevel.DISTRICT: "division",
}
SCOPE_COLUMNS = ("district_id", "street_id", "community_id", "grid_id", "in_compound_id")
COMPARED = (
    "level",
    "last_case_at",
    "cases_in_window",
    "cumulative_cases",
    "reason",
    "rule",
    "manual_level",
    "manual_at",
    "manual_by_id",
    "manual_reason",
)

__all__ = [
    "area_key",
    "do_set_level",
    "fine_level_in_force",
    "infected_cases",
    "level_counts",
    "raise_for_case",
    "recompute_risk_areas",
]


@dataclass
class Figures:
    """A node's case figures at the moment rated."""

    last_case_at: dt.datetime | None = None
    cumulative: int = 0
    in_window: int = 0
    cluster: bool = False


def fine_level_in_force(pol) -> str:
    """``risk_fine_level`` of the policy: compound (default) or building."""
    return NodeLevel.BUILDING if pol.risk_fine_level == NodeLevel.BUILDING else NodeLevel.COMPOUND


def area_key(area: RiskArea) -> Key:
    return area.node_level, area.node_id


def infected_cases(as_of: dt.datetime) -> QuerySet:
    """Each infected person's first applied identification (confirmed or asymptomatic) up to ``as_of``."""
    identified = CategoryEvent.objects.filter(
        to_state=CaseState.IDENTIFIED, outcome=EventOutcome.APPLIED, category__in=sorted(INFECTED)
    )
    earlier = identified.filter(person_id=OuterRef("person_id"), at__lt=OuterRef("at"))
    return identified.filter(at__lte=as_of).exclude(Exists(earlier)).order_by()


def _figures(as_of: dt.datetime, pol, fine: str, only: dict[str, set[int]] | None) -> dict[Key, Figures]:
    """Figures of every node with a case (or of the ``only`` nodes): one aggregate query per node level,
    one for clusters."""
    cases = infected_cases(as_of)
    window_start = as_of - days(pol.risk_county_window_days)
    figures: dict[Key, Figures] = {}
    for node_level in (fine, NodeLevel.COMMUNITY, NodeLevel.DISTRICT):
        qs = cases.filter(**{f"{node_level}__isnull": False})
        if only is not None:
            if not only.get(node_level):
                continue
            qs = qs.filter(**{f"{node_level}__in": sorted(only[node_level])})
        rows = qs.values(node_level).annotate(
            last=Max("at"),
            cumulative=Count("person", distinct=True),
            in_window=Count("person", distinct=True, filter=Q(at__gt=window_start)),
        )
        for row in rows:
            figures[(node_level, row[node_level])] = Figures(row["last"], row["cumulative"], row["in_window"])
    # A cluster (county rule): risk_cluster_min_cases linked cases within the window. Linked is read
    # as "living in the same compound" (the proxy until tracing records chains of transmission).
    clusters = (
        cases.filter(at__gt=window_start, compound__isnull=False)
        .values("compound", "community", "district")
        .annotate(n=Count("person", distinct=True))
        .filter(n__gte=pol.risk_cluster_min_cases)
    )
    if only is not None:
        clusters = clusters.filter(
            Q(community__in=sorted(only.get(NodeLevel.COMMUNITY, ())))
            | Q(district__in=sorted(only.get(NodeLevel.DISTRICT, ())))
        )
    for row in clusters:
        for node_level in (NodeLevel.COMMUNITY, NodeLevel.DISTRICT):
            key = (node_level, row[node_level])
            if key in figures:
                figures[key].cluster = True
    return figures


def _rate(key: Key, figures: Figures, as_of: dt.datetime, pol, fine: str) -> tuple[Rating, str]:
    node_level = key[0]
    if node_level in FINE_LEVELS:
        if node_level != fine:
            reason = _("High-risk areas are now drawn by %(level)s (policy): not rated here") % {
                "level": NodeLevel(fine).label
            }
            return Rating(RiskLevel.LOW, reason), RiskRule.FINE
        return fine_rating(figures.last_case_at, as_of, pol), RiskRule.FINE
    return county_rating(figures.cumulative, figures.in_window, figures.cluster, pol), RiskRule.COUNTY


def _places(keys: set[Key]) -> dict[Key, dict[str, int | None]]:
    """Scope columns of nodes about to get an area (one query per node level)."""
    ids: dict[str, list[int]] = {}
    for node_level, node_id in keys:
        ids.setdefault(node_level, []).append(node_id)
    places: dict[Key, dict[str, int | None]] = {}
    if ids.get(NodeLevel.BUILDING):
        for row in Building.objects.filter(pk__in=ids[NodeLevel.BUILDING]).values(
            "id", "compound_id", "grid_id", "community_id", "street_id", "district_id"
        ):
            row["in_compound_id"] = row.pop("compound_id")
            places[(NodeLevel.BUILDING, row.pop("id"))] = row
    if ids.get(NodeLevel.COMPOUND):
        for row in Compound.objects.filter(pk__in=ids[NodeLevel.COMPOUND]).values(
            "id", "grid_id", "community_id", "street_id", "district_id"
        ):
            row["in_compound_id"] = row["id"]
            places[(NodeLevel.COMPOUND, row.pop("id"))] = row
    division_ids = ids.get(NodeLevel.COMMUNITY, []) + ids.get(NodeLevel.DISTRICT, [])
    if division_ids:
        for row in Division.objects.filter(pk__in=division_ids, level__in=["community", "district"]).values(
            "id", "level", "street_id", "district_id"
        ):
            node_id = row["id"]
            place = {"district_id": row["district_id"], "street_id": row["street_id"], "community_id": None}
            place[f"{row['level']}_id"] = node_id
            places[(row["level"], node_id)] = place
    return places


def _rerate(
    as_of: dt.datetime,
    *,
    only: dict[str, set[int]] | None = None,
    source: str = RiskChangeSource.RECOMPUTE,
    user=None,
    note: str = "",
    case_counted: bool | None = None,
) -> tuple[list[RiskArea], int]:
    """Rate every node with a case or an area (or just the ``only`` nodes) at ``as_of`` and write what
    differs; returns the areas rated and the number of level changes.

    ``case_counted``: count a case at ``as_of`` in the ``only`` nodes even before the next recompute
    (True when the person's identification is already among the recorded cases)."""
    pol = policy(as_of)
    fine = fine_level_in_force(pol)
    figures = _figures(as_of, pol, fine, only)
    areas = RiskArea.objects.select_for_update()
    if only is not None:
        areas = areas.filter(
            Q(building__in=sorted(only.get(NodeLevel.BUILDING, ())))
            | Q(compound__in=sorted(only.get(NodeLevel.COMPOUND, ())))
            | Q(division__in=sorted(only.get(NodeLevel.COMMUNITY, set()) | only.get(NodeLevel.DISTRICT, set())))
        )
    existing = {area_key(a): a for a in areas}
    if case_counted is not None:
        _count_case(figures, only or {}, as_of, counted=case_counted)
    places = _places({key for key in figures if key not in existing})
    now = timezone.now()
    created: list[RiskArea] = []
    updated: list[RiskArea] = []
    changes: list[RiskLevelChange] = []
    rated: list[RiskArea] = []
    for key in sorted(set(figures) | set(existing)):
        fig = figures.get(key, Figures())
        rating, rule = _rate(key, fig, as_of, pol, fine)
        area = existing.get(key)
        if area is None:
            if key not in places:  # a node that no longer exists
                continue
            area = RiskArea(node_level=key[0], **{f"{NODE_COLUMN[key[0]]}_id": key[1]}, **places[key])
            area.level, area.since = "", as_of
        before = {name: getattr(area, name) for name in COMPARED} if area.pk else None
        level, reason = rating.level, rating.reason
        if area.manual_at is not None:
            hold = None
            if not (key[0] in FINE_LEVELS and key[0] != fine):
                hold = manual_hold(area.manual_level, area.manual_at, key[0], fig.last_case_at, as_of, pol)
            if hold is not None:
                level = hold
                reason = manual_reason(area.manual_level, hold, area.manual_at, area.manual_reason)
            elif as_of >= area.manual_at:  # the automatic rating governs again
                area.manual_level, area.manual_at, area.manual_by_id, area.manual_reason = "", None, None, ""
        old_level = area.level
        area.level, area.reason, area.rule = level, reason[:300], rule
        area.last_case_at, area.cases_in_window, area.cumulative_cases = fig.last_case_at, fig.in_window, fig.cumulative
        if old_level != level:
            area.since = as_of
            why = f"{note}: {reason}" if note else reason
            changes.append(
                RiskLevelChange(
                    area=area,
                    from_level=old_level,
                    to_level=level,
                    at=as_of,
                    reason=why[:300],
                    source=source,
                    by=user if getattr(user, "is_authenticated", False) else None,
                    policy_version=pol.version,
                )
            )
        if area.pk is None:
            area.created_at = area.updated_at = now
            created.append(area)
        elif before != {name: getattr(area, name) for name in COMPARED}:
            area.updated_at = now
            updated.append(area)
        rated.append(area)
    RiskArea.objects.bulk_create(created)
    RiskArea.objects.bulk_update(updated, [*COMPARED, "since", "updated_at"], batch_size=500)
    for change in changes:
        change.area_id = change.area.pk  # bulk_create above set the new areas' keys
    RiskLevelChange.objects.bulk_create(changes)
    return rated, len(changes)


def _count_case(figures: dict[Key, Figures], only: dict[str, set[int]], at: dt.datetime, counted: bool) -> None:
    """Count a case identified at ``at`` in the ``only`` nodes (raise_for_case, before any recompute)."""
    for node_level, ids in only.items():
        for node_id in ids:
            fig = figures.setdefault((node_level, node_id), Figures())
            fig.last_case_at = max(fig.last_case_at or at, at)
            if not counted:
                fig.cumulative += 1
                fig.in_window += 1


def level_counts(areas: QuerySet) -> dict[str, int]:
    """Areas per risk level (one aggregate query), every level present."""
    counts = dict.fromkeys(RiskLevel.values, 0)
    counts.update(dict(areas.values_list("level").annotate(n=Count("id")).order_by()))
    return counts


def recompute_risk_areas(as_of: dt.datetime) -> dict:
    """Rate every node with a case, or with an area, at ``as_of`` (domain.md §5).

    Fine level (``risk_fine_level``: compound or building), 9th edition: high while a case was
    identified within ``risk_high_to_medium_days``; medium for ``risk_medium_to_low_days_after_high``
    more days; then low. Communities and districts, 2020 county rule over
    ``risk_county_window_days``: low with no case or none new in the window; medium with new cases
    and a cumulative total ≤ ``risk_county_cumulative_threshold``, or above it without a cluster in
    the window; high above it with a cluster. A cluster is ≥ ``risk_cluster_min_cases`` linked cases
    in the window, where *linked* is approximated as "living in the same compound": Linli does not
    yet record who infected whom, and household or compound spread is what the 2020 clusters were
    (e.g. the 三民 compound, domain.md §5).

    A level set by hand holds as risk.rules.manual_hold says. Areas of the fine level no longer in
    force go down to low. Returns the number of areas per level and of level changes.
    """
    with transaction.atomic():
        _rated, changes = _rerate(as_of)
        counts = level_counts(RiskArea.objects.all())
    return {**counts, "changes": changes, "as_of": as_of.isoformat()}


def raise_for_case(person: Resident, at: dt.datetime, reason: str, user=None) -> list[RiskArea]:
    """A case confirmed at ``at`` (containment workflow): rate its fine-level area (compound or
    building, which is high at once: a case within the high days), and its community and district by
    the county rule, now rather than at the next recompute, recording ``reason`` in their history.

    The case counts at ``at`` in these nodes; if the person's infected identification is not recorded
    yet, it is added to their figures (the cluster figure comes from recorded cases only). The next
    recompute rates from the recorded identification events.
    """
    pol = policy(at)
    fine = fine_level_in_force(pol)
    fine_id = person.building_id if fine == NodeLevel.BUILDING else person.compound_id
    only: dict[str, set[int]] = {}
    for node_level, node_id in (
        (fine, fine_id),
        (NodeLevel.COMMUNITY, person.community_id),
        (NodeLevel.DISTRICT, person.district_id),
    ):
        if node_id:
            only[node_level] = {node_id}
    if not only:
        return []
    with transaction.atomic():
        counted = infected_cases(at).filter(person=person).exists()
        rated, _changes = _rerate(
            at, only=only, source=RiskChangeSource.CASE, user=user, note=reason, case_counted=counted
        )
    return sorted(rated, key=lambda a: NodeLevel.values.index(a.node_level))


def do_set_level(area: RiskArea, level: str, user, reason: str, at: dt.datetime | None = None) -> RiskArea:
    """A level set by hand by staff, with a required reason; it holds as risk.rules.manual_hold says
    (until a new case, or until its own downgrade days pass from ``at``)."""
    reason = (reason or "").strip()
    if level not in RiskLevel.values:
        raise ValueError(_("Unknown risk level: %(level)s") % {"level": level})
    if not reason:
        raise ValueError(_("Say why the level is set by hand."))
    at = at or timezone.now()
    with transaction.atomic():
        area = RiskArea.objects.select_for_update().get(pk=area.pk)
        old_level = area.level
        by = user if getattr(user, "is_authenticated", False) else None
        area.manual_level, area.manual_at, area.manual_by, area.manual_reason = level, at, by, reason[:300]
        area.level = level
        area.reason = manual_reason(level, level, at, reason)[:300]
        if old_level != level:
            area.since = at
        area.updated_at = timezone.now()
        area.save()
        RiskLevelChange.objects.create(
            area=area,
            from_level=old_level,
            to_level=level,
            at=at,
            reason=reason[:300],
            source=RiskChangeSource.MANUAL,
            by=by,
            policy_version=policy(at).version,
        )
    return area
