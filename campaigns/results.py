"""What lab results do to a campaign: domain.md §8, hold and recall.

A negative tube clears all its members; a positive tube holds them all (pending, treated as
suspected: the health code turns red through the ``pool_hold`` reason), and each gets a recall task
for their grid worker to re-swab them alone; their own result then decides. A positive individual
enters the infected path (policy ``campaign_positive_category``), which starts containment. An
invalid tube, or a negative one that held more swabs than its pool size, clears nobody: its members
are to be sampled again. Everything here is set-based except the few people a positive tube touches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.choices import ParticipantStatus, TubeStatus
from campaigns.coverage import MOVES, apply_moves, create_moves_table, standing_sql
from core.imports.kinds import LoadContext
from core.imports.sql import Staging, execute, fetch, is_postgres
from core.policy import policy

TUBES = "campaigns_tube"
P = ParticipantStatus


BEFORE = "campaign_tubes_before"


def on_lab_results(ctx: LoadContext, staging: Staging) -> set[str]:
    """The lab_results import hands over its new and changed rows: tube results settle tubes (a
    result for a tube nobody has listed yet waits on a tube of no members); individual results of
    held people decide them. Returns the sample ids handled here, which the generic four-category
    reporting then leaves alone."""
    s = staging.name
    pool_rows = "s._action IS NOT NULL AND s.pool_id IS NOT NULL AND s.id_number IS NULL AND s.name IS NULL"
    now = timezone.now()
    handled = {row[0] for row in fetch(f"SELECT s.sample_id FROM {s} s WHERE {pool_rows}")}
    if handled:
        execute(
            f"INSERT INTO {TUBES} (code, site_code, capacity, members, overfilled, status, result_sample, lab_code, "
            "created_at, updated_at) "
            f"SELECT DISTINCT s.pool_id, '', %s, 0, false, '{TubeStatus.CLOSED.value}', '', '', %s, %s FROM {s} s "
            f"WHERE {pool_rows} AND NOT EXISTS (SELECT 1 FROM {TUBES} t WHERE t.code = s.pool_id)",
            [int(policy(now).campaign_pool_size), now, now],
        )
        remember_tubes(f"SELECT t.id FROM {TUBES} t JOIN {s} s ON t.code = s.pool_id WHERE {pool_rows}")
        execute(
            f"UPDATE {TUBES} SET status = s.result, result_sample = s.sample_id, lab_code = COALESCE(s.lab_code, ''), "
            f"reported_at = COALESCE(s.reported_at, %s), ct_value = s.ct_value, updated_at = %s FROM {s} s "
            f"WHERE {pool_rows} AND {TUBES}.code = s.pool_id",
            [now, now],
        )
        move_with_tubes()
    handled |= _decide_individuals(s)
    return handled


def remember_tubes(tubes_sql: str, params: Sequence = ()) -> None:
    """Keep the state of the tubes about to change (``tubes_sql`` selects their ids), so that
    :func:`move_with_tubes` can tell what the change did to their members' standing."""
    execute(f"DROP TABLE IF EXISTS {BEFORE}")
    execute(
        f"CREATE TEMPORARY TABLE {BEFORE} AS SELECT t.id, t.status, t.overfilled, t.members FROM {TUBES} t "
        f"WHERE t.id IN ({tubes_sql})",
        list(params),
    )
    if is_postgres():
        execute(f"ANALYZE {BEFORE}")


def move_with_tubes() -> None:
    """The members of the remembered tubes whose standing still follows their tube move with it:
    counted per building and standing before and after (one grouped read, no write per person),
    added to the coverage; the few now held or positive are acted on."""
    before, after = standing_sql("p", "b"), standing_sql("p", "t")
    following = (
        f"FROM campaigns_participant p JOIN {BEFORE} b ON b.id = p.tube_id JOIN {TUBES} t ON t.id = p.tube_id "
        f"WHERE p.status = '{P.SAMPLED.value}'"
    )
    create_moves_table()
    execute(
        f"INSERT INTO {MOVES} (campaign_id, building_id, old_status, new_status, was_exempt, n) "
        f"SELECT p.campaign_id, p.building_id, {before}, {after}, 0, COUNT(*) {following} "
        f"GROUP BY p.campaign_id, p.building_id, {before}, {after}"
    )
    execute(f"DELETE FROM {MOVES} WHERE old_status = new_status")
    apply_moves()
    execute(f"DROP TABLE IF EXISTS {MOVES}")
    acting = fetch(
        f"SELECT p.campaign_id, p.person_id, {after}, p.tube_id, COALESCE(t.reported_at, %s), p.sampled_at "
        f"{following} AND t.status = '{TubeStatus.POSITIVE.value}' AND {before} <> {after}",
        [timezone.now()],
    )
    execute(f"DROP TABLE IF EXISTS {BEFORE}")
    if acting:
        act_on(acting, {})


