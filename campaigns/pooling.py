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
from campaigns.choices import CampaignStatus, ParticipantStatus, TubeStatus
from campaigns.coverage import MOVES, apply_moves, create_moves_table, standing_sql
from campaigns.models import Campaign
from core.imports.kinds import LoadContext
from core.imports.sql import Staging, execute, fetch, is_postgres, secondary_indexes_rebuilt
from core.policy import policy
from feeds.models import LinkMethod
from people.models import PLACE_COLUMNS

MEMBERS = "campaigns_poolmember"
TUBES = "campaigns_tube"
BATCH_TUBES = "campaign_batch_tubes"
TWICE = "campaign_twice"
LATEST = "campaign_latest"
PLACES = PLACE_COLUMNS
# what the importer adds to its staging table so that every member row is inserted complete, once
STAGING_COLUMNS = (
    ("person_id", "bigint"),
    ("link_method", "text"),
    ("link_probability", "double precision"),
    *((column, "bigint") for column in PLACES),
    ("tube_id", "bigint"),
    ("campaign_id", "bigint"),
)
NEW_TUBES = "campaign_new_tubes"


def prepare_staging(staging: Staging) -> int:
    """Before the insert, in the staging table (temporary and unindexed, so cheap to update): the
    person by identity number and their place, the campaign, and the tube (new tubes created).
    Updating the member table afterwards instead, one column at a time, rewrote every new row and
    all its indexes five times over (42 s for 180,000 swabs on PostgreSQL). Returns the highest
    tube id from before: the tubes made here have greater ones."""
    s = staging.name
    if is_postgres():  # a temporary table has no statistics until analysed; the joins below need them
        execute(f"ANALYZE {s}")
    now = timezone.now()
    (last_old_tube,) = fetch(f"SELECT COALESCE(MAX(id), 0) FROM {TUBES}")[0]
    execute(f"DROP TABLE IF EXISTS {NEW_TUBES}")
    execute(
        f"CREATE TEMPORARY TABLE {NEW_TUBES} AS SELECT DISTINCT s.pool_id AS code FROM {s} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {TUBES} t WHERE t.code = s.pool_id)"
    )
    if is_postgres():
        execute(f"ANALYZE {NEW_TUBES}")
    execute(
        f"INSERT INTO {TUBES} (code, site_code, capacity, members, overfilled, status, result_sample, lab_code, "
        f"created_at, updated_at) SELECT n.code, '', %s, 0, false, '{TubeStatus.OPEN.value}', '', '', %s, %s "
        f"FROM {NEW_TUBES} n",
        [int(policy(now).campaign_pool_size), now, now],
    )
    truthy = "true" if is_postgres() else "1"
    places = ", ".join(f"{column} = r.{column}" for column in PLACES)
    campaign_sql, campaign_params = _campaign_case(f"SELECT MIN(sampled_on), MAX(sampled_on) FROM {s}", "s", "r")
    execute(  # one pass for most rows: person, place, tube and campaign
        f"UPDATE {s} AS s SET person_id = r.id, link_method = '{LinkMethod.ID_NUMBER.value}', "
        f"link_probability = 1.0, {places}, tube_id = t.id, campaign_id = {campaign_sql} "
        f"FROM people_resident r, {TUBES} t WHERE s._id_valid = {truthy} AND r.id_number = s.id_number "
        "AND r.merged_into_id IS NULL AND t.code = s.pool_id",
        campaign_params,
    )
    execute(  # the rows nobody was found for by identity number (few): their tube, and a campaign by site
        f"UPDATE {s} AS s SET tube_id = t.id FROM {TUBES} t WHERE s.person_id IS NULL AND t.code = s.pool_id"
    )
    _assign_campaigns(f"{s} AS s", "s", "s.person_id IS NULL", f"SELECT MIN(sampled_on), MAX(sampled_on) FROM {s}")
    return int(last_old_tube)


