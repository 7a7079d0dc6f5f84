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
from campaigns.coverage import MOVES, apply_moves, create_moves_table
from core.imports.kinds import LoadContext
from core.imports.sql import Staging, execute, fetch
from core.policy import policy

TUBES = "campaigns_tube"
P = ParticipantStatus


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
        execute(
            f"UPDATE {TUBES} SET status = s.result, result_sample = s.sample_id, lab_code = COALESCE(s.lab_code, ''), "
            f"reported_at = COALESCE(s.reported_at, %s), ct_value = s.ct_value, updated_at = %s FROM {s} s "
            f"WHERE {pool_rows} AND {TUBES}.code = s.pool_id",
            [now, now],
        )
        settle_tubes(f"SELECT t.id FROM {TUBES} t JOIN {s} s ON t.code = s.pool_id WHERE {pool_rows}")
    handled |= _decide_individuals(s)
    return handled


def settle_tubes(tubes_sql: str, params: Sequence = ()) -> None:
    """Move the sampled members of resulted tubes (``tubes_sql`` selects tube ids) by the result."""
    create_moves_table()
    decided = (
        f"CASE WHEN t.status = '{TubeStatus.POSITIVE.value}' AND t.members = 1 THEN '{P.POSITIVE.value}' "
        f"WHEN t.status = '{TubeStatus.POSITIVE.value}' THEN '{P.HELD.value}' "
        f"WHEN t.status = '{TubeStatus.NEGATIVE.value}' AND NOT t.overfilled THEN '{P.NEGATIVE.value}' "
        f"ELSE '{P.RESAMPLE.value}' END"
    )
    resulted = ", ".join(f"'{status}'" for status in (TubeStatus.NEGATIVE, TubeStatus.POSITIVE, TubeStatus.INVALID))
    execute(
        f"INSERT INTO {MOVES} (participant_id, campaign_id, person_id, building_id, old_status, new_status, "
        "was_exempt, tube_id, at) "
        f"SELECT p.id, p.campaign_id, p.person_id, p.building_id, p.status, {decided}, 0, t.id, "
        f"COALESCE(t.reported_at, %s) FROM campaigns_participant p JOIN {TUBES} t ON t.id = p.tube_id "
        f"WHERE p.status = '{P.SAMPLED.value}' AND t.status IN ({resulted}) AND t.id IN ({tubes_sql})",
        [timezone.now(), *params],
    )
    _write_moves({})


def _write_moves(individual: dict[tuple[int, int], str]) -> None:
    """Apply the moves table to participants and coverage, then act on the few that need people."""
    execute(
        "UPDATE campaigns_participant SET status = m.new_status, result_at = m.at, "
        f"held_at = CASE WHEN m.new_status = '{P.HELD.value}' THEN m.at ELSE campaigns_participant.held_at END "
        f"FROM {MOVES} m WHERE campaigns_participant.id = m.participant_id"
    )
    apply_moves()
    needing_people = fetch(
        "SELECT m.campaign_id, m.person_id, m.new_status, m.tube_id, m.at, p.sampled_at FROM "
        f"{MOVES} m JOIN campaigns_participant p ON p.id = m.participant_id "
        f"WHERE m.new_status IN ('{P.HELD.value}', '{P.POSITIVE.value}') OR m.old_status = '{P.HELD.value}'"
    )
    execute(f"DROP TABLE IF EXISTS {MOVES}")
    if needing_people:
        _act_on(needing_people, individual)


def _decide_individuals(s: str) -> set[str]:
    """Individual results of people held by a positive tube: negative releases, positive infects."""
    held = P.HELD.value
    rows = fetch(
        "SELECT t.sample_id, t.result, t.sampled_at, t.reported_at, p.id, p.campaign_id, p.person_id, "
        f"p.building_id, p.tube_id FROM {s} s JOIN feeds_labresult t ON t.id = s._target_id "
        "JOIN campaigns_participant p ON p.person_id = t.person_id "
        f"WHERE s._action IS NOT NULL AND t.person_id IS NOT NULL AND p.status = '{held}' "
        "AND (p.sampled_at IS NULL OR t.sampled_at >= p.sampled_at)"
    )
    decided = [row for row in rows if row[1] in (TubeStatus.NEGATIVE.value, TubeStatus.POSITIVE.value)]
    if not decided:
        return set()
    create_moves_table()
    now = timezone.now()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {MOVES} (participant_id, campaign_id, person_id, building_id, old_status, new_status, "
            "was_exempt, tube_id, at) VALUES (%s, %s, %s, %s, %s, %s, 0, %s, %s)",
            [
                (pid, campaign, person, building, held, result, tube, reported_at or now)
                for _sample, result, _sampled, reported_at, pid, campaign, person, building, tube in decided
            ],
        )
    _write_moves({(row[5], row[6]): row[0] for row in decided})
    return {row[0] for row in decided}


def _act_on(rows: list[tuple], individual: dict[tuple[int, int], str]) -> None:
    """Held people get a recall task; positives enter the infected path; released or decided people
    have their recall task closed; and the codes of everyone touched are recomputed.

    ``individual`` maps (campaign, person) to the individual lab sample that decided them."""
    from campaigns.models import Tube
    from healthcode.choices import ChangeCause
    from healthcode.services import recompute
    from people.models import Resident

    people = Resident.objects.in_bulk({row[1] for row in rows})
    tubes = dict(Tube.objects.filter(pk__in={row[3] for row in rows}).values_list("pk", "code"))
    for campaign_id, person_id, new_status, tube_id, at, pooled_at in rows:
        person = people.get(person_id)
        if person is None:
            continue
        tube = tubes.get(tube_id, "")
        sample = individual.get((campaign_id, person_id))
        if new_status == P.HELD.value:
            _open_recall(campaign_id, person, tube)
            continue
        if new_status == P.POSITIVE.value:
            # the contact window of an infection found by testing starts from its first positive
            # sample (domain.md §4): the pooled swab
            _infected(person, _aware(at), _aware(pooled_at or at), sample, tube)
        if sample is not None:
            _close_recall(campaign_id, person, new_status, sample)
    recompute(sorted(people), cause=ChangeCause.TEST)


def _recall_key(campaign_id: int, person_id: int) -> str:
    return f"campaigns:{campaign_id}:recall:{person_id}"


def _open_recall(campaign_id: int, person, tube: str) -> None:
    from tasks.services import do_open_task

    do_open_task(
        "recall",
        subject=person,
        title=_("Re-swab %(name)s alone: tube %(tube)s is positive") % {"name": person.masked_name, "tube": tube},
        detail=_(
            "Tube %(tube)s tested positive. Keep %(name)s at home, swab them individually and send the sample "
            "to the lab; their own result releases or confirms them."
        )
        % {"tube": tube, "name": person.masked_name},
        source=f"campaign:{campaign_id}",
        dedupe_key=_recall_key(campaign_id, person.pk),
    )


def _close_recall(campaign_id: int, person, new_status: str, sample: str) -> None:
    from tasks.choices import TaskStatus
    from tasks.models import Task
    from tasks.services import do_cancel, do_complete

    task = Task.objects.filter(dedupe_key=_recall_key(campaign_id, person.pk)).first()
    if task is None:
        return
    note = _("Individual sample %(sample)s: %(outcome)s") % {"sample": sample, "outcome": P(new_status).label}
    if task.status in (TaskStatus.REPORTED, TaskStatus.REGISTERED):  # nobody was answerable to take it
        do_cancel(task, None, note)
    else:
        do_complete(task, None, note)


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
