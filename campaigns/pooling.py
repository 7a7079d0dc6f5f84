"""What a batch of tube members does, set-based: tubes, campaigns, the one-tube-a-day rule, who is
covered, and results that were waiting for the list.

issue #6, Bad input: a tube scanned twice is one key (the runner refuses the repeat in a file, the
upsert leaves a known row unchanged); a person in a second tube the same day is refused with the
first tube named; a tube with more members than the pool size is kept whole (everyone in it must be
recalled if it is positive) and marked overfilled, and its negative result does not clear anyone; a
result that arrives before the member list waits on its tube and applies when the list comes.
"""

from __future__ import annotations

from django.utils import timezone

from campaigns import results
from campaigns.choices import RESULTED, ParticipantStatus, TubeStatus
from campaigns.coverage import MOVES, apply_moves, create_moves_table
from campaigns.models import Campaign
from core.imports.kinds import LoadContext
from core.imports.sql import Staging, execute, fetch
from core.policy import policy

MEMBERS = "campaigns_poolmember"
TUBES = "campaigns_tube"
BATCH_TUBES = "campaign_batch_tubes"
TWICE = "campaign_twice"
LATEST = "campaign_latest"


def after_members_loaded(ctx: LoadContext, staging: Staging, *, complete_lists: bool) -> int:
    """Apply the rules to the rows this batch inserted or changed; returns how many it refused.

    ``complete_lists``: a file holds whole tubes, so its tubes are closed; a live site adds one swab
    at a time and its tube closes when full (or when the sampler closes it)."""
    s = staging.name
    changed = f"{s} s JOIN {MEMBERS} m ON m.id = s._target_id WHERE s._action IS NOT NULL"
    now = timezone.now()
    _assign_campaigns(s)
    execute(
        f"INSERT INTO {TUBES} (code, site_code, capacity, members, overfilled, status, result_sample, lab_code, "
        "created_at, updated_at) "
        f"SELECT DISTINCT s.pool_id, '', %s, 0, false, '{TubeStatus.OPEN.value}', '', '', %s, %s "
        f"FROM {s} s WHERE s._action IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {TUBES} t WHERE t.code = s.pool_id)",
        [int(policy(now).campaign_pool_size), now, now],
    )
    execute(
        f"UPDATE {MEMBERS} AS m SET tube_id = t.id FROM {s} s, {TUBES} t "
        "WHERE m.id = s._target_id AND s._action IS NOT NULL AND t.code = s.pool_id"
    )
    refused = _refuse_second_tubes(ctx, staging)
    execute(f"DROP TABLE IF EXISTS {BATCH_TUBES}")
    execute(f"CREATE TEMPORARY TABLE {BATCH_TUBES} AS SELECT DISTINCT m.tube_id AS id FROM {changed}")
    _recount_tubes(now, complete_lists)
    _move_participants(changed)
    waiting = [
        row[0]
        for row in fetch(
            f"SELECT t.id FROM {TUBES} t JOIN {BATCH_TUBES} b ON b.id = t.id WHERE t.status IN "
            f"({', '.join(repr(str(status)) for status in RESULTED)})"
        )
    ]
    execute(f"DROP TABLE IF EXISTS {BATCH_TUBES}")
    if waiting:  # results that came before their member list
        results.settle_tubes(f"SELECT id FROM {TUBES} WHERE id IN ({', '.join(['%s'] * len(waiting))})", waiting)
    return refused