def _campaign_case(days_sql: str, row: str, person: str) -> tuple[str, list]:
    """SQL choosing a linked swab's campaign from its day (``row``.sampled_on) and its person's place
    (``person``.district_id …): the campaigns running then over that place, started last first."""
    whens, params = [], []
    for campaign in _running(days_sql):
        place = "1=1" if campaign.scope_level == "city" else f"{person}.{campaign.scope_level}_id = %s"
        whens.append(f"WHEN COALESCE({row}.sampled_on, %s) BETWEEN %s AND %s AND {place} THEN %s")
        params += [timezone.localdate(), campaign.starts_on, campaign.ends_on]
        params += [] if campaign.scope_level == "city" else [campaign.scope_id]
        params.append(campaign.pk)
    if not whens:
        return "NULL", []
    return f"CASE {' '.join(whens)} END", params


def after_members_loaded(ctx: LoadContext, staging: Staging, *, complete_lists: bool, last_old_tube: int) -> int:
    """Apply the rules to the rows this batch inserted or changed; returns how many it refused.

    ``complete_lists``: a file holds whole tubes, so its tubes are closed; a live site adds one swab
    at a time and its tube closes when full (or when the sampler closes it). Tubes with ids above
    ``last_old_tube`` were made by this batch."""
    s = staging.name
    now = timezone.now()
    _link_the_rest(ctx, staging)
    refused = _refuse_second_tubes(ctx, staging)
    execute(
        f"DELETE FROM {TUBES} WHERE code IN (SELECT code FROM {NEW_TUBES}) "
        f"AND NOT EXISTS (SELECT 1 FROM {MEMBERS} m WHERE m.tube_id = {TUBES}.id)"
    )  # a new tube whose every swab was refused
    # the tubes this batch touched that existed before it: only these can have earlier members
    execute(f"DROP TABLE IF EXISTS {BATCH_TUBES}")
    execute(
        f"CREATE TEMPORARY TABLE {BATCH_TUBES} AS SELECT DISTINCT s.tube_id AS id FROM {s} s "
        f"WHERE s._action IS NOT NULL AND s.tube_id <= %s",
        [last_old_tube],
    )
    # earlier members of these tubes follow what the new rows change (a tube now overfilled no
    # longer clears them; a lone positive member gains company and is held, not positive)
    results.remember_tubes(f"SELECT id FROM {BATCH_TUBES}")
    _recount_tubes(now, complete_lists, s, last_old_tube)
    results.move_with_tubes()
    execute(f"DROP TABLE IF EXISTS {BATCH_TUBES}")
    execute(f"DROP TABLE IF EXISTS {NEW_TUBES}")
    _move_participants(staging)
    _start_campaigns(s)
    return refused


def _start_campaigns(s: str) -> None:
    """A planned campaign whose first swabs arrive is sampling (saved one by one: a few campaigns,
    each change logged)."""
    ids = [row[0] for row in fetch(f"SELECT DISTINCT campaign_id FROM {s} WHERE campaign_id IS NOT NULL")]
    for campaign in Campaign.objects.filter(pk__in=ids, status=CampaignStatus.PLANNED):
        campaign.status = CampaignStatus.SAMPLING
        campaign.save(update_fields=["status", "updated_at"])


