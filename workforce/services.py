"""Workforce actions: propose a rotation plan (inputs gathered set-based, solved by
workforce.rotation, stored with its rows), accept it (its days become the roster) or discard it,
record leave, set a grid's own staffing minimum; and the confidential support requests (ask, routed
to the least-loaded counsellor; the counsellor accepts, schedules, closes).

Each action runs in one transaction; status changes lock their row (``select_for_update``), check
the one transition table (workforce.choices) and write a domain event. Actions do not check
permissions or scope; views and the API do.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.policy import policy
from geo.models import Division
from tasks.notify import notify
from workforce.choices import (
    OPEN_SUPPORT,
    PLAN_TRANSITIONS,
    SUPPORT_TRANSITIONS,
    PlanStatus,
    RosterState,
    SupportStatus,
    SupportWant,
    TransitionRefused,
    allowed,
)
from workforce.models import (
    GridStaffing,
    Leave,
    PlanDay,
    PlanEvent,
    RosterDay,
    RotationPlan,
    SupportRequest,
    Worker,
)
from workforce.rotation import RotationProblem, solve_rotation
from workforce.stats import streaks

PLAN_LEVELS = ("street", "community")
MAX_HORIZON = 42


class PlanError(ValueError):
    """A plan that cannot be made (wrong kind of area, a bad horizon); nothing was written."""


def _user(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


# --- rotation plans --------------------------------------------------------------------------------


@dataclass
class PlanInputs:
    workers: list[Worker]
    grids: list[Division]
    problem: RotationProblem


def grid_minimums(grids: list[Division]) -> np.ndarray:
    """Each grid's minimum staff on duty: its own (GridStaffing) or the policy's."""
    default = int(policy().grid_min_staff_on_duty)
    own = dict(GridStaffing.objects.filter(grid__in=grids).values_list("grid_id", "min_staff"))
    return np.array([own.get(g.pk, default) for g in grids], dtype=int)


def plan_inputs(area: Division, starts_on: dt.date, days: int) -> PlanInputs:
    """Who is posted to the area's grids, what they carry in, when they are on leave, what each grid
    needs: a handful of queries, whatever the number of workers."""
    rules = policy()
    grids = list(Division.objects.filter(level="grid", **{f"{area.level}_id": area.pk}).order_by("code"))
    grid_index = {g.pk: i for i, g in enumerate(grids)}
    workers = list(
        Worker.objects.filter(active=True, grid_id__in=list(grid_index))
        .select_related("grid")
        .order_by("grid__code", "code")
    )
    ids = [w.pk for w in workers]
    carried = streaks(ids, starts_on - dt.timedelta(days=1)).current
    unavailable = np.zeros((len(workers), days), dtype=bool)
    position = {w.pk: i for i, w in enumerate(workers)}
    last = starts_on + dt.timedelta(days=days - 1)
    for worker_id, first_day, last_day in Leave.objects.filter(
        worker_id__in=ids, starts_on__lte=last, ends_on__gte=starts_on
    ).values_list("worker_id", "starts_on", "ends_on"):
        a, b = max((first_day - starts_on).days, 0), min((last_day - starts_on).days, days - 1)
        unavailable[position[worker_id], a : b + 1] = True
    shift = float(rules.duty_shift_hours)
    problem = RotationProblem(
        worker_grid=np.array([grid_index[w.grid_id] for w in workers], dtype=int),
        carry=np.array([carried.get(w.pk, 0) for w in workers], dtype=int),
        unavailable=unavailable,
        min_staff=grid_minimums(grids),
        max_consecutive=int(rules.duty_max_consecutive_days),
        max_days_per_week=min(7, math.floor(float(rules.duty_max_weekly_hours) / shift)),
        time_limit=float(rules.rotation_solve_seconds),
    )
    return PlanInputs(workers, grids, problem)


def do_propose_plan(area: Division, starts_on: dt.date, days: int | None = None, by=None) -> RotationPlan:
    """Solve and store a plan for a street or community: every worker's duty and rest days, and the
    grids and days left short when the minimum cannot be met (the least-bad plan is still stored)."""
    if area.level not in PLAN_LEVELS:
        raise PlanError(_("A rotation plan is made for a street or a community."))
    rules = policy()
    days = int(rules.rotation_horizon_days if days is None else days)
    if not 1 <= days <= MAX_HORIZON:
        raise PlanError(_("A plan covers 1 to %(max)d days.") % {"max": MAX_HORIZON})
    inputs = plan_inputs(area, starts_on, days)
    solution = solve_rotation(inputs.problem)
    shortfalls = [
        {
            "grid": inputs.grids[g].pk,
            "code": inputs.grids[g].code,
            "name": inputs.grids[g].name,
            "day": (starts_on + dt.timedelta(days=int(d))).isoformat(),
            "short": int(solution.shortfall[g, d]),
        }
        for g, d in zip(*np.nonzero(solution.shortfall), strict=True)
    ]
    with transaction.atomic():
        plan = RotationPlan(
            area=area,
            starts_on=starts_on,
            days=days,
            max_consecutive_days=inputs.problem.max_consecutive,
            max_weekly_hours=int(rules.duty_max_weekly_hours),
            shift_hours=rules.duty_shift_hours,
            workers=len(inputs.workers),
            grids=len(inputs.grids),
            shortfall=solution.total_shortfall,
            shortfalls=shortfalls,
            solver="scipy.milp (HiGHS)",
            solver_status=solution.status[:200],
            solve_seconds=round(solution.seconds, 3),
            created_by=_user(by),
            extra={
                "min_staff": {str(g.pk): int(m) for g, m in zip(inputs.grids, inputs.problem.min_staff, strict=True)}
            },
        )
        plan.district_id, plan.street_id, plan.community_id = area.district_id, area.street_id, area.community_id
        setattr(plan, f"{area.level}_id", area.pk)
        plan.save()
        states = np.where(inputs.problem.unavailable, RosterState.LEAVE, RosterState.REST).astype(object)
        states[solution.duty] = RosterState.DUTY
        PlanDay.objects.bulk_create(
            [
                PlanDay(
                    plan=plan,
                    worker_id=w.pk,
                    grid_id=w.grid_id,
                    day=starts_on + dt.timedelta(days=d),
                    state=str(states[i, d]),
                    run=int(solution.runs[i, d]),
                )
                for i, w in enumerate(inputs.workers)
                for d in range(days)
            ],
            batch_size=2000,
        )
        PlanEvent.objects.create(plan=plan, action=PlanStatus.PROPOSED, user=_user(by), note=solution.status[:300])
    return plan


def _move_plan(plan: RotationPlan, to_status: str, by, note: str = "") -> RotationPlan:
    locked = RotationPlan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
    if not allowed(PLAN_TRANSITIONS, locked.status, to_status):
        raise TransitionRefused(
            _("This plan is %(status)s; it cannot be %(action)s.")
            % {"status": locked.get_status_display(), "action": PlanStatus(to_status).label.lower()}
        )
    locked.status, locked.decided_by, locked.decided_at = to_status, _user(by), timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    PlanEvent.objects.create(plan=locked, action=to_status, user=_user(by), note=note[:300])
    return locked


def do_accept_plan(plan: RotationPlan, by=None) -> RotationPlan:
    """Accept a proposed plan: its days replace the roster of its workers over its horizon (one
    DELETE and one INSERT … SELECT)."""
    with transaction.atomic():
        accepted = _move_plan(plan, PlanStatus.ACCEPTED, by)
        in_plan = PlanDay.objects.filter(plan=accepted)
        RosterDay.objects.filter(
            worker_id__in=in_plan.values("worker_id"), day__gte=accepted.starts_on, day__lte=accepted.ends_on
        ).delete()
        roster, days = RosterDay._meta.db_table, PlanDay._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {roster} (worker_id, day, grid_id, state, plan_id) "
                f"SELECT worker_id, day, grid_id, state, plan_id FROM {days} WHERE plan_id = %s",
                [accepted.pk],
            )
    return accepted


def do_discard_plan(plan: RotationPlan, by=None, note: str = "") -> RotationPlan:
    with transaction.atomic():
        return _move_plan(plan, PlanStatus.DISCARDED, by, note)


def do_record_leave(worker: Worker, starts_on: dt.date, ends_on: dt.date, reason: str = "") -> Leave:
    if ends_on < starts_on:
        raise PlanError(_("Leave ends on or after the day it starts."))
    if (ends_on - starts_on).days > 365:
        raise PlanError(_("Leave is recorded a year at a time at most."))
    return Leave.objects.create(worker=worker, starts_on=starts_on, ends_on=ends_on, reason=reason[:120])


def do_set_grid_minimum(grid: Division, min_staff: int) -> GridStaffing:
    if grid.level != "grid" or not 0 <= min_staff <= 50:
        raise PlanError(_("A grid's minimum is a whole number of workers from 0 to 50."))
    staffing, _created = GridStaffing.objects.update_or_create(grid=grid, defaults={"min_staff": min_staff})
    return staffing


# --- confidential support --------------------------------------------------------------------------


class SupportError(ValueError):
    """A support request that cannot be made or moved; nothing was written."""


def counsellors() -> QuerySet:
    """Active users who hold workforce.counsel, through a role group or directly."""
    perm = Permission.objects.get(content_type__app_label="workforce", codename="counsel")
    return (
        get_user_model()
        .objects.filter(Q(groups__permissions=perm) | Q(user_permissions=perm), is_active=True)
        .distinct()
    )


def _district_of(user) -> int | None:
    row = user.assignments.filter(division__isnull=False).values_list("division__district_id", "division_id").first()
    if row is None:
        return None
    return row[0] or row[1]


def route_counsellor(requester):
    """The counsellor with the fewest open requests, preferring one posted in the requester's
    district; never the requester."""
    pool = counsellors().exclude(pk=requester.pk)
    district = _district_of(requester)
    if district is not None:
        near = pool.filter(Q(assignments__division_id=district) | Q(assignments__division__district_id=district))
        if near.exists():
            pool = near
    ids = list(pool.values_list("pk", flat=True))
    if not ids:
        return None
    open_counts = dict(
        SupportRequest.objects.filter(counsellor_id__in=ids, status__in=OPEN_SUPPORT)
        .values("counsellor_id")
        .annotate(n=Count("pk"))
        .values_list("counsellor_id", "n")
    )
    chosen = min(ids, key=lambda pk: (open_counts.get(pk, 0), pk))
    return get_user_model().objects.get(pk=chosen)


def do_ask_support(requester, want: str, note: str = "", contact: str = "") -> SupportRequest:
    """File a confidential request; the counsellor is told there is one, never what it says."""
    if want not in SupportWant.values:
        raise SupportError(_("Choose what you would like: a talk, a call back, or urgent help."))
    with transaction.atomic():
        counsellor = route_counsellor(requester)
        if counsellor is None:
            raise SupportError(
                _("No counsellor is on duty in Linli right now. Please call the psychological support hotline.")
            )
        request = SupportRequest.objects.create(
            requester=requester, counsellor=counsellor, want=want, note=note[:2000], contact=contact[:60]
        )
        notify(
            counsellor,
            _("A confidential support request (#%(id)d) is waiting for you. Open Linli to read it.")
            % {"id": request.pk},
        )
    return request


def visible_support(user) -> QuerySet[SupportRequest]:
    """The only way to read support requests: the user's own, as requester or as counsellor."""
    if user is None or not user.is_authenticated:
        return SupportRequest.objects.none()
    return SupportRequest.objects.filter(Q(requester=user) | Q(counsellor=user))