def _assign_campaigns(s: str) -> None:
    """Each swab belongs to the campaign running that day over the person's place (or, for someone
    not yet linked, over the site's place); when campaigns overlap, the one started last wins."""
    days = fetch(f"SELECT MIN(sampled_on), MAX(sampled_on) FROM {s} WHERE _action IS NOT NULL")[0]
    execute(
        f"UPDATE {MEMBERS} AS m SET campaign_id = NULL FROM {s} s WHERE m.id = s._target_id AND s._action IS NOT NULL"
    )
    if days[0] is None:
        today = timezone.localdate()
        days = (today, today)
    candidates = Campaign.objects.filter(starts_on__lte=days[1], ends_on__gte=days[0]).order_by("-starts_on", "-pk")
    for campaign in candidates:
        in_dates = "COALESCE(m.sampled_on, %s) BETWEEN %s AND %s"
        params = [timezone.localdate(), campaign.starts_on, campaign.ends_on]
        if campaign.scope_level == "city":
            place, place_params = "1=1", []
        else:
            column = f"{campaign.scope_level}_id"
            place = (
                f"(m.{column} = %s OR (m.person_id IS NULL AND EXISTS (SELECT 1 FROM campaigns_site st "
                f"WHERE st.code = m.site_code AND st.{column} = %s)))"
            )
            place_params = [campaign.scope_id, campaign.scope_id]
        execute(
            f"UPDATE {MEMBERS} AS m SET campaign_id = %s FROM {s} s WHERE m.id = s._target_id "
            f"AND s._action IS NOT NULL AND m.campaign_id IS NULL AND {in_dates} AND {place}",
            [campaign.pk, *params, *place_params],
        )


def _refuse_second_tubes(ctx: LoadContext, staging: Staging) -> int:
    """A person swabbed into a second tube on one day (not a redo of an invalid or overfilled tube):
    the later row is refused, the tube first used is named, and the row is taken out again."""
    s = staging.name
    execute(f"DROP TABLE IF EXISTS {TWICE}")
    execute(
        f"CREATE TEMPORARY TABLE {TWICE} AS SELECT s._line AS line, s._target_id AS member_id, "
        f"MIN(o.pool_id) AS other FROM {s} s JOIN {MEMBERS} m ON m.id = s._target_id "
        f"JOIN {MEMBERS} o ON o.person_id = m.person_id AND o.sampled_on = m.sampled_on AND o.pool_id <> m.pool_id "
        f"JOIN {TUBES} ot ON ot.id = o.tube_id "
        f"LEFT JOIN {s} so ON so._target_id = o.id AND so._action = 'insert' "
        f"WHERE s._action = 'insert' AND m.person_id IS NOT NULL AND ot.status <> '{TubeStatus.INVALID.value}' "
        "AND NOT ot.overfilled AND (so._line IS NULL OR so._line < s._line) GROUP BY s._line, s._target_id"
    )
    count = fetch(f"SELECT COUNT(*) FROM {TWICE}")[0][0]
    if count:
        execute(f"DELETE FROM {MEMBERS} WHERE id IN (SELECT member_id FROM {TWICE})")
        ctx.reject(
            staging,
            f"s._line IN (SELECT line FROM {TWICE})",
            "person_in_two_tubes",
            "pool_id",
            f"(SELECT w.other FROM {TWICE} w WHERE w.line = s._line)",
        )
    execute(f"DROP TABLE IF EXISTS {TWICE}")
    return count


def _recount_tubes(now, complete_lists: bool) -> None:
    """Members, times, day, site and campaign of the batch's tubes from their member rows; a tube is
    closed when its list is complete (a file) or it is full; overfilled when it holds too many."""
    execute(
        f"UPDATE {TUBES} SET members = a.n, first_sampled_at = a.first_at, last_sampled_at = a.last_at, "
        "sampled_on = a.day, site_code = a.site, campaign_id = a.campaign_id, updated_at = %s "
        "FROM (SELECT m.tube_id, COUNT(*) AS n, MIN(m.sampled_at) AS first_at, MAX(m.sampled_at) AS last_at, "
        "MIN(m.sampled_on) AS day, MAX(m.site_code) AS site, MAX(m.campaign_id) AS campaign_id "
        f"FROM {MEMBERS} m WHERE m.tube_id IN (SELECT id FROM {BATCH_TUBES}) GROUP BY m.tube_id) a "
        f"WHERE {TUBES}.id = a.tube_id",
        [now],
    )
    execute(
        f"UPDATE {TUBES} SET capacity = c.pool_size FROM campaigns_campaign c "
        f"WHERE c.id = {TUBES}.campaign_id AND {TUBES}.id IN (SELECT id FROM {BATCH_TUBES})"
    )
    execute(
        f"UPDATE {TUBES} SET site_id = st.id FROM campaigns_site st "
        f"WHERE st.code = {TUBES}.site_code AND {TUBES}.id IN (SELECT id FROM {BATCH_TUBES})"
    )
    full = "1=1" if complete_lists else "members >= capacity"
    execute(
        f"UPDATE {TUBES} SET overfilled = (members > capacity), status = CASE WHEN status = "
        f"'{TubeStatus.OPEN.value}' AND {full} THEN '{TubeStatus.CLOSED.value}' ELSE status END "
        f"WHERE id IN (SELECT id FROM {BATCH_TUBES})"
    )