def _link_the_rest(ctx: LoadContext, staging: Staging) -> None:
    """Rows not linked by identity number: changed rows linked again (their person was set only when
    inserted), then the probabilistic model (people.linkage, as for the agency feeds) for the rest;
    their places and campaigns follow."""
    s = staging.name
    truthy = "true" if is_postgres() else "1"
    places = ", ".join(f"{column} = r.{column}" for column in PLACES)
    execute(
        f"UPDATE {MEMBERS} AS t SET person_id = r.id, link_method = '{LinkMethod.ID_NUMBER.value}', "
        f"link_probability = 1.0, {places} FROM {s} s, people_resident r WHERE t.id = s._target_id "
        f"AND s._action = 'update' AND s._id_valid = {truthy} AND r.id_number = s.id_number "
        f"AND r.merged_into_id IS NULL AND t.link_method <> '{LinkMethod.MANUAL.value}'"
    )
    exact = staging.count("s._action IS NOT NULL AND s.person_id IS NOT NULL")
    if exact:
        ctx.linked[LinkMethod.ID_NUMBER.value] = ctx.linked.get(LinkMethod.ID_NUMBER.value, 0) + exact
    rows = fetch(
        f"SELECT s._target_id, s.id_number, s.name, s.name_pinyin, s.sex, s.birth_date, s.phone, s.address "
        f"FROM {s} s JOIN {MEMBERS} t ON t.id = s._target_id WHERE s._action IS NOT NULL AND s.person_id IS NULL "
        f"AND t.person_id IS NULL AND t.link_method NOT IN ('{LinkMethod.MANUAL.value}') "
        "AND (s.name IS NOT NULL OR s.id_number IS NOT NULL)"
    )
    if rows:
        _link_probabilistically(ctx, rows)
    # the staging rows carry what the member rows now say, for the rules after (few rows: those
    # not linked by identity number at the start)
    copied = ", ".join(f"{column} = t.{column}" for column in ("person_id", "campaign_id", *PLACES))
    execute(
        f"UPDATE {s} AS s SET {copied} FROM {MEMBERS} t WHERE t.id = s._target_id AND s._action IS NOT NULL "
        "AND s.person_id IS NULL AND t.person_id IS NOT NULL"
    )


def _link_probabilistically(ctx: LoadContext, rows: list[tuple]) -> None:
    from feeds.importers import link_probabilistically

    places = ", ".join(f"{column} = r.{column}" for column in PLACES)
    for method, count in link_probabilistically(MEMBERS, rows).items():
        if count:
            ctx.linked[method] = ctx.linked.get(method, 0) + count
    ids = ", ".join(str(int(row[0])) for row in rows)
    execute(f"UPDATE {MEMBERS} AS t SET {places} FROM people_resident r WHERE t.id IN ({ids}) AND r.id = t.person_id")
    _assign_campaigns(
        f"{MEMBERS} AS m",
        "m",
        f"m.id IN ({ids})",
        f"SELECT MIN(sampled_on), MAX(sampled_on) FROM {MEMBERS} WHERE id IN ({ids})",
    )


def _running(days_sql: str) -> list[Campaign]:
    """The campaigns running on any day between the first and last swab (``days_sql`` gives them),
    started last first: the order in which a swab is given to one."""
    first, last = fetch(days_sql)[0]
    if first is None:
        first = last = timezone.localdate()
    return list(Campaign.objects.filter(starts_on__lte=last, ends_on__gte=first).order_by("-starts_on", "-pk"))


def _assign_campaigns(table: str, alias: str, where: str, days_sql: str) -> None:
    """Each swab belongs to the campaign running that day over the person's place (or, for someone
    not yet linked, over the site's place); when campaigns overlap, the one started last wins.
    Rows of ``table`` (aliased ``alias``) matching ``where`` with no campaign yet are assigned."""
    a = alias
    for campaign in _running(days_sql):
        in_dates = f"COALESCE({a}.sampled_on, %s) BETWEEN %s AND %s"
        params = [timezone.localdate(), campaign.starts_on, campaign.ends_on]
        if campaign.scope_level == "city":
            place, place_params = "1=1", []
        else:
            column = f"{campaign.scope_level}_id"
            place = (
                f"({a}.{column} = %s OR ({a}.person_id IS NULL AND EXISTS (SELECT 1 FROM campaigns_site st "
                f"WHERE st.code = {a}.site_code AND st.{column} = %s)))"
            )
            place_params = [campaign.scope_id, campaign.scope_id]
        execute(
            f"UPDATE {table} SET campaign_id = %s WHERE {where} AND {a}.campaign_id IS NULL AND {in_dates} AND {place}",
            [campaign.pk, *params, *place_params],
        )


