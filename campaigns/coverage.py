"""Coverage per building, moved incrementally: tested / untested / exempt, and results.

issue #6, item 4: staff need coverage by grid, compound and building within minutes of a batch, for
a city of ten million. Every change of a participant's status is written to a moves table first
(:data:`MOVES`); :func:`apply_moves` adds the differences, grouped by building, to the counts. A grid
or the city is then a sum over its buildings (:func:`rollup`), never a count of people. Targets
(residents per building) are counted when a campaign is planned and when residents are imported;
:func:`recount` rebuilds everything from the participants, for checks and repairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from campaigns.choices import ParticipantStatus, TubeStatus
from campaigns.models import Campaign, Coverage
from core.imports.sql import execute, fetch, is_postgres
from core.scoping import restrict

MOVES = "campaign_moves"
COUNTED = tuple(
    status.value
    for status in (
        ParticipantStatus.NEGATIVE,
        ParticipantStatus.HELD,
        ParticipantStatus.POSITIVE,
        ParticipantStatus.RESAMPLE,
    )
)
LEVEL_COLUMNS = Coverage.scope_fields  # level -> the column holding its node, district … building
CHILD_LEVEL = {
    "city": "district",
    "district": "street",
    "street": "community",
    "community": "grid",
    "grid": "compound",
    "compound": "building",
}


def standing_sql(p: str = "p", t: str = "t", stored: str = "") -> str:
    """A participant's standing (a ParticipantStatus value) from its stored decision and its tube.

    Only a person's own decision is stored (``negative`` or ``positive`` after their re-swab); while
    it is ``sampled`` the tube decides (domain.md §8): pending until resulted; a positive tube holds
    its members (or, alone in it, makes its member positive); a negative one clears them unless it
    held more swabs than its pool size; an invalid or overfilled tube is to be sampled again. So a
    tube's result moves a million people without writing a row for each. ``stored`` replaces the
    stored decision (e.g. ``'sampled'`` for a participant about to follow a new tube)."""
    decision = stored or f"{p}.status"
    ps, ts = ParticipantStatus, TubeStatus
    return (
        f"CASE WHEN {decision} <> '{ps.SAMPLED.value}' THEN {decision} "
        f"WHEN {t}.status = '{ts.POSITIVE.value}' AND {t}.members = 1 THEN '{ps.POSITIVE.value}' "
        f"WHEN {t}.status = '{ts.POSITIVE.value}' THEN '{ps.HELD.value}' "
        f"WHEN {t}.status = '{ts.NEGATIVE.value}' AND NOT {t}.overfilled THEN '{ps.NEGATIVE.value}' "
        f"WHEN {t}.status IN ('{ts.NEGATIVE.value}', '{ts.INVALID.value}') THEN '{ps.RESAMPLE.value}' "
        f"ELSE '{ps.SAMPLED.value}' END"
    )


def create_moves_table() -> None:
    """One row per move of one person (``n`` = 1), or of ``n`` people of one building at once (a
    tube's members moved together by its result)."""
    timestamp = "timestamptz" if is_postgres() else "text"
    execute(f"DROP TABLE IF EXISTS {MOVES}")
    execute(
        f"CREATE TEMPORARY TABLE {MOVES} (participant_id bigint, campaign_id bigint, person_id bigint, "
        f"building_id bigint, old_status text, new_status text, was_exempt integer, tube_id bigint, at {timestamp}, "
        "n integer NOT NULL DEFAULT 1)"
    )


def _flag(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN m.n ELSE 0 END)"


def _delta(status: str) -> str:
    entered = _flag("m.new_status = '" + status + "'")
    left = _flag("m.old_status = '" + status + "'")
    return f"{entered} - {left} AS {status}"


def apply_moves() -> int:
    """Add the moves' differences to the counts of their buildings; returns the buildings touched.

    A building first met here (a person tested outside the planned target, e.g. registered later)
    gets a row with target 0, so nobody tested goes uncounted."""
    execute(
        "INSERT INTO campaigns_coverage (campaign_id, building_id, compound_id, grid_id, community_id, street_id, "
        "district_id, target, exempt, tested, negative, held, positive, resample) "
        "SELECT DISTINCT m.campaign_id, m.building_id, b.compound_id, b.grid_id, b.community_id, b.street_id, "
        f"b.district_id, 0, 0, 0, 0, 0, 0, 0 FROM {MOVES} m JOIN geo_building b ON b.id = m.building_id "
        "WHERE NOT EXISTS (SELECT 1 FROM campaigns_coverage c WHERE c.campaign_id = m.campaign_id "
        "AND c.building_id = m.building_id)"
    )
    deltas = [
        f"{_flag('m.old_status IS NULL')} AS tested",
        f"{_flag('m.old_status IS NULL AND m.was_exempt = 1')} AS unexempt",
        *(_delta(status) for status in COUNTED),
    ]
    sets = ", ".join(
        [
            "tested = campaigns_coverage.tested + d.tested",
            "exempt = campaigns_coverage.exempt - d.unexempt",
            *(f"{status} = campaigns_coverage.{status} + d.{status}" for status in COUNTED),
        ]
    )
    return execute(
        f"UPDATE campaigns_coverage SET {sets} FROM (SELECT m.campaign_id, m.building_id, {', '.join(deltas)} "
        f"FROM {MOVES} m WHERE m.building_id IS NOT NULL GROUP BY m.campaign_id, m.building_id) d "
        "WHERE campaigns_coverage.campaign_id = d.campaign_id AND campaigns_coverage.building_id = d.building_id"
    )


def scope_condition(campaign: Campaign, alias: str = "r") -> tuple[str, list]:
    """SQL keeping the rows (residents, members) inside the campaign's area."""
    if campaign.scope_level == "city":
        return "1=1", []
    return f"{alias}.{campaign.scope_level}_id = %s", [campaign.scope_id]


def refresh_targets(campaign: Campaign) -> None:
    """Count the campaign's residents per building (registered, not merged away) and the exempt
    among them who have not been sampled: on planning, after resident imports, and nightly."""
    where, params = scope_condition(campaign)
    execute("UPDATE campaigns_coverage SET target = 0 WHERE campaign_id = %s", [campaign.pk])
    truthy = "true" if is_postgres() else "1"
    execute(
        "INSERT INTO campaigns_coverage (campaign_id, building_id, compound_id, grid_id, community_id, street_id, "
        "district_id, target, exempt, tested, negative, held, positive, resample) "
        "SELECT %s, r.building_id, MIN(r.compound_id), MIN(r.grid_id), MIN(r.community_id), MIN(r.street_id), "
        "MIN(r.district_id), COUNT(*), 0, 0, 0, 0, 0, 0 FROM people_resident r "
        f"WHERE r.registered = {truthy} AND r.merged_into_id IS NULL AND r.building_id IS NOT NULL AND {where} "
        "GROUP BY r.building_id "
        "ON CONFLICT (campaign_id, building_id) DO UPDATE SET target = excluded.target",
        [campaign.pk, *params],
    )
    refresh_exempt(campaign)


def refresh_exempt(campaign: Campaign) -> None:
    """Exempt counts: exemptions of people not sampled (a sampled exempt person counts as tested)."""
    execute("UPDATE campaigns_coverage SET exempt = 0 WHERE campaign_id = %s AND exempt <> 0", [campaign.pk])
    execute(
        "UPDATE campaigns_coverage SET exempt = d.n FROM (SELECT e.building_id, COUNT(*) AS n "
        "FROM campaigns_exemption e WHERE e.campaign_id = %s AND e.building_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM campaigns_participant p WHERE p.campaign_id = e.campaign_id AND p.person_id = e.person_id) "
        "GROUP BY e.building_id) d WHERE campaigns_coverage.campaign_id = %s "
        "AND campaigns_coverage.building_id = d.building_id",
        [campaign.pk, campaign.pk],
    )


def recount(campaign: Campaign) -> None:
    """Rebuild every count from the participants (a check on the incremental path, and a repair)."""
    zero = ", ".join(f"{column} = 0" for column in ("tested", *COUNTED))
    execute(f"UPDATE campaigns_coverage SET {zero} WHERE campaign_id = %s", [campaign.pk])
    create_moves_table()
    standing = standing_sql()
    execute(
        f"INSERT INTO {MOVES} (campaign_id, building_id, old_status, new_status, was_exempt, n) "
        f"SELECT p.campaign_id, p.building_id, NULL, {standing}, 0, COUNT(*) "
        "FROM campaigns_participant p LEFT JOIN campaigns_tube t ON t.id = p.tube_id WHERE p.campaign_id = %s "
        f"GROUP BY p.campaign_id, p.building_id, {standing}",
        [campaign.pk],
    )
    apply_moves()
    execute(f"DROP TABLE IF EXISTS {MOVES}")
    refresh_exempt(campaign)


@dataclass
class Counts:
    """Coverage of one area: what the campaign dashboard and the exports show."""

    key: int | None
    name: str
    target: int = 0
    exempt: int = 0
    tested: int = 0
    negative: int = 0
    held: int = 0
    positive: int = 0
    resample: int = 0

    @property
    def awaiting(self) -> int:
        return self.tested - self.negative - self.held - self.positive - self.resample

    @property
    def untested(self) -> int:
        """Residents still to sample: never sampled and not exempt, or whose tube must be redone."""
        return max(self.target - self.tested - self.exempt, 0) + self.resample

    @property
    def coverage(self) -> float | None:
        """Share of the residents expected at a site (target minus exempt) who have been sampled."""
        expected = self.target - self.exempt
        return None if expected <= 0 else min(self.tested / expected, 1.0)


FIELDS = ("target", "exempt", "tested", "negative", "held", "positive", "resample")


def rollup(campaign: Campaign, level: str, user=None, **within: int) -> list[Counts]:
    """Counts grouped by ``level`` (district … building), inside ``within`` (e.g. ``grid_id=7``) and
    the user's jurisdiction: a sum over at most a few hundred thousand building rows."""
    column = LEVEL_COLUMNS[level]
    queryset = Coverage.objects.filter(campaign=campaign, **within)
    if user is not None:
        queryset = restrict(user, queryset)
    rows = queryset.values(column).annotate(**{f: Sum(f) for f in FIELDS}).order_by(column)
    names = _names(level, [row[column] for row in rows if row[column] is not None])
    return [
        Counts(row[column], names.get(row[column], "-"), **{f: row[f] or 0 for f in FIELDS})
        for row in rows
        if row[column] is not None
    ]


def total(campaign: Campaign, user=None, **within: int) -> Counts:
    queryset = Coverage.objects.filter(campaign=campaign, **within)
    if user is not None:
        queryset = restrict(user, queryset)
    sums = queryset.aggregate(**{f: Sum(f) for f in FIELDS})
    return Counts(None, campaign.name, **{f: sums[f] or 0 for f in FIELDS})


def _names(level: str, ids: list[int]) -> dict[int, str]:
    from geo.models import Building, Compound, Division

    if level == "building":
        return {
            pk: f"{compound} {name}"
            for pk, name, compound in Building.objects.filter(pk__in=ids).values_list("pk", "name", "compound__name")
        }
    model = Compound if level == "compound" else Division
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


def differing_buildings(before: list[tuple], after: list[tuple]) -> int:
    """How many buildings' counts differ between two :func:`stored_counts` readings."""
    old, new = {row[0]: row for row in before}, {row[0]: row for row in after}
    return sum(1 for building in old.keys() | new.keys() if old.get(building) != new.get(building))


def stored_counts(campaign: Campaign) -> list[tuple]:
    """The per-building counts as stored (tests compare them with a recount)."""
    return fetch(
        "SELECT building_id, target, exempt, tested, negative, held, positive, resample FROM campaigns_coverage "
        "WHERE campaign_id = %s ORDER BY building_id",
        [campaign.pk],
    )