def _move_participants(changed: str) -> None:
    """The newest swab of each person per campaign in this batch makes them a participant, or moves
    a participant whose earlier round was negative or needs redoing back to 'sampled'. A held or
    positive participant stays as they are: only their own re-swab decides (domain.md §8)."""
    execute(f"DROP TABLE IF EXISTS {LATEST}")
    execute(
        f"CREATE TEMPORARY TABLE {LATEST} AS SELECT x.campaign_id, x.person_id, x.tube_id, x.sampled_at FROM "
        "(SELECT m.campaign_id, m.person_id, m.tube_id, COALESCE(m.sampled_at, m.created_at) AS sampled_at, "
        "ROW_NUMBER() OVER (PARTITION BY m.campaign_id, m.person_id "
        "ORDER BY m.sampled_at DESC, m.id DESC) AS n "
        f"FROM {changed} AND m.person_id IS NOT NULL AND m.campaign_id IS NOT NULL) x WHERE x.n = 1"
    )
    create_moves_table()
    sampled = ParticipantStatus.SAMPLED.value
    execute(
        f"INSERT INTO {MOVES} (participant_id, campaign_id, person_id, building_id, old_status, new_status, "
        "was_exempt, tube_id, at) "
        f"SELECT NULL, l.campaign_id, l.person_id, r.building_id, NULL, '{sampled}', "
        "CASE WHEN EXISTS (SELECT 1 FROM campaigns_exemption e WHERE e.campaign_id = l.campaign_id "
        "AND e.person_id = l.person_id) THEN 1 ELSE 0 END, l.tube_id, l.sampled_at "
        f"FROM {LATEST} l JOIN people_resident r ON r.id = l.person_id "
        "WHERE NOT EXISTS (SELECT 1 FROM campaigns_participant p WHERE p.campaign_id = l.campaign_id "
        "AND p.person_id = l.person_id)"
    )
    again = (ParticipantStatus.NEGATIVE.value, ParticipantStatus.RESAMPLE.value, sampled)
    execute(
        f"INSERT INTO {MOVES} (participant_id, campaign_id, person_id, building_id, old_status, new_status, "
        "was_exempt, tube_id, at) "
        f"SELECT p.id, p.campaign_id, p.person_id, p.building_id, p.status, '{sampled}', 0, l.tube_id, l.sampled_at "
        f"FROM {LATEST} l JOIN campaigns_participant p ON p.campaign_id = l.campaign_id AND p.person_id = l.person_id "
        f"WHERE p.status IN ({', '.join(repr(v) for v in again)}) "
        "AND l.tube_id <> p.tube_id AND (p.sampled_at IS NULL OR l.sampled_at > p.sampled_at)"
    )
    execute(f"DROP TABLE IF EXISTS {LATEST}")
    places = "district_id, street_id, community_id, grid_id, compound_id, building_id"
    execute(
        f"INSERT INTO campaigns_participant (campaign_id, person_id, status, tube_id, sampled_at, {places}) "
        f"SELECT m.campaign_id, m.person_id, m.new_status, m.tube_id, m.at, "
        "r.district_id, r.street_id, r.community_id, r.grid_id, r.compound_id, r.building_id "
        f"FROM {MOVES} m JOIN people_resident r ON r.id = m.person_id WHERE m.participant_id IS NULL"
    )
    execute(
        f"UPDATE campaigns_participant SET status = m.new_status, tube_id = m.tube_id, sampled_at = m.at, "
        f"result_at = NULL FROM {MOVES} m WHERE campaigns_participant.id = m.participant_id"
    )
    execute(f"DELETE FROM {MOVES} WHERE old_status = new_status")
    apply_moves()
    execute(f"DROP TABLE IF EXISTS {MOVES}")