def _move_support(request: SupportRequest, by, to_status: str, **changes) -> SupportRequest:
    with transaction.atomic():
        locked = SupportRequest.objects.select_for_update().get(pk=request.pk)
        counsellor_moves = locked.counsellor_id == getattr(by, "pk", None)
        requester_closes = locked.requester_id == getattr(by, "pk", None) and to_status == SupportStatus.CLOSED
        if not (counsellor_moves or requester_closes):
            raise SupportError(_("Only the assigned counsellor can do this."))
        if not allowed(SUPPORT_TRANSITIONS, locked.status, to_status):
            raise TransitionRefused(
                _("This request is %(status)s; it cannot move to %(target)s.")
                % {"status": locked.get_status_display(), "target": SupportStatus(to_status).label}
            )
        locked.status = to_status
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.save()
    return locked


def do_accept_support(request: SupportRequest, by) -> SupportRequest:
    return _move_support(request, by, SupportStatus.ACCEPTED, accepted_at=timezone.now())


def do_schedule_support(request: SupportRequest, by, at: dt.datetime) -> SupportRequest:
    if at < timezone.now() - dt.timedelta(minutes=5):
        raise SupportError(_("A talk is scheduled for a time still to come."))
    moved = _move_support(request, by, SupportStatus.SCHEDULED, scheduled_for=at)
    if moved.accepted_at is None:
        SupportRequest.objects.filter(pk=moved.pk).update(accepted_at=timezone.now())
    notify(
        moved.requester,
        _("Your counsellor has set a time: %(at)s.") % {"at": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")},
    )
    return moved


def do_close_support(request: SupportRequest, by) -> SupportRequest:
    return _move_support(request, by, SupportStatus.CLOSED, closed_at=timezone.now())