def _refuse_second_tubes(ctx: LoadContext, staging: Staging) -> int:
    """A person swabbed into a second tube on one day (not a redo of an invalid or overfilled tube):
    the later row is refused, the tube first used is named, and the row is taken out again (a new
    tube left without members is removed after)."""
    s = staging.name
    execute(f"DROP TABLE IF EXISTS {TWICE}")
    execute(
        f"CREATE TEMPORARY TABLE {TWICE} AS SELECT s._line AS line, s._target_id AS member_id, "
        f"MIN(o.pool_id) AS other FROM {s} s "
        f"JOIN {MEMBERS} o ON o.person_id = s.person_id AND o.sampled_on = s.sampled_on AND o.pool_id <> s.pool_id "
        f"LEFT JOIN {TUBES} ot ON ot.id = o.tube_id "
        f"LEFT JOIN {s} so ON so._target_id = o.id AND so._action = 'insert' "
        f"WHERE s._action = 'insert' AND s.person_id IS NOT NULL "
        f"AND (ot.id IS NULL OR (ot.status <> '{TubeStatus.INVALID.value}' AND NOT ot.overfilled)) "
        "AND (so._line IS NULL OR so._line < s._line) GROUP BY s._line, s._target_id"
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


def _recount_tubes(now, complete_lists: bool, s: str, last_old_tube: int) -> None:
    """Members, times, day, site and campaign of the batch's tubes, with the campaign's pool size; a
    tube is closed when its list is complete (a file) or it is full, and overfilled when it holds
    more. Tubes new in this batch are counted from the staging rows (all their members are there);
    tubes that existed before, from their member rows."""
    counted = "m.tube_id, COUNT(*) AS n, MIN(m.sampled_at) AS first_at, MAX(m.sampled_at) AS last_at, "
    counted += "MIN(m.sampled_on) AS day, COALESCE(MAX(m.site_code), '') AS site, MAX(m.campaign_id) AS campaign_id"
    new = (
        f"SELECT {counted} FROM {s} m WHERE m._action IS NOT NULL "
        f"AND m.tube_id > {int(last_old_tube)} GROUP BY m.tube_id"
    )
    old = f"SELECT {counted} FROM {MEMBERS} m WHERE m.tube_id IN (SELECT id FROM {BATCH_TUBES}) GROUP BY m.tube_id"
    for members in (new, old):
        _set_tubes(now, complete_lists, members)


def _set_tubes(now, complete_lists: bool, members: str) -> None:
    full = "1=1" if complete_lists else f"a.n >= COALESCE(c.pool_size, {TUBES}.capacity)"
    execute(
        f"UPDATE {TUBES} SET members = a.n, first_sampled_at = a.first_at, last_sampled_at = a.last_at, "
        "sampled_on = a.day, site_code = a.site, campaign_id = a.campaign_id, site_id = st.id, "
        f"capacity = COALESCE(c.pool_size, {TUBES}.capacity), "
        f"overfilled = (a.n > COALESCE(c.pool_size, {TUBES}.capacity)), "
        f"status = CASE WHEN {TUBES}.status = '{TubeStatus.OPEN.value}' AND {full} "
        f"THEN '{TubeStatus.CLOSED.value}' ELSE {TUBES}.status END, updated_at = %s "
        f"FROM ({members}) a LEFT JOIN campaigns_campaign c ON c.id = a.campaign_id "
        "LEFT JOIN campaigns_site st ON st.code = a.site "
        f"WHERE {TUBES}.id = a.tube_id",
        [now],
    )


def _move_participants(staging: Staging) -> None:
    """The newest swab of each person per campaign in this batch makes them a participant following
    its tube (already resulted, if the result came first), or moves a participant whose earlier
    round was negative or is to be redone onto the new tube. A held or positive participant stays:
    only their own re-swab decides (domain.md §8). Read from the staging rows, which carry the
    person, place, tube and campaign of every swab."""
    s = staging.name
    place_columns = ", ".join(PLACES)
    execute(f"DROP TABLE IF EXISTS {LATEST}")
    execute(
        f"CREATE TEMPORARY TABLE {LATEST} AS SELECT x.*, p.id AS participant_id FROM "
        f"(SELECT s.campaign_id, s.person_id, s.tube_id, COALESCE(s.sampled_at, %s) AS sampled_at, "
        f"{', '.join('s.' + c for c in PLACES)}, ROW_NUMBER() OVER (PARTITION BY s.campaign_id, s.person_id "
        f"ORDER BY s.sampled_at DESC, s._line DESC) AS n FROM {s} s WHERE s._action IS NOT NULL "
        "AND s.person_id IS NOT NULL AND s.campaign_id IS NOT NULL) x "
        "LEFT JOIN campaigns_participant p ON p.campaign_id = x.campaign_id AND p.person_id = x.person_id "
        "WHERE x.n = 1",
        [timezone.now()],
    )
    create_moves_table()
    sampled = ParticipantStatus.SAMPLED.value
    following = standing_sql("p", "t", stored=f"'{sampled}'")
    execute(
        f"INSERT INTO {MOVES} (participant_id, campaign_id, person_id, building_id, old_status, new_status, "
        "was_exempt, tube_id, at) "
        f"SELECT NULL, l.campaign_id, l.person_id, l.building_id, NULL, {following}, "
        "CASE WHEN e.id IS NULL THEN 0 ELSE 1 END, l.tube_id, l.sampled_at "
        f"FROM {LATEST} l JOIN {TUBES} t ON t.id = l.tube_id LEFT JOIN campaigns_exemption e "
        "ON e.campaign_id = l.campaign_id AND e.person_id = l.person_id WHERE l.participant_id IS NULL"
    )
    execute(
        f"INSERT INTO {MOVES} (participant_id, campaign_id, person_id, building_id, old_status, new_status, "
        "was_exempt, tube_id, at) "
        f"SELECT p.id, p.campaign_id, p.person_id, p.building_id, {standing_sql('p', 'o')}, {following}, 0, "
        f"l.tube_id, l.sampled_at FROM {LATEST} l JOIN campaigns_participant p ON p.id = l.participant_id "
        f"JOIN {TUBES} o ON o.id = p.tube_id JOIN {TUBES} t ON t.id = l.tube_id "
        f"WHERE p.status <> '{ParticipantStatus.POSITIVE.value}' "
        f"AND NOT (p.status = '{sampled}' AND o.status = '{TubeStatus.POSITIVE.value}') "
        "AND l.tube_id <> p.tube_id AND (p.sampled_at IS NULL OR l.sampled_at > p.sampled_at)"
    )
    (new,) = fetch(f"SELECT COUNT(*) FROM {LATEST} WHERE participant_id IS NULL")[0]
    with secondary_indexes_rebuilt("campaigns_participant", new):  # the first day's million at once
        execute(
            f"INSERT INTO campaigns_participant (campaign_id, person_id, status, tube_id, sampled_at, {place_columns}) "
            f"SELECT l.campaign_id, l.person_id, '{sampled}', l.tube_id, l.sampled_at, {place_columns} "
            f"FROM {LATEST} l WHERE l.participant_id IS NULL"
        )
    execute(f"DROP TABLE IF EXISTS {LATEST}")
    execute(
        f"UPDATE campaigns_participant SET status = '{sampled}', tube_id = m.tube_id, sampled_at = m.at, "
        f"result_at = NULL FROM {MOVES} m WHERE campaigns_participant.id = m.participant_id"
    )
    execute(f"DELETE FROM {MOVES} WHERE old_status = new_status")
    apply_moves()
    acting = fetch(
        f"SELECT m.campaign_id, m.person_id, m.new_status, m.tube_id, COALESCE(t.reported_at, m.at), m.at "
        f"FROM {MOVES} m JOIN {TUBES} t ON t.id = m.tube_id "
        f"WHERE m.new_status IN ('{ParticipantStatus.HELD.value}', '{ParticipantStatus.POSITIVE.value}')"
    )
    execute(f"DROP TABLE IF EXISTS {MOVES}")
    if acting:  # swabs whose tube's result was already in
        results.act_on(acting, {})