def _decide_individuals(s: str) -> set[str]:
    """Individual results of people held by a positive tube: negative releases, positive infects.
    Their decision is the one standing stored per person."""
    held = P.HELD.value
    rows = fetch(
        "SELECT r.sample_id, r.result, r.sampled_at, r.reported_at, p.id, p.campaign_id, p.person_id, "
        f"p.building_id, p.tube_id FROM {s} s JOIN feeds_labresult r ON r.id = s._target_id "
        f"JOIN campaigns_participant p ON p.person_id = r.person_id JOIN {TUBES} t ON t.id = p.tube_id "
        f"WHERE s._action IS NOT NULL AND r.person_id IS NOT NULL AND p.status = '{P.SAMPLED.value}' "
        f"AND t.status = '{TubeStatus.POSITIVE.value}' AND t.members > 1 "
        "AND (p.sampled_at IS NULL OR r.sampled_at >= p.sampled_at)"
    )
    decided = [row for row in rows if row[1] in (TubeStatus.NEGATIVE.value, TubeStatus.POSITIVE.value)]
    if not decided:
        return set()
    now = timezone.now()
    create_moves_table()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE campaigns_participant SET status = %s, result_at = %s WHERE id = %s",
            [(result, reported_at or now, pid) for _sample, result, _s, reported_at, pid, *_rest in decided],
        )
        cursor.executemany(
            f"INSERT INTO {MOVES} (participant_id, campaign_id, person_id, building_id, old_status, new_status, "
            "was_exempt, tube_id, at) VALUES (%s, %s, %s, %s, %s, %s, 0, %s, %s)",
            [
                (pid, campaign, person, building, held, result, tube, reported_at or now)
                for _sample, result, _sampled, reported_at, pid, campaign, person, building, tube in decided
            ],
        )
    apply_moves()
    acting = fetch(
        f"SELECT m.campaign_id, m.person_id, m.new_status, m.tube_id, m.at, p.sampled_at FROM {MOVES} m "
        "JOIN campaigns_participant p ON p.id = m.participant_id"
    )
    execute(f"DROP TABLE IF EXISTS {MOVES}")
    act_on(acting, {(row[5], row[6]): row[0] for row in decided})
    return {row[0] for row in decided}


def act_on(rows: list[tuple], individual: dict[tuple[int, int], str]) -> None:
    """Held people get a recall task; positives enter the infected path; released or decided people
    have their recall task closed; and the codes of everyone touched are recomputed.

    ``individual`` maps (campaign, person) to the individual lab sample that decided them."""
    from campaigns.models import Tube
    from healthcode.choices import ChangeCause
    from healthcode.services import recompute
    from people.models import Resident

    people = Resident.objects.in_bulk({row[1] for row in rows})
    tubes = dict(Tube.objects.filter(pk__in={row[3] for row in rows}).values_list("pk", "code"))
    recalls: dict[int, list] = {}
    answered: dict[str, str] = {}  # recall task key -> what the person's own result was
    for campaign_id, person_id, new_status, tube_id, at, pooled_at in rows:
        person = people.get(person_id)
        if person is None:
            continue
        tube = tubes.get(tube_id, "")
        sample = individual.get((campaign_id, person_id))
        if new_status == P.HELD.value:
            recalls.setdefault(campaign_id, []).append(_recall(campaign_id, person, tube))
            continue
        if new_status == P.POSITIVE.value:
            # the contact window of an infection found by testing starts from its first positive
            # sample (domain.md §4): the pooled swab
            _infected(person, _aware(at), _aware(pooled_at or at), sample, tube)
        if sample is not None:
            answered[_recall_key(campaign_id, person_id)] = _("Individual sample %(sample)s: %(outcome)s") % {
                "sample": sample,
                "outcome": P(new_status).label,
            }
    from tasks.models import Task
    from tasks.services import do_complete_many, do_open_many

    for campaign_id, tasks in recalls.items():
        do_open_many("recall", tasks, source=f"campaign:{campaign_id}")
    if answered:  # the recall tasks their own results answered, closed together
        keys = Task.objects.filter(dedupe_key__in=list(answered)).values_list("pk", "dedupe_key")
        do_complete_many({pk: answered[key] for pk, key in keys})
    recompute(sorted(people), cause=ChangeCause.TEST)


def _recall_key(campaign_id: int, person_id: int) -> str:
    return f"campaigns:{campaign_id}:recall:{person_id}"


def _recall(campaign_id: int, person, tube: str):
    """The recall task of one held person (opened with the others in one set-based call)."""
    from tasks.services import NewTask

    return NewTask(
        person.pk,
        _("Re-swab %(name)s alone: tube %(tube)s is positive") % {"name": person.masked_name, "tube": tube},
        _recall_key(campaign_id, person.pk),
        _(
            "Tube %(tube)s tested positive. Keep %(name)s at home, swab them individually and send the sample "
            "to the lab; their own result releases or confirms them."
        )
        % {"tube": tube, "name": person.masked_name},
    )


def _infected(person, at: dt.datetime, sampled_at: dt.datetime, sample: str | None, tube: str) -> None:
    from cases.choices import CaseState, SourceKind
    from cases.services import Report, do_apply

    do_apply(
        Report(
            person=person,
            state=CaseState.IDENTIFIED,
            category=str(policy().campaign_positive_category),
            at=at,
            source_kind=SourceKind.FEED,
            source_ref=f"lab_results:{sample}" if sample else f"tube:{tube}",
            note=_("Positive in a testing campaign (tube %(tube)s)") % {"tube": tube},
            details={"sampled_at": sampled_at},
        )
    )


def _aware(value) -> dt.datetime:
    """A time read back by raw SQL (SQLite gives text, naive UTC) as an aware datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)
